"""Painting masks: what a drawing canvas's strokes mean as class labels, and laying them onto a mask.

The canvas draws each brush value in a colour (a class's colour, or ``ERASER_COLOUR`` for
"unlabelled"); its RGBA picture, at display size, is read back as labels at the image's size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .classes import ClassList
from .mask_values import UNLABELLED

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


# -- one canvas's edits, laid onto the mask file as it is now ------------------------------------------
@dataclass
class CanvasEdits:
    """What one drawing canvas has written into a mask file, so that its next save applies only its own
    change onto the file as it is *now* (another tab, a Clear, an import may have changed it meanwhile).

    ``applied``: the canvas's labels as last laid onto the file (``NOT_PAINTED`` where it has nothing).
    ``prior``: under each pixel the canvas painted, what the file held before (given back when the canvas
    takes the stroke back: its undo, its reset).
    ``seen``: the file's version (``mask_version``) right after this canvas's last save, or when it opened.
    """

    applied: np.ndarray
    prior: np.ndarray
    seen: tuple | None = None

    @classmethod
    def start(cls, size: tuple[int, int], seen: tuple | None = None) -> "CanvasEdits":
        return cls(np.full(size, NOT_PAINTED, np.int16), np.full(size, UNLABELLED, np.uint8), seen)


@dataclass
class CanvasResult:
    """The outcome of laying a canvas's strokes onto the file."""

    mask: np.ndarray | None  # the mask to store; None: nothing labelled any more (no mask file)
    edits: CanvasEdits  # the canvas's new state
    changed: int  # pixels this save changed in the file
    kept_theirs: int  # pixels taken back by this canvas that someone else had changed since: left as theirs


def apply_canvas(current: np.ndarray | None, edits: CanvasEdits, labels: np.ndarray | None,
                 size: tuple[int, int]) -> CanvasResult:
    """Lay only this canvas's change (``labels`` now against ``edits.applied`` before) onto ``current``,
    the mask file as it is now (None: no file):

    - pixels the canvas paints (new or repainted) take the canvas's value; the first time, the file's value
      underneath is remembered;
    - pixels the canvas no longer paints (undo, reset) get back what was under them, but only where the file
      still holds what this canvas wrote there (another tab's later stroke wins);
    - every other pixel stays as the file has it, so strokes of other tabs and a Clear are never undone.
    """
    new = np.full(size, NOT_PAINTED, np.int16) if labels is None else labels.astype(np.int16)
    old = edits.applied
    mask = np.full(size, UNLABELLED, np.uint8) if current is None else current.astype(np.uint8)  # a copy
    before = mask.copy()
    changed = new != old
    prior = edits.prior.copy()
    back = changed & (new == NOT_PAINTED)
    ours = back & (mask == old.astype(np.uint8))
    mask[ours] = prior[ours]
    paint = changed & (new != NOT_PAINTED)
    first = paint & (old == NOT_PAINTED)
    prior[first] = before[first]
    mask[paint] = new[paint].astype(np.uint8)
    result = None if (mask == UNLABELLED).all() else mask
    return CanvasResult(result, CanvasEdits(new, prior, edits.seen), int((mask != before).sum()),
                        int((back & ~ours).sum()))


def stale_values(mask: np.ndarray, classes: ClassList) -> list[int]:
    """Values in ``mask`` that are neither a class nor unlabelled (a class removed while masks used it)."""
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    return [int(v) for v in present if v >= len(classes) and v != UNLABELLED]
