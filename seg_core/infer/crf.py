"""Dense CRF refinement of class probabilities (pydensecrf2: Kraehenbuehl & Koltun 2011)."""
from __future__ import annotations

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
