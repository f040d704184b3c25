"""A slide's prediction kept tile by tile on disk while it runs, so an interrupted prediction resumes where it
stopped and memory never holds more than a few tiles: ``OUT/masks/.<stem>.tiles/`` holds ``meta.json`` (what
was predicted: the slide, its size, the level, the tile, the model) and per tile with tissue ``r<R>_c<C>.npz``
(its class indices and the predicted class's probability as 0..255), each written whole (atomically). A tile
whose file exists is done; a tile without tissue holds background. A store whose ``meta.json`` differs from
the prediction asked for (another model, level or slide) is started afresh.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from seg_core.base.atomic import atomic_write


@dataclass(frozen=True)
class Grid:
    """A level of ``width`` x ``height`` pixels cut into ``tile`` x ``tile`` squares (the last ones smaller)."""

    width: int
    height: int
    tile: int

    @property
    def rows(self) -> int:
        return -(-self.height // self.tile)

    @property
    def cols(self) -> int:
        return -(-self.width // self.tile)

    def box(self, r: int, c: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of tile (r, c)."""
        t = self.tile
        return c * t, r * t, min(self.width, (c + 1) * t), min(self.height, (r + 1) * t)

    def cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.rows) for c in range(self.cols)]


class TileStore:
    def __init__(self, folder: Path, grid: Grid, meta: dict):
        self.folder, self.grid = Path(folder), grid
        self.meta = meta | {"width": grid.width, "height": grid.height, "tile": grid.tile}
        meta_file = self.folder / "meta.json"
        try:
            old = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            old = None
        if old != self.meta:  # another prediction's tiles (or none): start afresh
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            atomic_write(meta_file, lambda p: p.write_text(json.dumps(self.meta)))
        self._load = lru_cache(maxsize=48)(self._read_tile)

    def _file(self, r: int, c: int) -> Path:
        return self.folder / f"r{r}_c{c}.npz"

    def done(self, r: int, c: int) -> bool:
        return self._file(r, c).is_file()

    def save(self, r: int, c: int, mask: np.ndarray, confidence: np.ndarray) -> None:
        x0, y0, x1, y1 = self.grid.box(r, c)
        assert mask.shape == confidence.shape == (y1 - y0, x1 - x0)
        atomic_write(self._file(r, c), lambda p: np.savez(str(p), mask=mask.astype(np.uint8),
                                                          confidence=confidence.astype(np.uint8)))
        self._load.cache_clear()

    def _read_tile(self, r: int, c: int) -> tuple[np.ndarray, np.ndarray] | None:
        f = self._file(r, c)
        if not f.is_file():
            return None
        with np.load(f) as z:
            return z["mask"], z["confidence"]

    def sample(self, ys: np.ndarray, xs: np.ndarray, confidence: bool = False) -> np.ndarray:
        """The class indices (or the confidence) at rows ``ys`` x columns ``xs`` of the level (0 where no tile
        was predicted: glass)."""
        t = self.grid.tile
        out = np.zeros((len(ys), len(xs)), np.uint8)
        rt, ct = ys // t, xs // t
        for r in np.unique(rt):
            ri = np.flatnonzero(rt == r)
            for c in np.unique(ct):
                ci = np.flatnonzero(ct == c)
                got = self._load(int(r), int(c))
                if got is not None:
                    out[np.ix_(ri, ci)] = got[int(confidence)][np.ix_(ys[ri] - r * t, xs[ci] - c * t)]
        return out

    def read(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """The class indices and confidence of the box (x0, y0)-(x1, y1) of the level."""
        ys, xs = np.arange(y0, y1), np.arange(x0, x1)
        return self.sample(ys, xs), self.sample(ys, xs, confidence=True)

    def remove(self) -> None:
        self._load.cache_clear()
        shutil.rmtree(self.folder, ignore_errors=True)
