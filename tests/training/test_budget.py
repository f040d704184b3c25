"""A time budget covers the whole run, and validation on large images is a bounded sample of tiles."""
import csv
import json

import numpy as np
from PIL import Image

from seg_core import TrainConfig, train
from seg_core.training.budget import MARGIN_S, MIN_POST_S, POST_HEADROOM_S, Budget
from seg_core.training.validation import TILE, cut, describe, plan, share_s


def test_training_leaves_room_for_validation_and_measuring():
    b = Budget(seconds=60.0, began=100.0, validation_s=3.0, post_s=6.0)
    # 10 s went to preparation; the final validation, the measurement and saving follow the training
    assert b.training_s(t0=110.0) == 60 - 10 - (3 + 6 + MARGIN_S)
    assert b.left(now=130.0) == 30.0 and b.fraction(now=130.0) == 0.5
    assert b.left(now=200.0) == 0.0 and b.fraction(now=200.0) == 1.0
    # preparation took the whole budget: training still gets its minimum (and one step)
    assert b.training_s(t0=170.0) > 0


def test_the_estimates_follow_the_timed_validation():
    b = Budget.start(100.0)  # began now
    b.expect_post([256 * 256] * 2, crf_s_per_mpix=15.0)
    assert b.post_s == b.post_cap() == 10.0  # before any validation: the measurement's share of the budget
    b.timed_validation(seconds=0.5, pixels=2 * 256 * 256)
    assert b.validation_s == 0.5 and 0 < b.post_s < 10.0  # two small images: less than the share
    seconds, max_pixels = b.post_limits()
    assert seconds <= 10.0 and 0 < max_pixels < 2 * 1024 * 1024
    # a machine whose CRF is 5x as fast: the measurement is expected to take less, training gets the rest
    fast = Budget.start(100.0, began=b.began)
    fast.expect_post([256 * 256] * 2, crf_s_per_mpix=3.0)
    fast.timed_validation(seconds=0.5, pixels=2 * 256 * 256)
    assert fast.post_s < b.post_s and fast.training_s(t0=b.began) > b.training_s(t0=b.began)
    assert fast.post_limits()[1] > max_pixels  # and a larger held-out image's CRF fits in the same seconds
    assert Budget.start(None).training_s(t0=5.0) is None and Budget.start(None).left() is None


def test_a_short_budget_keeps_room_for_the_measurement_to_run():
    """Tiny held-out images are measured in a fraction of a second, but what the estimate leaves out (loading
    the best checkpoint) must fit too: more than the minimum the measurement runs with is reserved."""
    tiny = Budget.start(25.0)
    tiny.expect_post([64 * 64], crf_s_per_mpix=3.0)
    tiny.timed_validation(seconds=0.01, pixels=64 * 64)
    assert MIN_POST_S + 0.9 < tiny.post_s <= tiny.post_cap() == 2.5
    # with epochs instead of a budget the estimate only makes the ETA: no headroom, so it does not jump
    epochs = Budget.start(None)
    epochs.expect_post([64 * 64], crf_s_per_mpix=3.0)
    epochs.timed_validation(seconds=0.01, pixels=64 * 64)
    assert 0 < epochs.post_s < POST_HEADROOM_S / 10


def test_a_short_run_still_measures_flips_and_the_crf(tiny_data, tmp_path):
    """A 40 s run on the bundled sample skipped the measurement ("the time is up") when training was left
    only the estimate's seconds for it."""
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), time_budget=20.0, img_size=(64, 64)))
    post = run.postprocess
    assert post and post.get("images", 0) >= 1 and "time is up" not in post.get("reason", "")
    assert run.status["total_s"] <= 20.0 + 3.0  # and the whole run kept about to its budget


def test_the_crf_speed_is_timed_on_this_machine_once():
    from seg_core.infer.crf import seconds_per_mpix
    two, many = seconds_per_mpix(2), seconds_per_mpix(11)
    assert 0 < two < 200 and many > two  # more classes take longer
    assert seconds_per_mpix(2) == two  # timed once per process


def test_validations_are_spaced_by_their_own_cost():
    b = Budget(seconds=600.0, began=0.0, validation_s=10.0)
    assert not b.validation_due(last_end=100.0, interval_s=10.0, now=150.0)  # 10 s each: not every 10 s
    assert b.validation_due(last_end=100.0, interval_s=10.0, now=161.0)


def test_small_images_are_validated_whole_and_large_ones_as_tiles():
    units = plan([(256, 256), (1100, 1300), (300, 500)], seed=0)
    assert [u.whole for u in units if u.image != 1] == [True, True]
    tiles = [u for u in units if u.image == 1]
    covered = np.zeros((1100, 1300), bool)
    for u in tiles:
        y, x, h, w = u.window
        assert h <= TILE and w <= TILE and y + h <= 1100 and x + w <= 1300
        covered[y:y + h, x:x + w] = True
    assert covered.all() and len(tiles) == 3 * 3
    assert {u.image for u in units[:3]} == {0, 1, 2}  # any prefix spreads over the images
    image, mask = np.zeros((1100, 1300, 3), np.uint8), np.zeros((1100, 1300), np.uint8)
    part = cut(image, mask, tiles[0])
    assert part[0].shape[:2] == part[1].shape == tiles[0].window[2:]


def test_what_validation_scored_on_is_said():
    assert describe(plan([(64, 64)] * 3, 0), 3, 3) == "all 3 held-out images"
    units = plan([(2048, 2048)] * 40, seed=0)
    text = describe(units, 37, 40)
    assert text.startswith("37 tiles of up to 512x512 from 37 of 40 held-out images") and "of 640 parts" in text
    assert share_s(None) is None and share_s(60) == 3.0 and share_s(10) == 2.0


def test_a_run_on_large_images_validates_on_tiles_and_records_its_whole_time(tiny_data, tmp_path):
    data = tmp_path / "big"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # 4 images over a megapixel (one held out): scored tile by tile
        mask = np.zeros((1056, 1056), np.uint8)
        mask[:, 528:] = 1
        image = np.where(mask[..., None] == 1, 200, 40).astype(np.uint8).repeat(3, -1)
        image = (image + rng.integers(0, 20, image.shape)).astype(np.uint8)
        Image.fromarray(image).save(data / "images" / f"im{i}.png")
        Image.fromarray(mask).save(data / "masks" / f"im{i}.png")
    run = train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=1, img_size=(64, 64), batch_size=2,
                            val_fraction=0.25, num_classes=2))
    with open(run.path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and "tiles of up to 512x512" in rows[-1]["scored_on"]
    status = json.loads((run.path / "status.json").read_text())
    assert status["total_s"] >= status["seconds"] > 0
