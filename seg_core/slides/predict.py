"""A whole slide predicted tile by tile at a chosen level: tissue found on the overview (``tissue``) so glass
is skipped, each tile with tissue read with a margin of context around it, predicted, and kept on disk
(``store``: an interrupted prediction resumes at the next tile not done), then written as a tiled pyramidal
OME-TIFF of the slide's levels (``pyramid``). Memory holds a tile and its margin whatever the slide's size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.base.progress import Steps
from seg_core.slides.pyramid import write_mask_pyramid
from seg_core.slides.reader import Slide
from seg_core.slides.store import Grid, TileStore
from seg_core.slides.tissue import tiles_with_tissue, tissue_mask

WORK_TILE = 2048  # pixels a side predicted at once (as a 2048 x 2048 image would be)
MARGIN = 32  # context read around each tile, its prediction dropped
OUT_TILE = 512  # the mask file's tiles when the slide's own cannot be used


@dataclass
class SlidePrediction:
    """What ``predict_slide`` did: the mask file, the store of its tiles (for counting objects), counts."""

    mask: Path
    store: TileStore
    level: int
    tiles: int  # tiles with tissue
    skipped: int  # tiles of glass, not predicted
    resumed: int  # tiles found done from an earlier, interrupted prediction
    seconds: float
    pixel_size: float | None  # micrometres per pixel of the predicted level

    def row(self, name: str, out: Path) -> dict:
        return {"image": name, "mask": str(self.mask.relative_to(out)), "level": self.level, "tiles": self.tiles,
                "glass_tiles_skipped": self.skipped, "tiles_resumed": self.resumed, "seconds": round(self.seconds, 3)}


def _confidence(p) -> np.ndarray:
    top = p.top_probability()
    if top is None:
        return np.full(p.mask.shape, 255, np.uint8)
    return top if top.dtype == np.uint8 else (np.clip(top, 0, 1) * 255 + 0.5).astype(np.uint8)


def mask_path(out: Path, slide: Slide) -> Path:
    return Path(out) / "masks" / f"{slide.stem}.ome.tif"


def predict_slide(slide: Slide, predict: Callable, classes: ClassList, out: Path, level: int = 0,
                  model_id: str = "", tissue: bool = True, tile: int = WORK_TILE, margin: int = MARGIN,
                  progress=None, cancel=None) -> SlidePrediction:
    """Predict ``slide`` at ``level`` with ``predict`` (an RGB uint8 image -> a ``Prediction``) into
    ``out/masks/<stem>.ome.tif``. ``model_id`` names the model (a store of another model's tiles is not
    resumed); ``tissue``: skip tiles of glass. ``progress`` gets a count of tiles; when ``cancel`` is set it
    stops before the next tile and raises ``Cancelled``: the tiles done stay on disk and the same call resumes."""
    t0 = time.perf_counter()
    if not 0 <= level < len(slide.levels):
        raise ValueError(f"{slide.name}: has levels 0 to {len(slide.levels) - 1}, not {level}")
    lv = slide.levels[level]
    grid = Grid(lv.width, lv.height, tile)
    out = Path(out)
    target = mask_path(out, slide)
    store = TileStore(target.parent / f".{slide.stem}.tiles", grid,
                      {"slide": str(slide.path.resolve()), "level": level, "margin": margin, "model": model_id})
    cells = grid.cells()
    if tissue:
        overview, ds = slide.overview()
        keep = tiles_with_tissue(tissue_mask(overview), ds / lv.downsample, [grid.box(r, c) for r, c in cells])
    else:
        keep = [True] * len(cells)
    todo = [rc for rc, k in zip(cells, keep) if k]
    resumed = sum(store.done(r, c) for r, c in todo)
    steps = Steps(progress, cancel, len(todo), "tiles predicted", stage=slide.name)
    steps.done = resumed
    for r, c in todo:
        if store.done(r, c):
            continue
        steps.check(lambda: f"{slide.name}: cancelled after {steps.done} of {len(todo)} tiles; the tiles done are "
                            f"kept in {store.folder}: run the same prediction again to go on from there")
        x0, y0, x1, y1 = grid.box(r, c)
        ex0, ey0 = max(0, x0 - margin), max(0, y0 - margin)
        ex1, ey1 = min(lv.width, x1 + margin), min(lv.height, y1 + margin)
        p = predict(slide.read(ex0, ey0, ex1 - ex0, ey1 - ey0, level))
        inner = (slice(y0 - ey0, y1 - ey0), slice(x0 - ex0, x1 - ex0))
        store.save(r, c, p.mask[inner], _confidence(p)[inner])
        steps.tick(f"tile {r},{c}")
    sizes = [(lv2.width, lv2.height) for lv2 in slide.levels[level:]]
    pixel_size = slide.mpp * lv.downsample if slide.mpp else None
    out_tile = slide.tile[0] if slide.tile[0] >= 16 and slide.tile[0] % 16 == 0 else OUT_TILE
    write_mask_pyramid(target, store.sample, sizes, out_tile, pixel_size, classes.names)
    return SlidePrediction(target, store, level, len(todo), len(cells) - len(todo), resumed,
                           time.perf_counter() - t0, pixel_size)
