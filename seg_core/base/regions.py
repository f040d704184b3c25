"""The typical size of a mask's objects, one rule for the training crop (``training.crop_size``) and for
separating touching objects (``objects.instances``)."""
from __future__ import annotations

import numpy as np


def median_pixel_area(areas: np.ndarray) -> float | None:
    """The area of the region holding the median pixel of all ``areas`` (pixels per region): large regions
    weigh by their area, so specks do not shrink it. None when there is no region."""
    areas = np.asarray(areas)
    areas = np.sort(areas[areas > 0])
    if not len(areas):
        return None
    cum = np.cumsum(areas)
    return float(areas[np.searchsorted(cum, cum[-1] / 2)])
