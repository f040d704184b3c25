"""How an image of any size meets a network that takes sides in multiples of 32: padding to the multiple, and
overlapping tiles for big images. Plain numpy (no torch), so the torch predictor (``sliding_window``) and the
ONNX one (``onnx_predictor``) tile and pad alike; each hands in its own ``forward``.

``forward(crop)``: an (h, w, 3) uint8 crop -> its class probabilities (C, h, w) float32 (padding done inside).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

MAX_WHOLE_PIXELS = 1024 * 1024  # above this, predict in overlapping tiles
TILE = 512
TILE_OVERLAP = 64

Forward = Callable[[np.ndarray], np.ndarray]


def pad_plan(h: int, w: int, multiple: int) -> tuple[int, int, bool]:
    """Rows and columns to add at the bottom and right to reach the ``multiple``, and whether to mirror the
    image into them (reflect, without repeating the edge pixel); else the edge pixels are repeated (a side
    shorter than its pad cannot be mirrored)."""
    ph, pw = (-h) % multiple, (-w) % multiple
    return ph, pw, ph < h and pw < w


def pad_image(image: np.ndarray, multiple: int) -> np.ndarray:
    """(H, W, C) padded at the bottom and right as ``pad_plan`` says (numpy's "reflect" is torch's "reflect",
    "edge" its "replicate")."""
    ph, pw, reflect = pad_plan(*image.shape[:2], multiple)
    if not (ph or pw):
        return image
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect" if reflect else "edge")


def tile_starts(size: int, tile: int, overlap: int = TILE_OVERLAP) -> list[int]:
    """Where the tiles along one side begin: ``tile`` apart less the overlap (at most a quarter tile), the
    last one flush with the end."""
    if size <= tile:
        return [0]
    step = tile - min(overlap, tile // 4)
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


def owned(starts: list[int], tile: int, size: int) -> list[tuple[int, int, int]]:
    """(start, lo, hi) per tile: the rows (or columns) lo..hi that this tile alone writes, split at the
    middle of each overlap, so every pixel comes from the tile that sees most around it."""
    out = []
    for i, s in enumerate(starts):
        lo = 0 if i == 0 else (starts[i - 1] + tile + s) // 2
        hi = size if i == len(starts) - 1 else (s + tile + starts[i + 1]) // 2
        out.append((s, lo, hi))
    return out


def probs_tiled(forward: Forward, image: np.ndarray, max_pixels: int = MAX_WHOLE_PIXELS,
                tile: int = TILE) -> np.ndarray:
    """Class probabilities (C, H, W) float32 of the whole image: in one piece up to ``max_pixels``, else
    overlapping tiles averaged (memory grows with the image: for very large images use ``mask_tiled``)."""
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return forward(image)
    acc = None
    count = np.zeros((h, w), np.uint8)
    for y0 in tile_starts(h, tile):
        for x0 in tile_starts(w, tile):
            crop = image[y0:y0 + tile, x0:x0 + tile]  # only the tile becomes floats
            p = forward(crop)
            if acc is None:
                acc = np.zeros((p.shape[0], h, w), np.float32)
            acc[:, y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] += p
            count[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] += 1
    acc /= count[None]
    return acc


def mask_tiled(forward: Forward, image: np.ndarray, tile: int = TILE,
               confidence: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W) uint8 class indices for an image of any size, tile by tile (tiles overlap by ``TILE_OVERLAP``;
    each pixel is taken from the tile whose centre is nearest): besides the image and the mask, memory is
    bounded by one tile. ``confidence``: also the top class probability per pixel as uint8 (0..255)."""
    h, w = image.shape[:2]
    mask = np.empty((h, w), np.uint8)
    conf = np.empty((h, w), np.uint8) if confidence else None
    for y0, ylo, yhi in owned(tile_starts(h, tile), tile, h):
        for x0, xlo, xhi in owned(tile_starts(w, tile), tile, w):
            p = forward(image[y0:y0 + tile, x0:x0 + tile])[:, ylo - y0:yhi - y0, xlo - x0:xhi - x0]
            mask[ylo:yhi, xlo:xhi] = p.argmax(0)
            if conf is not None:
                conf[ylo:yhi, xlo:xhi] = (p.max(0) * 255 + 0.5).astype(np.uint8)
    return mask, conf


def labels_tiled(forward: Forward, image: np.ndarray) -> np.ndarray:
    """The class of every pixel: from the whole image's class probabilities when it is small enough
    (``MAX_WHOLE_PIXELS``), else tile by tile straight into the mask (memory bounded by a tile)."""
    if image.shape[0] * image.shape[1] <= MAX_WHOLE_PIXELS:
        return probs_tiled(forward, image).argmax(0)
    return mask_tiled(forward, image)[0]
