"""Intensities as measured: 16-bit and float images read by the run's fixed per-channel ranges."""
import numpy as np
import pytest
import tifffile

from seg_core.data.imageio import ImageReadError, model_rgb, read_image, read_raw
from seg_core.data.intensities import Intensities


def _field(rng, blobs: int, size: int = 64) -> np.ndarray:
    """A 16-bit fluorescence field: background 300 +- 5 counts, ``blobs`` bright round nuclei (about 3000)."""
    img = rng.normal(300, 5, (size, size))
    yy, xx = np.mgrid[:size, :size]
    for _ in range(blobs):
        cy, cx = rng.integers(10, size - 10, 2)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 36] = rng.normal(3000, 100)
    return np.clip(img, 0, 65535).astype(np.uint16)


def test_the_ranges_are_the_training_images_percentiles_per_channel():
    rng = np.random.default_rng(0)
    ref = Intensities.from_images([_field(rng, 3)[..., None] for _ in range(4)])
    assert ref.channels == 1 and ref.images == 4
    assert 280 <= ref.low[0] <= 300 and 2500 <= ref.high[0] <= 3500
    two = Intensities.from_images([np.stack([_field(rng, 3), _field(rng, 3) // 10], -1)])
    assert two.channels == 2 and two.high[1] < two.high[0] / 5  # each channel its own range
    assert Intensities.from_dict(ref.to_dict()) == ref  # as config.json and the ONNX description keep it
    assert Intensities.from_dict(None) is None and Intensities.from_dict({}) is None
    with pytest.raises(ValueError, match="high above low"):
        Intensities.from_dict({"low": [5.0], "high": [1.0]})
    with pytest.raises(ValueError, match="different numbers of channels: 1, 3"):
        Intensities.from_images([np.zeros((4, 4, 1)), np.zeros((4, 4, 3))])


def test_an_empty_field_stays_dark_with_the_runs_ranges_and_not_with_its_own_stretch(tmp_path):
    rng = np.random.default_rng(1)
    ref = Intensities.from_images([_field(rng, 4)[..., None] for _ in range(4)])
    tifffile.imwrite(tmp_path / "empty.tif", _field(rng, 0))
    tifffile.imwrite(tmp_path / "one.tif", _field(rng, 1))
    empty = read_image(tmp_path / "empty.tif", intensities=ref)
    assert empty.shape == (64, 64, 3) and empty.dtype == np.uint8
    assert empty.mean() < 8 and empty.max() < 20  # near the low end: no nucleus in view looks like none
    background = read_image(tmp_path / "one.tif", intensities=ref)[:5, :5]
    assert abs(float(background.mean()) - float(empty[:5, :5].mean())) < 3  # the same counts, the same values
    assert read_image(tmp_path / "empty.tif").mean() > 60  # a run trained before: each image stretched by itself


def test_8_bit_images_are_read_as_stored_whatever_the_ranges(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb)
    ref = Intensities((0.0, 0.0, 0.0), (1000.0, 1000.0, 1000.0))
    assert np.array_equal(read_image(tmp_path / "rgb.tif", intensities=ref), rgb)
    assert np.array_equal(read_image(tmp_path / "rgb.tif"), rgb)


def test_an_image_with_another_channel_count_than_the_ranges_is_refused_naming_both(tmp_path):
    tifffile.imwrite(tmp_path / "rgb16.tif", np.full((8, 8, 3), 500, np.uint16))
    arr, hdr = read_raw(tmp_path / "rgb16.tif")
    with pytest.raises(ImageReadError, match=r"rgb16.tif: has 3 channel\(s\); the model was trained on images with 1"):
        model_rgb(arr, "rgb16.tif", hdr, Intensities((300.0,), (3000.0,)))
