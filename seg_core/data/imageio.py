"""Reading images (any common format and bit depth) and class-index masks; writing masks."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from seg_core.base.classes import ClassList
from seg_core.base.atomic import atomic_write, atomic_write_bytes
from seg_core.base.limits import LimitError, Limits, limits as current_limits

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pixel counts are checked against ``limits.max_pixels`` from the header before decoding (``_decode``), with a
# message naming the file, the limit and SEG_CORE_MAX_PIXELS; PIL's fixed check (a warning first) is off.
Image.MAX_IMAGE_PIXELS = None

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
MASK_EXTS = (".png", ".gif", ".tif", ".tiff")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and why."""


class ImageTooLarge(ImageReadError, LimitError):
    """The file's header declares more pixels than ``limits.max_pixels``; nothing was decoded."""


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale any numeric array to uint8; 16-bit and float data use a 0.5-99.5 percentile stretch."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = arr.astype(np.float32)
    flat = a.reshape(-1)
    lo, hi = np.percentile(flat[::max(1, flat.size // 4_000_000)], [0.5, 99.5])  # a sample: bounded memory
    if hi <= lo:
        lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return (np.clip((a - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


@dataclass
class ImageHeader:
    """What a file's header says, read without decoding its pixels."""

    width: int
    height: int
    channels: int  # samples per pixel, alpha included
    alpha: bool  # the last channel is transparency
    frames: int = 1  # pages of a TIFF, frames of an animation


_TIFF_OTHER_AXES = "YXSC"


def _tiff_header(tif, name: str) -> ImageHeader:
    """Header of a TIFF's first image (series 0, full resolution); refuses files holding several images."""
    images = [s for s in tif.series if not s.keyframe.is_reduced]  # thumbnails are not images
    if len(images) > 1:
        raise ImageReadError(f"{name}: holds {len(images)} separate images; we read one image per file: save "
                             "each as its own file and import those")
    series = tif.series[0]
    dims = dict(zip(series.axes, series.shape))
    frames = int(np.prod([n for a, n in zip(series.axes, series.shape) if a not in _TIFF_OTHER_AXES]))
    channels = int(dims.get("S", 1) * dims.get("C", 1))
    page = series.keyframe
    extras = tuple(int(e) for e in (page.extrasamples or ()))
    alpha = (1 in extras or 2 in extras) or (int(page.photometric) == 2 and channels == 4)  # RGB + one extra
    return ImageHeader(int(dims.get("X", 1)), int(dims.get("Y", 1)), channels, alpha, frames)


def _tiff_to_hwc(arr: np.ndarray, axes: str) -> np.ndarray:
    """A TIFF series array with single pages squeezed and channels last: (H, W) or (H, W, C)."""
    keep = [i for i, a in enumerate(axes) if a in "YX"] + [i for i, a in enumerate(axes) if a in "SC"]
    rest = [i for i in range(arr.ndim) if i not in keep]  # pages: all of length 1 here (checked before)
    arr = np.transpose(arr, rest + keep)
    arr = arr.reshape(arr.shape[len(rest):])
    if arr.ndim == 4:  # both S and C
        arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
    return arr


def _pil_header(img: Image.Image) -> ImageHeader:
    bands = img.getbands()
    w, h = img.size
    return ImageHeader(w, h, len(bands), "A" in bands or "a" in bands, int(getattr(img, "n_frames", 1) or 1))


def _check_header(hdr: ImageHeader, name: str, lim: Limits) -> None:
    try:
        lim.check_pixels(name, hdr.width, hdr.height)  # the wording lives in limits.py
    except LimitError as err:
        raise ImageTooLarge(str(err), err.setting) from None
    if hdr.frames > 1:
        raise ImageReadError(f"{name}: holds {hdr.frames} pages or frames of {hdr.width}x{hdr.height} (a stack or "
                             "an animation); we read one image per file: save each page as its own file (e.g. "
                             "Fiji: Image > Stacks > Stack to Images) and import those")


def read_header(path: Path, data: bytes | None = None) -> ImageHeader:
    """The file's size, channels and pages from its header alone (nothing is decoded)."""
    name = Path(path).name
    try:
        if Path(path).suffix.lower() in (".tif", ".tiff"):
            import tifffile

            try:
                with tifffile.TiffFile(io.BytesIO(data) if data is not None else path) as tif:
                    return _tiff_header(tif, name)
            except ImageReadError:
                raise
            except Exception:  # not every TIFF flavour is tifffile's; PIL may read it
                pass
        with Image.open(io.BytesIO(data) if data is not None else path) as img:
            return _pil_header(img)
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(f"{name}: file not found") from None
    except Exception as err:
        raise ImageReadError(f"{name}: cannot read image: {_plain(err)}") from None


def _plain(err: Exception) -> str:
    msg = str(err) or type(err).__name__
    if "truncated" in msg.lower():
        return "file is truncated (incomplete download or copy?)"
    if "cannot identify image file" in msg:
        return "not an image in a format we read, or the file is corrupt"
    return msg


def _load_array(path: Path, data: bytes | None = None) -> tuple[np.ndarray, Image.Image | None]:
    """Decode a file (or its bytes) to an array; returns the PIL image too when PIL decoded it. The header
    is checked first (``_decode``): too many pixels or several pages are refused before decoding."""
    arr, img, _ = _decode(path, data)
    return arr, img


def _decode(path: Path, data: bytes | None = None,
            lim: Limits | None = None) -> tuple[np.ndarray, Image.Image | None, ImageHeader]:
    """``_load_array`` with the header it checked (pixels and pages against the limits)."""
    name = Path(path).name
    lim = lim or current_limits()
    src = io.BytesIO(data) if data is not None else path
    suffix = Path(path).suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # we say what is wrong, naming the file
            try:
                tif = tifffile.TiffFile(src)
            except Exception:  # not every TIFF flavour is tifffile's; fall back to PIL
                tif = None
            if tif is not None:
                with tif:
                    hdr = _tiff_header(tif, name)
                    _check_header(hdr, name, lim)
                    series = tif.series[0]
                    try:
                        arr = _tiff_to_hwc(np.asarray(series.asarray()), series.axes)
                        return arr, None, hdr
                    except Exception:  # e.g. a compression tifffile lacks: try PIL
                        pass
            if data is not None:
                src = io.BytesIO(data)
        img = Image.open(src)
        hdr = _pil_header(img)
        _check_header(hdr, name, lim)
        img.load()
        return np.asarray(img), img, hdr
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(f"{name}: file not found") from None
    except MemoryError:
        raise ImageReadError(f"{name}: not enough memory to decode it; lower SEG_CORE_MAX_PIXELS so files this "
                             "large are refused before decoding, or use a smaller image") from None
    except Exception as err:  # PIL raises many types for broken files
        raise ImageReadError(f"{name}: cannot read image: {_plain(err)}") from None


def read_image(path: Path, data: bytes | None = None) -> np.ndarray:
    """Read an image as uint8 RGB (H, W, 3): grayscale is repeated, alpha dropped, 16-bit and float stretched.

    Refused with an ImageReadError naming the file: more pixels than ``limits.max_pixels`` (from the header,
    before decoding), several pages or frames, channels other than gray/RGB (+ alpha), NaN or infinity.
    """
    name = Path(path).name
    arr, img, hdr = _decode(Path(path), data)
    if img is not None and img.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
        arr = np.asarray(img.convert("RGBA" if img.mode == "PA" else "RGB"))
    if arr.ndim == 2:  # (TIFF arrays come channels-last from _tiff_to_hwc)
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ImageReadError(f"{name}: unsupported image shape {arr.shape} (a stack or volume?)")
    channels = arr.shape[-1]
    colour = channels - (1 if hdr.alpha and channels in (2, 4) else 0)
    if colour not in (1, 3):
        raise ImageReadError(f"{name}: has {channels} channels{' (alpha included)' if hdr.alpha else ''}; the "
                             "model reads gray or RGB images: save the 1 or 3 channels you want as their own "
                             "image (e.g. Fiji: Image > Color > Channels Tool / Merge Channels) and import that")
    if arr.dtype.kind == "c" or arr.dtype.kind not in "biuf":
        raise ImageReadError(f"{name}: pixel type {arr.dtype} is not an image we read (use integers or floats)")
    if arr.dtype.kind == "f":
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ImageReadError(f"{name}: holds {bad} NaN or infinite value(s); replace them (e.g. with 0) and "
                                 "import it again")
    arr = arr[..., :colour]
    arr = _to_uint8(arr)
    if colour == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.array(arr, copy=True, order="C")  # writable (PIL's arrays are read-only)


_SIZES: dict[tuple, tuple[int, int] | str] = {}  # (path, bytes, mtime, pixel limit) -> (H, W) or error


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file, the file checked as ``read_image`` checks it. A file over the pixel limit
    is refused from its header, without decoding; others are decoded once (to catch truncation) and the
    answer is remembered for that version of the file, so a page that rescans does not decode again."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageReadError(f"{path.name}: file not found") from None
    key = (str(path), st.st_size, st.st_mtime_ns, current_limits().max_pixels)
    known = _SIZES.get(key)
    if known is None:
        try:
            arr = read_image(path)
            known = arr.shape[:2]
            del arr
        except ImageReadError as err:
            known = str(err)
        if len(_SIZES) > 20000:
            _SIZES.clear()
        _SIZES[key] = known
    if isinstance(known, str):
        raise (ImageTooLarge(known, "max_pixels") if "SEG_CORE_MAX_PIXELS" in known else ImageReadError(known))
    return known


def read_mask_raw(path: Path, classes: ClassList | None = None, data: bytes | None = None) -> np.ndarray:
    """Read a mask's stored values (H, W) as int32 (int64 for wider types), unchanged: negative, 16-bit and
    whole float values included. Palette PNGs by index, RGB masks by class colour; what the values mean is
    for ``mask_values`` to say."""
    arr, img = _load_array(Path(path), data)
    name = Path(path).name
    if img is not None and img.mode == "P":  # "PA" (with alpha) reads as two channels: the alpha is dropped below
        return np.asarray(img, dtype=np.int32)
    if arr.ndim == 3:
        if arr.shape[-1] in (2, 4):  # drop alpha
            arr = arr[..., : arr.shape[-1] - 1]
        if arr.shape[-1] == 1 or np.all(arr == arr[..., :1]):
            arr = arr[..., 0]
        elif classes is not None:
            return _colour_mask_to_index(arr, classes, name)
        else:
            raise ImageReadError(f"{name}: colour mask but no classes.json with class colours to map it")
    if arr.ndim != 2:
        raise ImageReadError(f"{name}: a mask must be a single-channel class-index image, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ImageReadError(f"{name}: mask holds NaN or infinite values; expected class indices")
        if not np.all(np.mod(arr, 1) == 0):
            raise ImageReadError(f"{name}: mask holds fractional values; expected class indices")
        if np.abs(arr).max(initial=0) >= 2 ** 62:
            big = np.unique(arr[np.abs(arr) >= 2 ** 62])[:8].tolist()
            raise ImageReadError(f"{name}: mask holds values {big}, far outside any class index")
    small = arr.dtype.kind in "biu" and arr.dtype.itemsize <= 2 or arr.dtype == np.int32
    return arr.astype(np.int32 if small else np.int64)  # every value as stored: mask_values says what each means


def _colour_mask_to_index(arr: np.ndarray, classes: ClassList, name: str) -> np.ndarray:
    rgb = arr[..., :3].astype(np.int32)
    key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    out = np.full(key.shape, -1, np.int32)
    for idx, (r, g, b) in enumerate(classes.colours):
        out[key == ((r << 16) | (g << 8) | b)] = idx
    if (out < 0).any():
        bad = np.unique(rgb[out < 0].reshape(-1, 3), axis=0)[:3].tolist()
        raise ImageReadError(f"{name}: colours {bad} are not class colours in classes.json")
    return out


def index_mask_png(mask: np.ndarray, classes: ClassList) -> bytes:
    """A class-index mask as palette PNG bytes: pixel values are the indices, the palette the class colours."""
    if mask.max(initial=0) > 255 or mask.min(initial=0) < 0:
        raise ValueError("mask values must lie in 0..255")
    img = Image.fromarray(mask.astype(np.uint8), mode="P")
    img.putpalette(classes.palette())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_index_mask(path: Path, mask: np.ndarray, classes: ClassList) -> None:
    """Write a class-index mask as a palette PNG (``index_mask_png``), atomically."""
    try:
        data = index_mask_png(mask, classes)
    except ValueError as err:
        raise ValueError(f"{Path(path).name}: {err}") from None
    atomic_write_bytes(Path(path), data)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 array as PNG or JPEG (by suffix), atomically."""
    img = Image.fromarray(rgb.astype(np.uint8))
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    atomic_write(Path(path), lambda p: img.save(p, format=fmt))


PALETTE_MODES = ("P", "PA")  # PIL's palette images, without and with alpha: their values are palette indices


def is_palette_mask(path: Path, data: bytes | None = None) -> bool:
    """The mask (file or its bytes) is a palette image (``PALETTE_MODES``), so its values are palette indices
    (header only). The one palette check: scanning a folder and reading an upload both ask it."""
    try:
        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            return im.mode in PALETTE_MODES
    except Exception:  # e.g. a TIFF flavour only tifffile reads: not a palette image
        return False
