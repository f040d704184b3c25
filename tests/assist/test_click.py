"""``click_object`` (the contract of issue #39) and ``box_object`` on tiny synthetic images: without a run (the
local classifier round the click) and with one (the classifier with the run's probability, or the run's own
region cut at the click, whichever stands out more)."""
import cv2
import numpy as np
import pytest

from seg_core.assist import click_object
from seg_core.assist import click as click_module
from seg_core.infer.prediction import Prediction
from seg_core.infer.predictor import Predictor

CENTRES = ((45, 35), (45, 63), (70, 76))  # (row, col) of three discs of radius 15 in a chain, touching


def discs(shape=(110, 120)) -> list[np.ndarray]:
    out = []
    for r, c in CENTRES:
        d = np.zeros(shape, np.uint8)
        cv2.circle(d, (c, r), 15, 1, -1)
        out.append(d.astype(bool))
    return out


def stained(seed: int = 0) -> np.ndarray:
    """Dark purple touching discs on a light pink textured ground, as nuclei in H&E."""
    rng = np.random.default_rng(seed)
    img = np.empty((110, 120, 3), np.float32)
    img[:] = (225, 170, 200)
    img += cv2.GaussianBlur(rng.normal(0, 25, (110, 120)).astype(np.float32), (0, 0), 2)[..., None]
    for d in discs():
        img[d] = (95, 50, 140)
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def iou(a, b) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_a_click_without_a_run_takes_the_clicked_disc_of_three_touching():
    img = stained()
    for centre, disc in zip(CENTRES, discs()):
        got = click_object(img, centre)
        assert got.dtype == bool and got.shape == img.shape[:2]
        assert iou(got, disc) > 0.8, (centre, iou(got, disc))


def test_a_click_without_a_run_on_grey_16_bit_and_many_channel_images():
    """Bright discs on a dark ground (fluorescence): grey 16-bit (H, W) and (H, W, 5) channels."""
    rng = np.random.default_rng(2)
    truth = discs()
    grey = np.full((110, 120), 800.0) + rng.normal(0, 150, (110, 120))
    for d in truth:
        grey[d] += 9000
    grey = np.clip(grey, 0, 65535).astype(np.uint16)
    assert iou(click_object(grey, CENTRES[1]), truth[1]) > 0.8
    five = np.stack([grey, grey // 2, np.full_like(grey, 7), grey, rng.integers(0, 50, grey.shape, np.uint16)], -1)
    assert iou(click_object(five, CENTRES[2]), truth[2]) > 0.8


def test_a_box_without_a_run_a_few_pixels_round_a_disc_takes_the_disc_and_nothing_outside_the_box():
    """GrabCut alone gave nothing in a box this tight (nuclei-he: median IoU 0.000, benchmarks/bench_click.py)."""
    img = stained()
    for (r, c), disc in zip(CENTRES, discs()):
        box = (r - 18, c - 18, r + 19, c + 19)
        got = click_module.box_object(img, box)
        assert iou(got, disc) > 0.8, (r, c, iou(got, disc))
        outside = np.ones(got.shape, bool)
        outside[box[0]:box[2], box[1]:box[3]] = False
        assert not (got & outside).any()


def test_a_click_outside_the_image_or_on_a_non_image_is_refused():
    with pytest.raises(ValueError, match=r"point \(5, 200\) \(row, col\) lies outside the 120x110 image"):
        click_object(stained(), (5, 200))
    with pytest.raises(ValueError, match="not a grey or colour image"):
        click_object(np.zeros((4, 5, 6, 7)), (1, 1))


@pytest.fixture
def touching_prediction(monkeypatch):
    """The run predicts the three touching discs as one region of class 1 (with sure probabilities); counts
    the predictions made."""
    made = []
    union = np.any(discs(), axis=0)

    def predict(self, image, crf=None, tta=None):
        made.append(image.shape)
        probs = np.stack([~union, union]).astype(np.float32)
        return Prediction(union.astype(np.uint8), probs, 0.0)

    monkeypatch.setattr(Predictor, "predict", predict)
    click_module.clear_cache()
    yield made
    click_module.clear_cache()


def test_with_a_run_the_click_takes_the_runs_object_under_it_separated_from_its_neighbours(tiny_run,
                                                                                           touching_prediction):
    img = stained()
    truth = discs()
    for centre, disc in zip(CENTRES, truth):
        assert iou(click_object(img, centre, str(tiny_run.path)), disc) > 0.85
    assert touching_prediction == [img.shape]  # predicted once: the other clicks reuse it
    near = click_object(img, (45, 17), tiny_run.path)  # 3 px left of the first disc's edge: the nearest object
    assert iou(near, truth[0]) > 0.85
    assert not click_object(img, (5, 5), tiny_run.path).any()  # the background, far from any object: nothing


def _run_sees(monkeypatch, mask: np.ndarray, sure: float) -> None:
    """The run predicts ``mask`` as class 1, ``sure`` its probability there (and of class 0 elsewhere)."""
    def predict(self, image, crf=None, tta=None):
        p1 = np.where(mask, sure, 1 - sure).astype(np.float32)
        return Prediction(mask.astype(np.uint8), np.stack([1 - p1, p1]), 0.0)

    monkeypatch.setattr(Predictor, "predict", predict)
    click_module.clear_cache()


def test_with_a_run_a_click_on_a_large_nucleus_dark_at_its_centre_takes_the_whole_nucleus(tiny_run, monkeypatch):
    """A fluorescent nucleus larger than the first window round the click, dark round its centre (as in
    gowt1): the image alone gives the dark spot (IoU < 0.2); with a run that found the nucleus the click gives
    all of it (the run's own region outlines it better than the spot)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:150, :150]
    nucleus = (yy - 75) ** 2 + (xx - 70) ** 2 <= 38 ** 2
    img = np.full((150, 150), 15.0)
    img[nucleus] = 150
    img += nucleus * cv2.GaussianBlur(rng.normal(0, 20, img.shape).astype(np.float32), (0, 0), 3) * 3
    img[(yy - 75) ** 2 + (xx - 70) ** 2 <= 8 ** 2] = 60
    img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    assert iou(click_object(img, (75, 70)), nucleus) < 0.2
    _run_sees(monkeypatch, nucleus, 0.7)
    assert iou(click_object(img, (75, 70), tiny_run.path), nucleus) > 0.9
    click_module.clear_cache()


def test_with_a_barely_trained_run_that_calls_everything_an_object_a_click_or_box_still_takes_the_disc(
        tiny_run, monkeypatch):
    img = stained()
    _run_sees(monkeypatch, np.ones(img.shape[:2], bool), 0.6)
    for centre, disc in zip(CENTRES, discs()):
        assert iou(click_object(img, centre, tiny_run.path), disc) > 0.8
    _run_sees(monkeypatch, np.ones(img.shape[:2], bool), 0.97)  # sure of it (no faint region left out)
    got = click_module.box_object(img, (27, 17, 64, 54), tiny_run.path)  # 3 px round the first disc
    assert iou(got, discs()[0]) > 0.8 and not got[:27].any() and not got[:, 54:].any()  # nothing outside the box
    click_module.clear_cache()


def test_with_a_run_a_box_takes_the_object_most_inside_it(tiny_run, touching_prediction):
    img = stained()
    truth = discs()
    got = click_module.box_object(img, (55, 58, 100, 100), tiny_run.path)  # mostly round the third disc
    assert iou(got, truth[2]) > 0.85


def test_with_a_real_run_the_click_gives_the_object_the_run_found_there(tiny_run, tiny_data):
    from seg_core.data.imageio import read_image

    click_module.clear_cache()
    img = read_image(sorted((tiny_data / "images").glob("*.png"))[0])
    view = click_module.seen(img, tiny_run.path)
    assert view.mask.shape == img.shape[:2] and view.probs.shape[1:] == img.shape[:2]
    rows, cols = np.nonzero(view.mask > 0)
    got = click_object(img, (rows[0], cols[0]), tiny_run.path)
    assert got.shape == img.shape[:2] and got[rows[0], cols[0]]
    far = cv2.distanceTransform((view.mask == 0).astype(np.uint8), cv2.DIST_L2, 5) > click_module.NEAR_PX + 1
    if far.any():  # the run's background far from its objects: nothing
        r, c = np.argwhere(far)[0]
        assert not click_object(img, (r, c), tiny_run.path).any()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def test_a_click_on_a_nucleus_inside_a_cell_takes_the_nucleus_and_on_a_two_toned_nucleus_the_whole_of_it():
    """Without a run: on the bundled sample (stained tissue: dark nuclei inside paler cells on light glass) a
    click deep in a nucleus gives that nucleus, not the cell round it, in two of the five largest at least (the
    click before: in none); a fluorescent nucleus of
    a bright and a dimmer half on a dark ground gives all of it (one kind of background, or two, whichever
    outline stands out more from what lies round it)."""
    from pathlib import Path

    from scipy import ndimage

    from seg_core.data.imageio import read_image, read_mask_raw

    data = Path(__file__).resolve().parents[2] / "data"
    img, truth = read_image(data / "images" / "tissue_00.png"), read_mask_raw(data / "masks" / "tissue_00.png")
    lab, n = ndimage.label(truth == 2)
    sizes = ndimage.sum(np.ones_like(lab), lab, range(1, n + 1))
    ious = []
    for k in np.argsort(-sizes)[:5] + 1:
        r, c = np.unravel_index(ndimage.distance_transform_edt(lab == k).argmax(), lab.shape)
        ious.append(_iou(click_object(img, (r, c)), lab == k))
    assert sorted(ious)[-2] > 0.8, ious  # two of them at least: the others still take part of the cell round them

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:120, :120]
    nucleus = (yy - 60) ** 2 + (xx - 55) ** 2 <= 14 ** 2
    glow = np.zeros((120, 120), np.float32)
    glow[nucleus] = 1800
    glow[nucleus & (xx > 55)] = 1200
    glow = np.clip(glow + 300 + rng.normal(0, 20, glow.shape), 0, 65535).astype(np.uint16)
    assert _iou(click_object(glow, (60, 50)), nucleus) > 0.8
