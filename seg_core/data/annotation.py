"""What a mask holds (``coverage``, ``stale_values``), and what a raster drawing canvas's strokes mean as
class labels.

The Annotate page's canvas (``label_canvas``) sends label patches (``label_patches``). A raster canvas
(streamlit-drawable-canvas, kept for the measured comparison in ``benchmarks/bench_canvas.py`` and
``tests/app/canvas_app.py``) draws each brush value in a colour (a class's colour, or ``ERASER_COLOUR`` for
"unlabelled"); its RGBA picture, at display size, is read back as labels at the image's size
(``strokes_to_labels``) and laid over the mask (``apply_strokes``).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from seg_core.base.classes import ClassList
from seg_core.base.mask_values import UNLABELLED

ERASER_COLOUR = (255, 0, 255)  # what the eraser ("unlabelled") draws in; must not equal a class colour
NOT_PAINTED = -1  # label of canvas pixels no stroke touched


def brush_values(classes: ClassList) -> list[int]:
    """The values a brush can paint: each class index, then ``UNLABELLED`` (the eraser)."""
    return list(range(len(classes))) + [UNLABELLED]


def stroke_colour(value: int, classes: ClassList) -> tuple[int, int, int]:
    """The RGB colour the canvas draws ``value`` in."""
    return ERASER_COLOUR if value == UNLABELLED else tuple(classes.colours[value])


def strokes_to_labels(rgba: np.ndarray | None, classes: ClassList, size: tuple[int, int]) -> np.ndarray | None:
    """Canvas RGBA (any size) -> (H, W) int16 labels at ``size`` = (H, W); ``NOT_PAINTED`` where nothing was
    drawn. Each painted pixel takes the value whose stroke colour is nearest (anti-aliased edges included).
    None when nothing is painted."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] < 4:
        return None
    painted = rgba[..., 3] > 0
    if not painted.any():
        return None
    values = brush_values(classes)
    palette = np.array([stroke_colour(v, classes) for v in values], np.int32)
    rgb = rgba[..., :3].astype(np.int32)
    distance = ((rgb[:, :, None, :] - palette[None, None]) ** 2).sum(-1)
    labels = np.array(values, np.int16)[distance.argmin(-1)]
    labels[~painted] = NOT_PAINTED
    h, w = size
    if labels.shape != (h, w):  # the canvas is display-sized: back to the image's size, nearest neighbour
        labels = np.array(Image.fromarray(labels.astype(np.int32)).resize((w, h), Image.NEAREST)).astype(np.int16)
    return labels


def apply_strokes(base: np.ndarray | None, labels: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """The mask ``base`` (None: no mask yet) with the painted ``labels`` laid over it, as uint8 (H, W).

    None when there is neither a base nor a stroke: the image has no mask at all (every stroke undone)."""
    if base is None and labels is None:
        return None
    mask = np.full(size, UNLABELLED, np.uint8) if base is None else base.astype(np.uint8)  # a copy
    if labels is not None:
        painted = labels != NOT_PAINTED
        mask[painted] = labels[painted].astype(np.uint8)
    return mask


def coverage(mask: np.ndarray, classes: ClassList) -> tuple[list[float], float]:
    """Share of the pixels in each class, and the share still unlabelled."""
    counts = np.bincount(mask.ravel(), minlength=256)
    return [float(counts[i]) / mask.size for i in range(len(classes))], float(counts[UNLABELLED]) / mask.size


def stale_values(mask: np.ndarray, classes: ClassList) -> list[int]:
    """Values in ``mask`` that are neither a class nor unlabelled (a class removed while masks used it)."""
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    return [int(v) for v in present if v >= len(classes) and v != UNLABELLED]
