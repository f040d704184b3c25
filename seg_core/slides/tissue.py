"""Where the tissue is: glass is bright and grey, stained tissue is coloured. Otsu's threshold on the colour
saturation of the slide's overview (scikit-image), never above ``MAX_GLASS_SATURATION`` so a slide that is
all tissue is not split in two, and pixels darker than glass (dense, dark tissue) counted as tissue too."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.color import rgb2hsv
from skimage.filters import threshold_otsu

MAX_GLASS_SATURATION = 0.08  # glass and its dust stay below this saturation (0..1)
MIN_GLASS_BRIGHTNESS = 0.85  # and above this brightness


def tissue_mask(overview: np.ndarray, grow: int = 2) -> np.ndarray:
    """(H, W) bool: True where ``overview`` ((H, W, 3) uint8 RGB) shows tissue, grown by ``grow`` pixels so its
    edge is kept."""
    hsv = rgb2hsv(overview)
    sat, val = hsv[..., 1], hsv[..., 2]
    th = MAX_GLASS_SATURATION if float(sat.max() - sat.min()) < 1e-3 else min(threshold_otsu(sat),
                                                                                  MAX_GLASS_SATURATION)
    tissue = (sat > th) | (val < MIN_GLASS_BRIGHTNESS)
    if grow > 0:
        tissue = ndi.binary_dilation(tissue, iterations=grow)
    return tissue


def tiles_with_tissue(tissue: np.ndarray, scale: float, boxes: list[tuple[int, int, int, int]]) -> list[bool]:
    """For each box (x0, y0, x1, y1, in the pixels the tissue mask is ``scale`` times smaller than) whether it
    holds any tissue."""
    h, w = tissue.shape
    out = []
    for x0, y0, x1, y1 in boxes:
        a, b = min(h - 1, int(y0 / scale)), max(int(np.ceil(y1 / scale)), int(y0 / scale) + 1)
        c, d = min(w - 1, int(x0 / scale)), max(int(np.ceil(x1 / scale)), int(x0 / scale) + 1)
        out.append(bool(tissue[a:b, c:d].any()))
    return out
