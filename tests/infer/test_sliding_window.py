"""Prediction at full size: very large images are predicted tile by tile with memory bounded by the tile."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from seg_core.infer.sliding_window import predict_mask, predict_probs
from seg_core.infer.tiling import TILE, TILE_OVERLAP, owned, tile_starts

from conftest import ROOT


def _pointwise_model(classes: int = 3) -> torch.nn.Module:
    """A 1x1 convolution: each pixel's classes depend on that pixel alone, so tiling cannot change them."""
    torch.manual_seed(0)
    return torch.nn.Conv2d(3, classes, 1).eval()


def test_tiles_own_every_pixel_exactly_once():
    for size in (1, 100, 512, 513, 1000, 4000):
        starts = tile_starts(size, TILE, TILE_OVERLAP)
        cover = np.zeros(size, int)
        for s, lo, hi in owned(starts, TILE, size):
            assert s <= lo < hi <= min(s + TILE, size)  # a tile writes only what it saw
            cover[lo:hi] += 1
        assert (cover == 1).all()


def test_the_tiled_mask_equals_the_whole_image_prediction():
    model = _pointwise_model()
    img = np.random.default_rng(1).integers(0, 256, (300, 470, 3), dtype=np.uint8)
    whole = predict_probs(model, img, max_pixels=10**9)
    mask, conf = predict_mask(model, img, tile=64, confidence=True)  # 35 overlapping tiles
    assert mask.shape == (300, 470) and mask.dtype == np.uint8
    assert np.array_equal(mask, whole.argmax(0))
    assert np.abs(conf.astype(int) - np.round(whole.max(0) * 255)).max() <= 1
    tiled = predict_probs(model, img, max_pixels=1000, tile=64)  # the averaging path agrees too
    assert np.allclose(tiled, whole, atol=1e-5)


PEAK = """
import sys, numpy as np, torch
from seg_core.infer.sliding_window import predict_mask, predict_probs
torch.manual_seed(0)
model = torch.nn.Conv2d(3, 3, 1).eval()
img = np.random.default_rng(0).integers(0, 256, (4000, 4000, 3), dtype=np.uint8)
predict_mask(model, img[:1100, :1100])  # warm up: a few tiles
def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to what the process holds now
before = status_mb("VmRSS")
peak = lambda: status_mb("VmHWM")
if sys.argv[1] == "mask":
    out = predict_mask(model, img)[0]  # the tiled mask
else:
    out = predict_probs(model, img)  # full-size probabilities, for comparison
print(peak() - before)
"""


def _peak_mb(mode: str) -> float:
    """Peak memory added by predicting a 4000x4000 image, measured in a process of its own."""
    res = subprocess.run([sys.executable, "-c", PEAK, mode], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    return float(res.stdout.split()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self (Linux)")
def test_predicting_a_4000x4000_image_takes_memory_for_a_tile_not_the_image():
    full_probs_mb = 3 * 4000 * 4000 * 4 / 2**20  # 183 MB of float32 class probabilities
    tiled = _peak_mb("mask")
    # the uint8 mask (15 MB), one tile and allocator slack (measured 28-70 MB): nothing image-sized in float
    assert tiled < full_probs_mb / 2, tiled
    with_probs = _peak_mb("probs")
    assert with_probs > full_probs_mb, with_probs  # the measurement sees image-sized float arrays when they exist


def test_the_predictor_bounds_very_large_images_and_says_so(tiny_run, monkeypatch):
    from seg_core import CRFParams, Predictor

    pred = Predictor(tiny_run)
    img = np.random.default_rng(2).integers(0, 256, (150, 220, 3), dtype=np.uint8)
    small = pred.predict(img, crf=False)
    assert small.probs is not None and small.note == ""
    monkeypatch.setenv("SEG_CORE_MAX_PROB_PIXELS", "10000")
    big = pred.predict(img, crf=CRFParams())
    assert big.probs is None and big.mask.shape == (150, 220) and big.crf_seconds == 0
    assert big.note.startswith("220x150 is more than 10,000 pixels, so it was predicted tile by tile straight into "
                               "the mask, without class probabilities")
    assert "the dense CRF needs them and was skipped" in big.note and "SEG_CORE_MAX_PROB_PIXELS" in big.note
    assert (big.mask == small.mask).mean() > 0.95  # the same prediction, stitched from tiles
    # the predicted class's probability is still kept, as a byte per pixel (faint objects are judged by it)
    top = big.top_probability()
    assert top.dtype == np.uint8 and top.shape == (150, 220)
    assert np.abs(top / 255.0 - small.top_probability()).mean() < 0.05
