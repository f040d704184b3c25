"""Display is not data: an image of any number of channels shown as RGB for people (thumbnails, overlays) and for
the dense CRF's colour kernel. Gray and RGB images are shown as they are; other channel counts as a composite,
each channel in a colour of its own, as Fiji shows them by default (red, green, blue, gray, cyan, magenta,
yellow, then again), combined by the brightest value per colour ("composite max": no channel hides another, none
saturates the sum). An image whose first three channels are red, green and blue (an RGB image with extra bands,
e.g. near-infrared) is shown by those three.
"""
from __future__ import annotations

import numpy as np

COMPOSITE_COLOURS = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0))
RGB_FIRST = ("red", "green", "blue")


def display_rgb(image: np.ndarray, names: tuple[str, ...] = ()) -> np.ndarray:
    """(H, W, 3) uint8 for people to look at, from (H, W[, K]) uint8 values (``imageio.model_rgb`` / what the
    network reads): gray repeated, RGB as it is, RGB + extra bands by its RGB (``names``), else a composite."""
    if image.ndim == 2:
        image = image[..., None]
    k = image.shape[-1]
    if k == 3:
        return image
    if k == 1:
        return np.repeat(image, 3, axis=-1)
    if tuple(names[:3]) == RGB_FIRST:
        return np.ascontiguousarray(image[..., :3])
    out = np.zeros(image.shape[:2] + (3,), np.uint8)
    for i in range(k):
        for c, on in enumerate(COMPOSITE_COLOURS[i % len(COMPOSITE_COLOURS)]):
            if on:
                np.maximum(out[..., c], image[..., i], out=out[..., c])
    return out
