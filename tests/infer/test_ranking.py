"""Label next: uncertainty maps, ranking images, the rank command."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from seg_core import Predictor
from seg_core.infer.ranking import heat_overlay, rank_images
from seg_core.infer.selection import FEW, MANY, choose_order, flip_disagreement, uncertainty_weight

from conftest import ROOT


def test_flips_disagree_from_zero_when_the_answer_stays_to_one_when_it_changes():
    sure = np.zeros((3, 2, 2), np.float32)
    sure[1] = 1
    other = np.roll(sure, 1, axis=0)
    assert flip_disagreement(sure, sure).max() == 0 and flip_disagreement(sure, other).min() == pytest.approx(1)
    over = heat_overlay(np.zeros((2, 2, 3), np.uint8), flip_disagreement(sure, other))
    assert over.shape == (2, 2, 3) and over.dtype == np.uint8 and over.any()


def _blobs(rng, centre, n):
    return centre + 0.01 * rng.standard_normal((n, len(centre)))


def test_with_few_labels_a_kind_not_labelled_yet_comes_first_then_the_hesitant_ones():
    rng = np.random.default_rng(0)
    a, b, c = np.eye(3)
    labelled = _blobs(rng, a, 4)  # 4 labelled images, all of kind a
    cands = np.vstack([_blobs(rng, a, 6), _blobs(rng, b, 3), _blobs(rng, c, 1)])  # kind b: 3 images, c: 1
    hesitation = np.r_[np.full(6, 0.9), np.full(4, 0.1)]  # the model hesitates on kind a only
    picks = choose_order(cands, labelled, hesitation, n_labelled=FEW)  # labels are few: typical images lead
    assert [p.index in (6, 7, 8) for p in picks[:1]] == [True]  # the larger uncovered kind first ...
    assert picks[1].index == 9  # ... then the other one
    assert picks[0].reason == "unlike anything labelled yet; typical of 3 similar images"
    assert sorted(p.index for p in picks) == list(range(10))  # each candidate once
    learnt = choose_order(cands, labelled, hesitation, n_labelled=MANY)  # the model has learned: hesitation leads
    assert {p.index for p in learnt[:6]} == set(range(6)) and learnt[0].reason == "the model hesitates here"
    assert 0 < uncertainty_weight((FEW + MANY) // 2) < 1  # a mix in between


def test_noise_ranks_above_the_kind_of_image_the_model_learnt(tiny_run, tiny_data, tmp_path):
    folder = tmp_path / "pool"
    folder.mkdir()
    Image.open(sorted((tiny_data / "images").glob("*.png"))[0]).save(folder / "known.png")
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(folder / "noise.png")
    (folder / "broken.png").write_bytes(b"not a png")
    rows = rank_images(Predictor(tiny_run), sorted(folder.iterdir()))  # the run's own images count as labelled
    assert [r.image for r in rows] == ["noise.png", "known.png", "broken.png"]  # known: a copy of one it trained on
    assert rows[0].reason == "the model hesitates here" and rows[0].score == 1 and rows[1].score == 0  # 5 labelled
    assert rows[-1].error and "broken.png" in rows[-1].error

    res = subprocess.run([sys.executable, "-m", "seg_core", "rank", "--run", str(tiny_run.path), "--images",
                          str(folder), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    scored = [o for o in out if o["score"] is not None]
    assert [o["image"] for o in out] == ["noise.png", "known.png", "broken.png"]  # the order to label them
    assert [o["score"] for o in scored] == [1.0, 0.0] and out[0]["reason"] == "the model hesitates here"
    assert 0 <= out[0]["uncertainty"] <= 1 and out[-1]["image"] == "broken.png" and "error" in out[-1]


def test_an_image_too_large_for_probabilities_is_listed_with_why(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_CORE_MAX_PROB_PIXELS", "1000")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "big.png")
    rows = rank_images(Predictor(tiny_run), [tmp_path / "big.png"])
    assert rows[0].error.startswith("big.png: not ranked:") and "tile" in rows[0].error


def test_ranking_counts_each_image_and_a_cancel_keeps_the_images_ranked(tiny_run, tiny_data):
    import threading

    from seg_core.base.progress import Cancelled

    files = sorted((tiny_data / "images").glob("*.png"))[:3]
    cancel, counts = threading.Event(), []

    def progress(count):
        counts.append(count.text())
        if count.done == 2:
            cancel.set()  # the user cancels while the second image is scored

    with pytest.raises(Cancelled, match="^ranking cancelled after 2 of 3 images$") as stop:
        rank_images(Predictor(tiny_run), files, progress=progress, cancel=cancel)
    assert counts == [f"1/3 images ranked · {files[0].name}", f"2/3 images ranked · {files[1].name}"]
    assert sorted(r.image for r in stop.value.partial) == [files[0].name, files[1].name]


def test_with_few_labels_an_image_with_a_class_labelled_little_so_far_comes_first_when_classes_count():
    rng = np.random.default_rng(1)
    kind = np.eye(3)[0]
    labelled = np.zeros((0, 3))  # described by classes only here (their features: none)
    cands = _blobs(rng, kind, 6)  # one kind of image only: typicality alone decides without the classes
    cands[4] += 0.05  # ... and candidate 4 is the least typical
    labelled_shares = np.tile([0.7, 0.3, 0.0], (4, 1))  # class 2 labelled nowhere yet
    shares = np.tile([0.7, 0.3, 0.0], (6, 1))
    shares[4] = [0.6, 0.3, 0.1]  # candidate 4 shows some of it
    hesitation = np.zeros(6)
    plain = choose_order(cands, labelled, hesitation, shares=shares, labelled_shares=labelled_shares, class_weight=0)
    by_class = choose_order(cands, labelled, hesitation, shares=shares, labelled_shares=labelled_shares,
                            class_weight=1)
    assert by_class[0].index == 4 and plain[0].index != 4
    assert sorted(p.index for p in by_class) == list(range(6))
