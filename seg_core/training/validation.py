"""What a run validates on: the held-out images, whole, or as a bounded sample of tiles when they are large.

Each held-out image is one unit when it is small enough to predict whole (``sliding_window.MAX_WHOLE_PIXELS``),
else a grid of ``TILE`` x ``TILE`` tiles (the last ones in a row or column shifted to end at the image's edge),
each its own unit. The units are ordered so any prefix spreads over the images: each image's tiles in a seeded
random order, the images taken in turn. Under a time budget the first validation scores units in that order
until its share of the budget is spent (``share_s``), and every later validation of the run scores the same
units, so the scores compare; without a budget every unit is scored. ``describe`` says which (the Train page
shows it): "all 8 held-out images", or "37 tiles of 512x512 from 40 held-out images (of 640 tiles)".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seg_core.infer.sliding_window import MAX_WHOLE_PIXELS

TILE = 512
SHARE = 0.05  # of the time budget, one validation at most
MIN_SHARE_S = 2.0  # but at least this long (at least one unit is always scored)


@dataclass(frozen=True)
class Unit:
    image: int  # position in the held-out images
    window: tuple[int, int, int, int]  # (y0, x0, h, w)
    whole: bool = False  # the window is the whole image

    @property
    def pixels(self) -> int:
        return self.window[2] * self.window[3]


def _starts(size: int, tile: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile))
    return starts + [size - tile]


def plan(sizes: list[tuple[int, int]], seed: int, tile: int = TILE, whole: int = MAX_WHOLE_PIXELS) -> list[Unit]:
    """The validation units of images of ``sizes`` ((H, W) each), in the order they are scored."""
    rng = np.random.default_rng(seed)
    per_image = []
    for i, (h, w) in enumerate(sizes):
        if h * w <= whole:
            per_image.append([Unit(i, (0, 0, h, w), whole=True)])
            continue
        tiles = [Unit(i, (y, x, min(tile, h), min(tile, w))) for y in _starts(h, tile) for x in _starts(w, tile)]
        per_image.append([tiles[j] for j in rng.permutation(len(tiles))])
    out = []
    for k in range(max((len(t) for t in per_image), default=0)):
        out += [t[k] for t in per_image if k < len(t)]
    return out


def share_s(time_budget: float | None) -> float | None:
    """Seconds one validation may take under ``time_budget`` (None: no bound)."""
    return None if not time_budget else max(MIN_SHARE_S, SHARE * time_budget)


def describe(units: list[Unit], used: int, images: int) -> str:
    """Which held-out pixels the scores come from, in words."""
    if not units:
        return "no held-out images"
    tiles = [u for u in units if not u.whole]
    if not tiles and used >= len(units):
        return f"all {images} held-out image{'s' * (images != 1)}"
    whole = used >= len(units)
    sizes = {(u.window[2], u.window[3]) for u in units[:used] if not u.whole}
    tile = f"{max(sizes)[0]}x{max(sizes)[1]}" if sizes else f"{TILE}x{TILE}"
    seen = len({u.image for u in units[:used]})
    n_tiles = sum(not u.whole for u in units[:used])
    parts = [f"{n_tiles} tile{'s' * (n_tiles != 1)} of up to {tile}"] if n_tiles else []
    n_whole = used - n_tiles
    if n_whole:
        parts.append(f"{n_whole} whole image{'s' * (n_whole != 1)}")
    text = " and ".join(parts) + f" from {seen} of {images} held-out image{'s' * (images != 1)}"
    if not whole:
        text += f" (a sample of {used} of {len(units)} parts, to keep validation within the time budget)"
    return text


def cut(image: np.ndarray, mask: np.ndarray, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """The unit's part of an (image, mask) pair."""
    if unit.whole:
        return image, mask
    y, x, h, w = unit.window
    return image[y:y + h, x:x + w], mask[y:y + h, x:x + w]
