"""Colours evened out between images (seg_core.data.colour): a darker, paler or tinted copy of an image reaches
the network nearly as the image itself does; grey and flat images are not turned into noise."""
import cv2
import numpy as np
import pytest
from PIL import Image

from seg_core.data import colour
from seg_core.data.colour import ColourReference, image_stats

from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.array(Image.open(sorted((SAMPLE / "images").glob("*.png"))[0]).convert("RGB"))


def _variant(image: np.ndarray, gain: float, offset: float, tint=(0, 0, 0)) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain + offset + np.array(tint, np.float32), 0, 255).astype(np.uint8)


def test_an_image_is_brought_to_the_reference_mean_and_spread(image):
    ref = ColourReference((120.0, 140.0, 118.0), (40.0, 9.0, 7.0))
    mean, std = image_stats(ref.apply(_variant(image, 0.7, 10)))
    assert mean == pytest.approx(ref.mean, abs=1.5)
    assert std == pytest.approx(ref.std, rel=0.12)  # within what clipping to 0..255 and back to RGB allows


def test_darker_paler_and_tinted_copies_reach_the_network_alike(image):
    ref = ColourReference.from_images([image])
    assert ref.images == 1 and ref.mean == pytest.approx(image_stats(image)[0], abs=1e-3)
    as_is = ref.apply(image).astype(np.int16)
    assert np.abs(as_is - image).mean() < 2  # the training image itself barely changes
    for gain, offset, tint in ((0.6, 0, (0, 0, 0)), (0.6, 70, (0, 0, 0)), (1.0, 0, (25, -10, 15))):
        copy = _variant(image, gain, offset, tint)
        before = np.abs(copy.astype(np.int16) - image).mean()
        after = np.abs(ref.apply(copy).astype(np.int16) - as_is).mean()
        assert before > 8 and after < min(4, before / 4), (gain, offset, tint, before, after)


def test_grey_and_flat_images_stay_grey_and_flat():
    ref = ColourReference((150.0, 128.0, 128.0), (30.0, 5.0, 5.0))
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(60, 200, (48, 64, 1), dtype=np.uint8), 3, axis=2)
    out = ref.apply(grey).astype(np.int16)
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 2 and np.abs(out[..., 1] - out[..., 2]).max() <= 2
    flat = np.full((32, 32, 3), 90, np.uint8)
    flat[0, 0] = 92  # almost no spread: scaled at most 3x, not into noise
    out = ref.apply(flat).astype(np.int16)
    assert out[1:, 1:].std() == 0 and np.abs(out[0, 0] - out[5, 5]).max() <= 8


def test_a_large_image_converted_in_row_blocks_equals_it_converted_whole(image, monkeypatch):
    ref = ColourReference((110.0, 135.0, 120.0), (35.0, 8.0, 8.0))
    whole = ref.apply(image)
    monkeypatch.setattr(colour, "ROWS_AT_ONCE", 7)
    assert np.array_equal(ref.apply(image), whole)


def test_the_reference_reads_back_and_a_malformed_one_is_named():
    ref = ColourReference((1.0, 2.0, 3.0), (4.0, 5.0, 6.0), 3)
    assert ColourReference.from_dict(ref.to_dict()) == ref
    assert ColourReference.from_dict(None) is None and ColourReference.from_dict({}) is None
    with pytest.raises(ValueError, match="needs 'mean' and 'std', three numbers each"):
        ColourReference.from_dict({"mean": [1, 2], "std": [1, 2, 3]})
    with pytest.raises(ValueError, match="needs 'mean' and 'std'"):
        ColourReference.from_dict({"mean": "dark"})
    with pytest.raises(ValueError, match="at least one image"):
        ColourReference.from_images([])
