"""Dense CRF refinement."""
import numpy as np

from seg_core import CRFParams, dense_crf


def test_dense_crf_snaps_a_blurry_prediction_to_the_edge():
    img = np.zeros((60, 60, 3), np.uint8)
    img[:, 30:] = 255
    truth = (np.arange(60)[None, :] >= 30).repeat(60, 0)
    p1 = np.clip((np.arange(60) - 22) / 16, 0.05, 0.95)[None, :].repeat(60, 0)  # boundary drawn at x=30 but soft
    p1 = np.roll(p1, -5, axis=1)  # and shifted: the raw argmax is 5 pixels off
    p1[:, -5:] = 0.95
    probs = np.stack([1 - p1, p1]).astype(np.float32)
    before = (probs.argmax(0) == truth).mean()
    after = (dense_crf(img, probs, CRFParams(sxy_bilateral=20, srgb=10, compat_bilateral=10)).argmax(0) == truth).mean()
    assert before < 0.95 and after > before
