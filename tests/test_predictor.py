"""Prediction at full resolution: tiles, flip TTA, CRF through the Predictor."""
import numpy as np
import pytest
import torch
from PIL import Image

from seg_core import CRFParams, Predictor
from seg_core.sliding_window import predict_probs


def test_prediction_keeps_original_size_and_tiles_agree(tiny_run):
    model = tiny_run.load_model()
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)  # not a multiple of 32
    whole = predict_probs(model, img)
    assert whole.shape == (3, 70, 90) and np.allclose(whole.sum(0), 1, atol=1e-4)
    tiled = predict_probs(model, img, max_pixels=1000, tile=64)  # forces 2x2 overlapping tiles
    assert tiled.shape == whole.shape
    assert (tiled.argmax(0) == whole.argmax(0)).mean() > 0.8


def test_predictor_with_crf_and_tta(tiny_run):
    img = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    p = Predictor(tiny_run, tta=True).predict(img, crf=CRFParams(iterations=2))
    assert p.mask.shape == (64, 64) and p.crf_seconds > 0 and p.mask.max() < 3


def test_folder_listing_skips_hidden_temporary_files(tmp_path):
    from seg_core.predictor import image_files

    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / ".a.k3j2.png").write_bytes(b"half written")
    assert [p.name for p in image_files(tmp_path)] == ["a.png"]
