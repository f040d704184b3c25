"""The live preview on images of any size, aspect, bit depth and channel count, learning from examples unlike
them: always a suggestion of the image's size in valid classes, and the right classes on a clear image."""
import numpy as np
import pytest

from seg_core.assist import LivePreview

from assist_images import UNPAINTED

SIZES = {"tiny": (17, 23), "odd": (37, 53), "portrait": (150, 70), "landscape": (70, 150), "large-ish": (420, 560)}
KINDS = ("uint8 grey", "uint8 RGB", "uint16 grey", "float32 grey", "float32 RGB")


def disc_image(shape, kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bright disc (class 1) on a darker textured ground, with noise, as ``kind`` (dtype and channels);
    returns the image and its true classes."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.uint8)
    grey = np.where(truth == 1, 190.0, 70.0) + 15 * np.sin(xx / 2.5) * (truth == 0) + rng.normal(0, 8, shape)
    img = np.clip(grey, 0, 255)
    if kind.endswith("RGB"):
        img = np.stack([img, 0.8 * img + 20, 255 - img], axis=-1)
    if kind.startswith("uint8"):
        return img.astype(np.uint8), truth
    if kind.startswith("uint16"):
        return (img * 40 + 1000).astype(np.uint16), truth  # a 16-bit camera: not using the full range
    return (img / 255.0 * 3.5 - 1.2).astype(np.float32), truth  # floats in any range


def two_strokes(truth: np.ndarray) -> np.ndarray:
    """A short stroke through the disc's middle (class 1) and one along the ground's top-left edge (class 0)."""
    h, w = truth.shape
    labels = np.full(truth.shape, UNPAINTED, np.uint8)
    r = max(1, min(h, w) // 8)
    labels[h // 2, w // 2 - r:w // 2 + r + 1] = 1
    labels[0, : max(3, w // 3)] = 0
    labels[: max(3, h // 3), 0] = 0
    return labels


def assert_good_suggestion(pred, truth, least=0.85):
    assert pred.shape == truth.shape and pred.dtype == np.uint8
    assert set(np.unique(pred)) <= {0, 1}
    ground, disc = (pred[truth == 0] == 0).mean(), (pred[truth == 1] == 1).mean()
    assert ground > least and disc > least, (ground, disc)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("kind", ["uint8 grey", "uint8 RGB"])
def test_strokes_alone_on_any_size(size, kind):
    img, truth = disc_image(SIZES[size], kind)
    assert_good_suggestion(LivePreview(img, 2).update(two_strokes(truth)), truth)


@pytest.mark.parametrize("kind", KINDS)
def test_any_bit_depth_and_channels(kind):
    img, truth = disc_image((90, 120), kind)
    assert_good_suggestion(LivePreview(img, 2).update(two_strokes(truth)), truth)


MIXED = [  # (the painted image, the examples): sizes, aspects and kinds unlike each other
    (((256, 256), "uint8 RGB"), [((348, 524), "uint8 grey")]),
    (((512, 680), "uint8 grey"), [((256, 256), "uint8 RGB"), ((256, 256), "uint8 RGB")]),
    (((17, 23), "uint16 grey"), [((300, 200), "uint8 RGB"), ((40, 41), "float32 grey")]),
    (((150, 70), "float32 RGB"), [((70, 150), "uint16 grey"), ((17, 23), "uint8 grey"), ((37, 53), "uint8 RGB")]),
]


@pytest.mark.parametrize("target, examples", MIXED, ids=lambda v: str(v))
def test_examples_of_other_sizes_and_kinds(target, examples):
    img, truth = disc_image(*target, seed=1)
    pairs = [disc_image(shape, kind, seed=2 + n) for n, (shape, kind) in enumerate(examples)]
    live = LivePreview(img, 2, examples=pairs)
    unpainted = np.full(truth.shape, UNPAINTED, np.uint8)
    assert_good_suggestion(live.update(unpainted), truth, least=0.75)  # from the examples alone
    assert_good_suggestion(live.update(two_strokes(truth)), truth)


def test_a_grey_example_with_its_file_name_is_named_when_its_mask_does_not_fit():
    img, truth = disc_image((64, 80), "uint8 RGB")
    ex, _ = disc_image((40, 50), "uint8 grey")
    with pytest.raises(ValueError, match="cells_07.png's mask: is 80x64 but the image is 50x40"):
        LivePreview(img, 2, examples=[(ex, truth, "cells_07.png")])


def test_what_is_no_image_is_refused_naming_it():
    with pytest.raises(ValueError, match="cells_07.png is not a grey or colour image"):
        LivePreview(np.zeros((20, 20), np.uint8), 2, examples=[(np.zeros((20, 20, 5), np.uint8),
                                                                np.zeros((20, 20), np.uint8), "cells_07.png")])
    with pytest.raises(ValueError, match="NaN"):
        LivePreview(np.full((20, 20), np.nan, np.float32), 2)
