"""The automatic training crop: the median image size, capped at ``MAX_AUTO_SIDE`` a side, and smaller where
the labelled objects are small (nuclei, cells, specks): a step on a smaller crop takes less time, so the same
time budget makes more, and more varied, steps while each crop still holds many objects whole. On nuclei-he
(objects about 20 px across) 256x256 crops instead of 384x512 raised the object F1 (benchmarks/results/2026-12-03-bench_objects.md);
street scenes (about 170 px) and membrane slices (about 80 px) keep their crop."""
from __future__ import annotations

import numpy as np
from skimage.measure import label

from seg_core.base.mask_values import IGNORE
from seg_core.base.regions import median_pixel_area
from seg_core.data.dataset import Dataset, Sample
from seg_core.model.network import OUTPUT_MULTIPLE

MAX_AUTO_SIDE = 512  # the automatic training crop is at most this many pixels a side
MIN_AUTO_SIDE = 256  # a crop made smaller for small objects is at least this many pixels a side
OBJECTS_ACROSS = 8  # a crop made smaller still holds this many typical objects across
MASKS_LOOKED_AT = 8  # masks whose objects are measured
FULLY_LABELLED = 0.9  # only masks with at least this share of labelled pixels (not scribbles)


def typical_object_diameter(masks: list[np.ndarray]) -> float | None:
    """The equivalent diameter (px) of the object holding the median labelled pixel of a class other than the
    first (the background), over connected regions of each class of ``masks`` ((H, W) class indices, ``IGNORE``
    unlabelled); only masks labelled nearly everywhere count (a scribble's strokes are no objects). None when
    no mask counts."""
    areas = []
    for m in masks:
        if (m != IGNORE).mean() < FULLY_LABELLED:
            continue
        for c in np.unique(m):
            if c == 0 or c == IGNORE:
                continue
            areas.append(np.bincount(label(m == c, connectivity=1).ravel())[1:])
    area = median_pixel_area(np.concatenate(areas)) if areas else None
    return None if area is None else float(np.sqrt(4 * area / np.pi))


def auto_img_size(ds: Dataset, samples: list[Sample] = ()) -> tuple[int, int]:
    """Training crop (H, W): the median image size, capped at 512 a side, rounded down to the multiple of 32;
    where the objects of ``samples``' masks are small (8 of them across fit in less), a square crop of that
    size, at least 256 a side."""
    sizes = np.array(list(ds.sizes.values()) or [(256, 256)])
    h, w = np.median(sizes, axis=0)
    scale = min(1.0, MAX_AUTO_SIDE / max(h, w))
    crop = tuple(max(OUTPUT_MULTIPLE, int(v * scale) // OUTPUT_MULTIPLE * OUTPUT_MULTIPLE) for v in (h, w))
    looked = [ds.load_mask(s) for s in list(samples)[:MASKS_LOOKED_AT] if s.mask is not None]
    d = typical_object_diameter(looked) if looked else None
    if d is None:
        return crop
    side = max(MIN_AUTO_SIDE, -(-int(np.ceil(OBJECTS_ACROSS * d)) // OUTPUT_MULTIPLE) * OUTPUT_MULTIPLE)
    return tuple(min(v, side) for v in crop)
