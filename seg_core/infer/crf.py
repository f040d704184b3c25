"""Dense CRF refinement of class probabilities (pydensecrf2: Kraehenbuehl & Koltun 2011)."""
from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass

import numpy as np

from seg_core.data.display import display_rgb


@dataclass
class CRFParams:
    iterations: int = 5
    sxy_gaussian: float = 3.0  # smoothness kernel width (pixels)
    compat_gaussian: float = 3.0
    sxy_bilateral: float = 50.0  # appearance kernel width (pixels)
    srgb: float = 13.0  # appearance kernel colour tolerance
    compat_bilateral: float = 5.0

    def to_dict(self) -> dict:
        return asdict(self)


def dense_crf(image: np.ndarray, probs: np.ndarray, params: CRFParams | None = None) -> np.ndarray:
    """Refine ``probs`` (C, H, W) with the uint8 ``image`` (H, W, 3 RGB; other channel counts: the colour kernel
    reads their display composite, each channel in a colour of its own, ``display.display_rgb``: one rule here,
    whether the CRF is measured on held-out images or used); returns refined (C, H, W)."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax

    p = params or CRFParams()
    c, h, w = probs.shape
    crf = dcrf.DenseCRF2D(w, h, c)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs.astype(np.float32), clip=1e-5)))
    crf.addPairwiseGaussian(sxy=p.sxy_gaussian, compat=p.compat_gaussian)
    crf.addPairwiseBilateral(sxy=p.sxy_bilateral, srgb=p.srgb, rgbim=np.array(display_rgb(image), dtype=np.uint8, copy=True, order="C"),
                             compat=p.compat_bilateral)
    q = crf.inference(int(p.iterations))
    return np.asarray(q, dtype=np.float32).reshape(c, h, w)


SPEED_SIDE = 256  # the side of the image the CRF's speed is timed on


@functools.lru_cache(maxsize=None)
def seconds_per_mpix(num_classes: int) -> float:
    """Seconds the dense CRF (default parameters) takes per megapixel of ``num_classes`` classes on this machine,
    timed once per process on a ``SPEED_SIDE`` square of random colours (a few tenths of a second). Random colours
    are the slow case of the colour kernel and a small image counts its fixed cost per pixel, so real images take
    no longer than this says. The time budget reserves what the CRF measurement needs by it (``training/budget.py``):
    2.7 s per megapixel of 2 classes, 7 of 11, on a 2-core AMX Xeon, where a fixed 15 was assumed before."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (SPEED_SIDE, SPEED_SIDE, 3), dtype=np.uint8)
    probs = rng.dirichlet(np.ones(max(num_classes, 2)), (SPEED_SIDE, SPEED_SIDE)).transpose(2, 0, 1)
    t0 = time.perf_counter()
    dense_crf(image, probs.astype(np.float32))
    return (time.perf_counter() - t0) / (SPEED_SIDE * SPEED_SIDE / 1e6)
