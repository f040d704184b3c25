"""The automatic training crop: the median image size, capped at ``MAX_AUTO_SIDE`` a side, and smaller where
the labelled objects are small and many (nuclei, cells): a step on a smaller crop takes less time, so the same
time budget makes more, and more varied, steps while each crop still holds many objects whole. A crop is made
smaller only where that at least halves it: a few more steps do not pay for the view of the whole image. On nuclei-he
(objects about 20 px across, about 35 in a 256x256 crop) 256x256 crops instead of 384x512 raised the object F1
(benchmarks/results/2026-12-03-bench_objects.md); on EM membranes around cells (about 80 px across, 28 in a
256x256 crop) 256x256 crops instead of 512x512 raised the membranes' Dice by 0.02. Small objects that are few
(poles and pedestrians in a street, defects on a tile: about 5 in a 256x256 crop) keep the image's crop: most
smaller crops would hold none, and the street's small things scored 0.06 Dice lower on 256x256 crops
(benchmarks/results/2026-12-07-crop-rule.md). Street scenes (objects about 170 px) keep their crop."""
from __future__ import annotations

import numpy as np
from skimage.measure import label

from seg_core.base.mask_values import IGNORE
from seg_core.base.regions import median_pixel_area
from seg_core.data.dataset import Dataset, Sample
from seg_core.model.network import OUTPUT_MULTIPLE

MAX_AUTO_SIDE = 512  # the automatic training crop is at most this many pixels a side
MIN_AUTO_SIDE = 256  # a crop made smaller for small objects is at least this many pixels a side
OBJECTS_ACROSS = 3  # a crop made smaller still holds this many typical objects across
OBJECTS_PER_CROP = 16  # and this many objects, on average over the labelled pixels
MIN_GAIN = 2.0  # and the image's crop is at least this many times its pixels (as many more steps in the time)
MASKS_LOOKED_AT = 8  # masks whose objects are measured
FULLY_LABELLED = 0.9  # only masks with at least this share of labelled pixels (not scribbles)


def object_statistics(masks: list[np.ndarray]) -> tuple[float, float] | None:
    """(diameter, density) of the labelled objects of ``masks`` ((H, W) class indices, ``IGNORE`` unlabelled):
    the equivalent diameter (px) of the object holding the median labelled pixel of a class other than the first
    (the background), over connected regions of each class, and the objects per labelled pixel. Only masks
    labelled nearly everywhere count (a scribble's strokes are no objects). None when no mask counts or they hold
    no object."""
    areas, pixels = [], 0
    for m in masks:
        labelled = int((m != IGNORE).sum())
        if labelled < FULLY_LABELLED * m.size:
            continue
        pixels += labelled
        for c in np.unique(m):
            if c == 0 or c == IGNORE:
                continue
            areas.append(np.bincount(label(m == c, connectivity=1).ravel())[1:])
    if not areas:
        return None
    sizes = np.concatenate(areas)
    return float(np.sqrt(4 * median_pixel_area(sizes) / np.pi)), len(sizes) / pixels


def auto_img_size(ds: Dataset, samples: list[Sample] = ()) -> tuple[int, int]:
    """Training crop (H, W): the median image size, capped at 512 a side, rounded down to the multiple of 32;
    where the objects of ``samples``' masks are small and many (3 of them across, and 16 of them on average,
    fit in at most half the pixels), a square crop of that size, at least 256 a side."""
    sizes = np.array(list(ds.sizes.values()) or [(256, 256)])
    h, w = np.median(sizes, axis=0)
    scale = min(1.0, MAX_AUTO_SIDE / max(h, w))
    crop = tuple(max(OUTPUT_MULTIPLE, int(v * scale) // OUTPUT_MULTIPLE * OUTPUT_MULTIPLE) for v in (h, w))
    looked = [ds.load_mask(s) for s in list(samples)[:MASKS_LOOKED_AT] if s.mask is not None]
    stats = object_statistics(looked) if looked else None
    if stats is None:
        return crop
    d, density = stats
    need = max(OBJECTS_ACROSS * d, np.sqrt(OBJECTS_PER_CROP / density))  # density > 0: there is an object
    side = max(MIN_AUTO_SIDE, -(-int(np.ceil(need)) // OUTPUT_MULTIPLE) * OUTPUT_MULTIPLE)
    smaller = tuple(min(v, side) for v in crop)
    return smaller if MIN_GAIN * smaller[0] * smaller[1] <= crop[0] * crop[1] else crop
