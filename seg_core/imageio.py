"""Reading images (any common format and bit depth) and class-index masks; writing masks."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from .classes import ClassList
from .atomic import atomic_write, atomic_write_bytes

ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = 20000 * 20000

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
MASK_EXTS = (".png", ".gif", ".tif", ".tiff")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and why."""


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale any numeric array to uint8; 16-bit and float data use a 0.5-99.5 percentile stretch."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    a = arr.astype(np.float32)
    lo, hi = np.percentile(a, [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return (np.clip((a - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


def _load_array(path: Path, data: bytes | None = None) -> tuple[np.ndarray, Image.Image | None]:
    """Decode a file (or its bytes) to an array; returns the PIL image too when PIL decoded it."""
    name = Path(path).name
    src = io.BytesIO(data) if data is not None else path
    suffix = Path(path).suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            try:
                arr = tifffile.imread(src)
                return np.asarray(arr), None
            except Exception:  # not every TIFF flavour is tifffile's; fall back to PIL
                if data is not None:
                    src = io.BytesIO(data)
        img = Image.open(src)
        img.load()
        return np.asarray(img), img
    except FileNotFoundError:
        raise ImageReadError(f"{name}: file not found") from None
    except Exception as err:  # PIL raises many types for broken files
        msg = str(err) or type(err).__name__
        if "truncated" in msg.lower():
            msg = "file is truncated (incomplete download or copy?)"
        elif "cannot identify image file" in msg:
            msg = "not an image in a format we read, or the file is corrupt"
        raise ImageReadError(f"{name}: cannot read image: {msg}") from None


def read_image(path: Path, data: bytes | None = None) -> np.ndarray:
    """Read an image as uint8 RGB (H, W, 3): grayscale is repeated, alpha dropped, 16-bit stretched."""
    arr, img = _load_array(Path(path), data)
    if img is not None and img.mode == "P":
        arr = np.asarray(img.convert("RGB"))
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # channel-first TIFF
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ImageReadError(f"{Path(path).name}: unsupported image shape {arr.shape} (a stack or volume?)")
    arr = _to_uint8(arr)
    channels = arr.shape[-1]
    if channels == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 2:  # gray + alpha
        arr = np.repeat(arr[..., :1], 3, axis=-1)
    elif channels >= 4:
        arr = arr[..., :3]
    return np.array(arr, copy=True, order="C")  # writable (PIL's arrays are read-only)


def read_mask_raw(path: Path, classes: ClassList | None = None, data: bytes | None = None) -> np.ndarray:
    """Read a mask's stored values (H, W) as int32: palette PNGs by index, RGB masks by class colour."""
    arr, img = _load_array(Path(path), data)
    name = Path(path).name
    if img is not None and img.mode == "P":
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
        if not np.all(np.mod(arr, 1) == 0):
            raise ImageReadError(f"{name}: mask holds fractional values; expected class indices")
    return arr.astype(np.int32)


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
