"""A slide's objects, counted tile by tile from its predicted tiles (``store``), each object once.

Each tile is read with a margin around it (``MARGIN`` pixels); its objects are found and measured as in one
image (``seg_core.objects``), and an object is kept by the one tile whose core holds its first pixel (row by row:
on its outer edge, so also a ring whose centre is empty). An object cut by the edge of what was read (larger
than the margin) is followed: the window around it grows until it holds the whole object, which is then measured
whole; an object in the hole of one followed so is part of it, as one image fills that hole. So the objects equal
those of the same pixels as one image (the touching objects' separation, ``--split-touching``, measures the
typical object per tile, so with it counts may differ slightly). Positions (centroid, bounding box) are in
full-resolution slide pixels; sizes in pixels of the predicted level (and micrometres with a pixel size).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from shapely import affinity

from seg_core.base.limits import limits
from seg_core.base.progress import Steps
from seg_core.exchange.outlines import outline
from seg_core.objects.instances import Objects, label_objects
from seg_core.objects.measure import measure_objects
from seg_core.objects.settings import ObjectSettings
from seg_core.slides.store import TileStore

MARGIN = 128
POSITIONS = ("centroid_y", "centroid_x", "bbox_min_y", "bbox_min_x", "bbox_max_y", "bbox_max_x")
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the predicted level's pixels
Pixels = tuple[int, int, np.ndarray]  # an object's top row, left column (level pixels) and its True pixels there


class _Windows:
    """Objects of windows of the level: found as in one image, measured, in level coordinates."""

    def __init__(self, store: TileStore, read_image, class_names: list[str], settings: ObjectSettings, name: str):
        self.store, self.read_image, self.names, self.name = store, read_image, class_names, name
        self.settings = replace(settings, min_confidence=0.0)  # faint ones judged once, by the tile keeping them
        self.followed: list[tuple[int, int, np.ndarray, pd.Series, float]] = []  # objects measured whole

    def find(self, box: Box) -> tuple[Objects, pd.DataFrame, np.ndarray] | None:
        """The window's objects, their table (positions moved to the level's) and each one's peak confidence."""
        x0, y0, x1, y1 = box
        mask, conf = self.store.read(x0, y0, x1, y1)
        if not mask.any():
            return None
        objs = label_objects(mask, None, self.settings, len(self.names), conf)
        if not len(objs):
            return None
        table = measure_objects(objs, self.read_image(x0, y0, x1 - x0, y1 - y0), self.names, self.name,
                                self.settings.pixel_size)
        for col in POSITIONS:
            table[col] = table[col] + (y0 if col.endswith("_y") else x0)
        peak = np.asarray(ndi.maximum(conf, objs.labels, index=table["object"].to_numpy()), np.float32) / 255.0
        return objs, table, peak

    def cut(self, table: pd.DataFrame, box: Box) -> np.ndarray:
        """Which objects touch an edge of ``box`` that is not the level's edge (seen in part)."""
        x0, y0, x1, y1 = box
        g = self.store.grid
        return (((table["bbox_min_x"] == x0) & (x0 > 0)) | ((table["bbox_min_y"] == y0) & (y0 > 0))
                | ((table["bbox_max_x"] == x1) & (x1 < g.width)) | ((table["bbox_max_y"] == y1) & (y1 < g.height))
                ).to_numpy()

    def whole(self, row: pd.Series, seed: tuple[int, int], margin: int) -> tuple[pd.Series, float, Pixels] | None:
        """The object seen in part as ``row`` (``seed``: one of its pixels, level coordinates), measured whole:
        the window grows around it until it holds all of it (None past the pixel limit: left as seen); its row,
        peak confidence and pixels."""
        for oy, ox, pixels, known, top in self.followed:  # followed already from another tile
            y, x = seed[0] - oy, seed[1] - ox
            if 0 <= y < pixels.shape[0] and 0 <= x < pixels.shape[1] and pixels[y, x]:
                return known, top, (oy, ox, pixels)
        g = self.store.grid
        box = (int(row["bbox_min_x"]), int(row["bbox_min_y"]), int(row["bbox_max_x"]), int(row["bbox_max_y"]))
        while True:
            margin *= 2
            box = (max(0, box[0] - margin), max(0, box[1] - margin), min(g.width, box[2] + margin),
                   min(g.height, box[3] + margin))
            if (box[2] - box[0]) * (box[3] - box[1]) > limits().max_pixels:
                return None
            found = self.find(box)
            lab = found[0].labels[seed[0] - box[1], seed[1] - box[0]] if found else 0
            if not lab:
                return None
            objs, table, peak = found
            r = table.iloc[lab - 1]
            if not self.cut(table.iloc[[lab - 1]], box)[0]:
                oy, ox = int(r["bbox_min_y"]), int(r["bbox_min_x"])
                pixels = objs.labels[oy - box[1]:int(r["bbox_max_y"]) - box[1], ox - box[0]:int(r["bbox_max_x"]) - box[0]]
                self.followed.append((oy, ox, pixels == lab, r, float(peak[lab - 1])))
                return r, float(peak[lab - 1]), (oy, ox, pixels == lab)
            box = (int(r["bbox_min_x"]), int(r["bbox_min_y"]), int(r["bbox_max_x"]), int(r["bbox_max_y"]))


def slide_objects(store: TileStore, read_image: Callable[[int, int, int, int], np.ndarray], class_names: list[str],
                  settings: ObjectSettings, name: str, downsample: float = 1.0, margin: int = MARGIN,
                  progress=None, cancel=None, outlines: list | None = None) -> tuple[pd.DataFrame, int]:
    """The objects table of the slide ``name`` (one row per object, ids 1..N over the slide) and how many faint
    regions were left out. ``read_image(x, y, w, h)``: the slide's pixels at the predicted level;
    ``downsample``: full-resolution pixels per pixel of that level. ``outlines``, when given, gets each
    object's outline (shapely, in full-resolution slide pixels, ``exchange.outlines``), in the table's order."""
    grid = store.grid
    windows = _Windows(store, read_image, class_names, settings, name)
    cells = [rc for rc in grid.cells() if store.done(*rc)]
    steps = Steps(progress, cancel, len(cells), "tiles measured", stage=name)
    # each object's row, peak, first pixel, pixels (for its outline, when asked) and whether it was followed whole
    kept: list[tuple[pd.Series, float, tuple[int, int], Pixels | None, bool]] = []
    for r, c in cells:
        steps.check(f"{name}: cancelled while counting objects; nothing of it was written")
        x0, y0, x1, y1 = grid.box(r, c)
        box = (max(0, x0 - margin), max(0, y0 - margin), min(grid.width, x1 + margin), min(grid.height, y1 + margin))
        found = windows.find(box)
        if found is None:
            steps.tick()
            continue
        objs, table, peak = found
        cut = windows.cut(table, box)
        slices = ndi.find_objects(objs.labels)
        for i in range(len(table)):
            row, top, followed = table.iloc[i], float(peak[i]), False
            sl = slices[i]
            pixels = (sl[0].start + box[1], sl[1].start + box[0], objs.labels[sl] == i + 1)
            if cut[i]:  # seen in part: followed where it touches this tile's core
                if (sl[0].stop + box[1] <= y0 or sl[0].start + box[1] >= y1 or sl[1].stop + box[0] <= x0
                        or sl[1].start + box[0] >= x1):
                    continue
                got = windows.whole(row, _first_pixel(pixels), margin)
                if got is not None:
                    row, top, pixels = got
                    followed = True
            y, x = _first_pixel(pixels)  # the same pixel from every tile that sees the object whole
            if not (y0 <= y < y1 and x0 <= x < x1):
                continue
            kept.append((row, top, (y, x), pixels if outlines is not None else None, followed))
        steps.tick()
    rows, faint = [], 0
    for row, top, first, pixels, followed in kept:
        if not followed and _enclosed(first, row["class"], windows.followed):
            continue  # in a hole of an object larger than its window: as one image, it is part of that object
        if settings.min_confidence > 0 and top < settings.min_confidence:
            faint += 1
            continue
        rows.append(row)
        if outlines is not None:
            outlines.append(_outline(pixels, downsample))
    empty = measure_objects(label_objects(np.zeros((1, 1), np.uint8), None, settings, len(class_names)),
                            np.zeros((1, 1, 3), np.uint8), class_names, name, settings.pixel_size)
    table = pd.DataFrame(rows, columns=empty.columns).reset_index(drop=True) if rows else empty
    table["object"] = np.arange(1, len(table) + 1, dtype=np.int64)
    if downsample != 1:  # in the slide's full-resolution pixels
        for col in POSITIONS:
            table[col] = table[col] * downsample if col.startswith("centroid") else (
                table[col] * downsample).round().astype(np.int64)
    return table.astype({c: np.int64 for c in POSITIONS[2:]}), faint


def _first_pixel(pixels: Pixels) -> tuple[int, int]:
    """An object's first pixel, row by row (level coordinates): on its outer edge, never in a hole."""
    top, left, mask = pixels
    k = int(np.argmax(mask.ravel()))
    return top + k // mask.shape[1], left + k % mask.shape[1]


def _enclosed(first: tuple[int, int], cls: str, followed: list) -> bool:
    """Whether an object (its ``_first_pixel``) lies within an object of its class followed whole
    (``_Windows.followed``), holes filled: one image, where that object's holes are filled, has no object there of
    its own."""
    y, x = first
    for oy, ox, inside, known, _ in followed:
        if known["class"] == cls and 0 <= y - oy < inside.shape[0] and 0 <= x - ox < inside.shape[1] \
                and inside[y - oy, x - ox] and _first_pixel((oy, ox, inside)) != first:  # not the object itself
            return True
    return False


def _outline(pixels: Pixels, downsample: float):
    """An object's outline in full-resolution slide pixels (QuPath's coordinates for a slide)."""
    top, left, mask = pixels
    shape = outline(mask, top, left)
    return affinity.scale(shape, downsample, downsample, origin=(0, 0)) if downsample != 1 else shape


def slide_summary(table: pd.DataFrame, class_names: list[str], name: str, area: int,
                  pixel_size: float | None) -> pd.DataFrame:
    """Per class other than the background: its objects' count, the area they cover (pixels of the predicted
    level, square micrometres with a pixel size) and its fraction of the slide's ``area``."""
    rows = []
    for cname in class_names[1:]:
        mine = table[table["class"] == cname]
        covered = int(mine["area_px"].sum())
        rows.append({"image": name, "class": cname, "count": len(mine), "area_px": covered}
                    | ({"area_um2": covered * pixel_size ** 2} if pixel_size is not None else {})
                    | {"area_fraction": covered / area})
    return pd.DataFrame(rows)
