"""What a suggestion while labelling (the Annotate page) learns from in a workspace, and the gestures that pick an
object: ``example_stems`` (the other labelled images, the most recently saved first), ``examples`` (them read as
class indices), ``find_object`` (a click or a box). The worker thread that builds the suggestions in the
background is ``seg_core.runner.suggestions``'s.
"""
from __future__ import annotations

import numpy as np

from seg_core.base.mask_values import UNLABELLED

MAX_PIXELS = 4_000_000  # larger images get no suggestions (the features of one would take gigabytes)
MAX_EXAMPLES = 8  # other labelled images a suggestion learns from (the most recently saved first)


def find_object(image: np.ndarray, kind: str, where: tuple[int, ...], run=None) -> np.ndarray:
    """(H, W) bool: the object of a click (``kind`` "object", ``where`` (row, col)) or of a box ("box", (row0,
    col0, row1, col1)); with ``run`` (a trained run, or its folder) as that run sees it, else from the image
    alone (``seg_core.assist.click``)."""
    from seg_core.assist.click import box_object, click_object

    folder = None if run is None else getattr(run, "path", run)
    if kind == "object":
        return click_object(image, where, folder)
    if kind == "box":
        return box_object(image, where, folder)
    raise ValueError(f"unknown gesture {kind!r} (object or box)")


def example_stems(masks_stamp, stem: str, limit: int = MAX_EXAMPLES) -> list[str]:
    """The other images with a saved mask (``masks_stamp``: mask file names and times), the most recently
    saved first, at most ``limit``."""
    others = [(t, name[:-4]) for name, t in masks_stamp if name.endswith(".png") and name[:-4] != stem]
    return [s for _, s in sorted(others, reverse=True)[:limit]]


def examples(ws, stems: list[str], num_classes: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(image, mask, file name) of each of ``stems`` in workspace ``ws`` that reads, its mask's values beyond the classes
    unlabelled; an image removed or damaged meanwhile, or of another size than its mask, is left out."""
    out = []
    for s in stems:
        try:
            img, mask = ws.read_image(s), ws.read_mask(s)
        except (OSError, ValueError):  # removed or damaged meanwhile: learn from the others
            continue
        if mask is None or mask.shape != img.shape[:2]:
            continue
        mask = np.where(mask < num_classes, mask, UNLABELLED).astype(np.uint8)
        out.append((img, mask, ws.image_path(s).name))  # the name: for a message about it
    return out
