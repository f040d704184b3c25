"""A whole slide (or any tiled, pyramidal image) opened without reading its pixels: tiffslide reads the header
of an SVS, NDPI, SCN or pyramidal (OME-)TIFF file (its levels through tifffile's pyramid access) and then only
the tiles a region needs. Levels, tile size and pixel size come from the file.

A file is a *slide* when it is tiled and holds more pixels than ``SEG_CORE_MAX_PIXELS`` (``base.limits``): it
is then never read whole; the pixel limit bounds what is read at once (a region, a prediction tile).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.limits import limits, pixels_text
from seg_core.data.stacks.files import file_stem, file_suffix

SLIDE_EXTS = (".svs", ".ndpi", ".scn", ".tif", ".tiff")  # what tiffslide opens
NEEDS_OPENSLIDE = (".mrxs", ".vms", ".vmu", ".bif")  # formats only OpenSlide reads
OVERVIEW_SIDE = 2048  # the longest side of an overview


def slide_stem(name: str) -> str:
    """A slide's name without its suffix and without ``.ome`` (``s1.ome.tif`` -> ``s1``)."""
    stem = file_stem(name)
    return stem[:-4] if stem.lower().endswith(".ome") else stem


@dataclass
class Level:
    width: int
    height: int
    downsample: float  # level 0 pixels per pixel of this level


@dataclass
class Slide:
    """An open slide: ``levels[0]`` is full resolution; ``tile`` (width, height) of the file's tiles; ``mpp``
    micrometres per level-0 pixel (None when the file does not say)."""

    path: Path
    levels: list[Level]
    tile: tuple[int, int]
    mpp: float | None
    vendor: str = ""
    _handle: object = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return slide_stem(self.path.name)

    @property
    def width(self) -> int:
        return self.levels[0].width

    @property
    def height(self) -> int:
        return self.levels[0].height

    def describe(self) -> str:
        """"40000x40000 pixels, 4 levels (1, 4, 16, 64), tiles 256x256, 0.25 µm/pixel"."""
        downs = ", ".join(f"{lv.downsample:g}" for lv in self.levels)
        return (f"{self.width}x{self.height} pixels, {len(self.levels)} level(s) ({downs}), tiles "
                f"{self.tile[0]}x{self.tile[1]}" + (f", {self.mpp:g} µm/pixel" if self.mpp else ""))

    def read(self, x: int, y: int, w: int, h: int, level: int = 0) -> np.ndarray:
        """(h, w, 3) uint8 RGB of the region whose top left is (x, y) in ``level``'s pixels; what lies outside
        the slide reads black. At most ``SEG_CORE_MAX_PIXELS`` pixels at once."""
        if w <= 0 or h <= 0:
            raise ValueError(f"{self.name}: a region needs a width and height of at least 1 pixel, not {w}x{h}")
        lim = limits()
        if w * h > lim.max_pixels:
            raise ValueError(f"{self.name}: a region of {w}x{h} = {pixels_text(w * h)} is more than is read at "
                             f"once ({pixels_text(lim.max_pixels)}); pick a smaller region, or raise the limit "
                             f"with the environment variable SEG_CORE_MAX_PIXELS (now {lim.max_pixels})")
        ds = self.levels[level].downsample
        try:  # tiffslide takes the top left in level-0 pixels and the size in the level's
            arr = self._handle.read_region((int(round(x * ds)), int(round(y * ds))), level, (w, h),
                                           as_array=True, padding=True)
        except Exception as err:
            raise ValueError(f"{self.name}: cannot read the region {x},{y} {w}x{h} at level {level}: {err}") from None
        return _rgb(arr)

    def overview(self, max_side: int = OVERVIEW_SIDE) -> tuple[np.ndarray, float]:
        """The whole slide small: the smallest level at least ``max_side`` on its longest side (or the lowest
        level), scaled down to ``max_side``; with its downsample (level-0 pixels per overview pixel)."""
        fits = [i for i, lv in enumerate(self.levels) if max(lv.width, lv.height) >= max_side]
        i = fits[-1] if fits else 0
        lv = self.levels[i]
        arr = _rgb(np.asarray(self._handle.read_region((0, 0), i, (lv.width, lv.height), as_array=True)))
        scale = min(1.0, max_side / max(lv.width, lv.height))
        if scale < 1.0:
            import cv2

            arr = cv2.resize(arr, (max(1, round(lv.width * scale)), max(1, round(lv.height * scale))),
                             interpolation=cv2.INTER_AREA)
        return arr, self.width / arr.shape[1]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> "Slide":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _rgb(arr: np.ndarray) -> np.ndarray:
    """RGB uint8 from what a level holds (RGBA, gray, 16-bit)."""
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        hi = float(arr.max()) or 1.0
        arr = (arr.astype(np.float32) * (255.0 / hi) + 0.5).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def open_slide(path: Path) -> Slide:
    """Open ``path`` lazily (its header only). A format only OpenSlide reads, a file that is not a tiled
    image, or one tiffslide cannot read is a ValueError naming the file."""
    import tiffslide

    path = Path(path)
    suffix = file_suffix(path.name)
    if suffix in NEEDS_OPENSLIDE:
        raise ValueError(f"{path.name}: {suffix} slides are read by OpenSlide, which is not installed here; "
                         "convert the slide to pyramidal OME-TIFF (e.g. with QuPath or bfconvert) and use that")
    if not path.is_file():
        raise ValueError(f"{path.name}: file not found ({path})")
    try:
        handle = tiffslide.TiffSlide(path)
    except Exception as err:
        raise ValueError(f"{path.name}: cannot open it as a slide (a tiled, pyramidal image): {err}") from None
    props = handle.properties
    levels = [Level(int(w), int(h), float(d)) for (w, h), d in zip(handle.level_dimensions, handle.level_downsamples)]
    tile = (int(props.get("tiffslide.level[0].tile-width") or 0), int(props.get("tiffslide.level[0].tile-height") or 0))
    mpp = props.get("tiffslide.mpp-x")
    return Slide(path, levels, tile, float(mpp) if mpp else None, str(props.get("tiffslide.vendor") or ""), handle)


def is_slide(path: Path) -> bool:
    """Whether ``path`` is read as a slide: a tiled image file (from its header) of more pixels than
    ``SEG_CORE_MAX_PIXELS``. Files that are not tiled, small ones and unreadable ones are not slides (reading
    them as one image says what is wrong)."""
    path = Path(path)
    if file_suffix(path.name) not in SLIDE_EXTS + NEEDS_OPENSLIDE or not path.is_file():
        return False
    if file_suffix(path.name) in NEEDS_OPENSLIDE:
        return True  # opening it says how to convert it
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.series[0].levels[0].keyframe
            tiled = bool(page.is_tiled)
            w, h = int(page.imagewidth), int(page.imagelength)
    except Exception:
        return False
    return tiled and w * h > limits().max_pixels


def slide_files(folder: Path) -> list[Path]:
    """The slides of a folder (``is_slide``), hidden files left out."""
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".") and is_slide(p))
