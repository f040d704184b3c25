"""A tiled pyramidal OME-TIFF written with tifffile: the full-size level as the main image, the smaller levels
as its sub-images (SubIFDs, as QuPath and Bio-Formats read them), compressed tiles, and the pixel size kept
(OME ``PhysicalSizeX/Y`` and the TIFF resolution). Written tile by tile from a ``sample(ys, xs)`` (the nearest
pixel: a mask's class indices are never averaged), so memory holds a tile, and atomically (a half-written file
is never left). A predicted slide's mask is one (uint8 class indices, the slide's own level sizes)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import tifffile

from seg_core.base.atomic import atomic_write

Sample = Callable[[np.ndarray, np.ndarray], np.ndarray]  # rows, columns of the full level -> uint8 (h, w[, 3])


def _tiles(sample: Sample, full: tuple[int, int], size: tuple[int, int], tile: int,
           channels: tuple[int, ...]) -> Iterator[np.ndarray]:
    """The tiles of a level of ``size`` (width, height), row by row, each the nearest pixels of the full
    level (``full``: its width, height); edge tiles padded with 0."""
    (fw, fh), (w, h) = full, size
    for y0 in range(0, h, tile):
        ys = np.minimum(((np.arange(y0, min(h, y0 + tile)) + 0.5) * (fh / h)).astype(np.int64), fh - 1)
        for x0 in range(0, w, tile):
            xs = np.minimum(((np.arange(x0, min(w, x0 + tile)) + 0.5) * (fw / w)).astype(np.int64), fw - 1)
            out = np.zeros((tile, tile) + channels, np.uint8)
            out[:len(ys), :len(xs)] = sample(ys, xs)
            yield out


def write_pyramid(path: Path, sample: Sample, sizes: list[tuple[int, int]], tile: int, pixel_size: float | None,
                  rgb: bool = False, name: str = "", compression: str = "zlib") -> None:
    """Write ``path``: ``sizes`` (width, height) of each level, the first full size; ``rgb``: ``sample`` gives
    (h, w, 3) colours, else (h, w) values; ``pixel_size``: micrometres per full-size pixel (None: not known);
    ``name``: the OME image name."""
    full = sizes[0]
    channels = (3,) if rgb else ()
    meta = {"axes": "YXS" if rgb else "YX"} | ({"Name": name} if name else {})
    if pixel_size:
        meta |= {"PhysicalSizeX": pixel_size, "PhysicalSizeY": pixel_size, "PhysicalSizeXUnit": "µm",
                 "PhysicalSizeYUnit": "µm"}
    kw = dict(tile=(tile, tile), dtype=np.uint8, compression=compression, photometric="rgb" if rgb else "minisblack")

    def resolution(w: int) -> dict:
        um = pixel_size * full[0] / w if pixel_size else None
        return {"resolution": (1e4 / um, 1e4 / um), "resolutionunit": "CENTIMETER"} if um else {}

    def write(tmp: Path) -> None:
        with tifffile.TiffWriter(tmp, bigtiff=True, ome=True) as tw:
            tw.write(_tiles(sample, full, full, tile, channels), shape=(full[1], full[0]) + channels,
                     subifds=len(sizes) - 1, metadata=meta, **resolution(full[0]), **kw)
            for w, h in sizes[1:]:
                tw.write(_tiles(sample, full, (w, h), tile, channels), shape=(h, w) + channels, subfiletype=1,
                         **resolution(w), **kw)

    atomic_write(Path(path), write)


def write_mask_pyramid(path: Path, sample: Sample, sizes: list[tuple[int, int]], tile: int,
                       pixel_size: float | None, class_names: list[str]) -> None:
    """A predicted mask's pyramid: uint8 class indices, its classes named in the OME image name."""
    write_pyramid(path, sample, sizes, tile, pixel_size,
                  name="classes: " + ", ".join(f"{i}={n}" for i, n in enumerate(class_names)))


def read_mask_level(path: Path, level: int = -1) -> np.ndarray:
    """One level of a mask pyramid written here (the last: the smallest), whole."""
    with tifffile.TiffFile(path) as tf:
        levels = tf.series[0].levels
        return levels[level].asarray()


def read_mask_region(path: Path, x: int, y: int, w: int, h: int) -> np.ndarray:
    """The box (x, y, w, h) of a mask pyramid's full-size level, reading only its tiles (zarr)."""
    import zarr

    with tifffile.TiffFile(path) as tf:
        store = tf.series[0].aszarr(level=0)
        arr = zarr.open(store, mode="r")
        return np.asarray(arr[y:y + h, x:x + w])
