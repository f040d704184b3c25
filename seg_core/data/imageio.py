"""Reading images (any common format and bit depth) and class-index masks; writing masks."""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from seg_core.base.classes import ClassList
from seg_core.base.atomic import atomic_write, atomic_write_bytes
from seg_core.base.limits import LimitError, Limits, limits as current_limits
from seg_core.data.errors import ImageReadError, ImageTooLarge
from seg_core.data.display import display_rgb
from seg_core.data.intensities import Intensities
from seg_core.data.model_input import MAX_CHANNELS, ModelInput, channel_names
from seg_core.data.stacks.files import NIFTI_SUFFIXES, TIFF_SUFFIXES, StackFile, StackHeader, file_stem, \
    file_suffix, read_stack_header
from seg_core.data.stacks.planes import Plane

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pixel counts are checked against ``limits.max_pixels`` from the header before decoding (``_decode``), with a
# message naming the file, the limit and SEG_CORE_MAX_PIXELS; PIL's fixed check (a warning first) is off.
Image.MAX_IMAGE_PIXELS = None

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".nii", ".nii.gz")
MASK_EXTS = (".png", ".gif", ".tif", ".tiff", ".nii", ".nii.gz")  # suffixes as ``stacks.file_suffix`` gives them


def stretch_to_uint8(arr: np.ndarray) -> np.ndarray:
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
    frames: int = 1  # planes of a stack, frames of an animation
    extra_bands: int = 0  # TIFF bands tagged as extra samples that are not transparency (e.g. near-infrared)
    stack: StackHeader | None = None  # a TIFF or NIfTI file's axes and planes
    rgb: bool = False  # the file says its first three channels are red, green and blue
    file_names: tuple[str, ...] = ()  # the file's own channel names (OME, ImageJ labels), when it has them

    @classmethod
    def of_plane(cls, hdr: StackHeader) -> "ImageHeader":
        """The header of one plane of the stack ``hdr``."""
        return cls(hdr.width, hdr.height, hdr.channels, hdr.alpha, 1, hdr.extra_bands, None, hdr.rgb,
                   hdr.channel_names)

    @property
    def colour_channels(self) -> int:
        """Channels without the alpha (``colour_values``)."""
        return self.channels - (1 if self.alpha and self.channels in (2, 4) else 0)

    @property
    def names(self) -> tuple[str, ...]:
        """THE NAMES of the image's channels, alpha left out (``model_input.channel_names``: the file's own, else
        red/green/blue, gray, or channel 1..N)."""
        return channel_names(self.colour_channels, self.rgb, self.file_names)


def _from_stack(hdr: StackHeader) -> ImageHeader:
    return ImageHeader(hdr.width, hdr.height, hdr.channels, hdr.alpha, hdr.planes, hdr.extra_bands, hdr, hdr.rgb,
                       hdr.channel_names)


AS_RGB = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1")  # PIL modes converted to RGB (PA: RGBA) when read
COLOUR_MODES = ("RGB", "RGBA", "RGBX", "RGBa") + AS_RGB  # PIL modes whose channels are red, green, blue


def _pil_header(img: Image.Image) -> ImageHeader:
    bands = img.getbands()
    w, h = img.size
    frames = int(getattr(img, "n_frames", 1) or 1)
    if img.mode in AS_RGB:  # read as RGB (``read_raw``)
        return ImageHeader(w, h, 4 if img.mode == "PA" else 3, img.mode == "PA", frames, rgb=True)
    return ImageHeader(w, h, len(bands), "A" in bands or "a" in bands, frames, rgb=img.mode in COLOUR_MODES)


def _check_header(hdr: ImageHeader, name: str, lim: Limits) -> None:
    try:
        lim.check_pixels(name, hdr.width, hdr.height)  # the wording lives in limits.py
    except LimitError as err:
        raise ImageTooLarge(str(err), err.setting) from None
    if hdr.frames > 1 and hdr.stack is not None:
        raise ImageReadError(f"{name}: is a stack of {hdr.frames} planes ({hdr.stack.describe()}); one image is "
                             "read here: put it in a data folder's images/ or import it into a project, where each "
                             "plane is an image of its own (named like " + ", ".join(
                                 f"{file_stem(name)}_{lb}" for lb in hdr.stack.labels()[:2]) + ", ...)")
    if hdr.frames > 1:
        raise ImageReadError(f"{name}: holds {hdr.frames} pages or frames of {hdr.width}x{hdr.height} (an "
                             "animation); we read one image per file: save each frame as its own file and import "
                             "those")


def _stack_header(path: Path, data: bytes | None, lim: Limits) -> StackHeader | None:
    """The TIFF or NIfTI header (``stacks.StackFile``); None for a TIFF flavour tifffile does not read (PIL may)."""
    if file_suffix(Path(path).name) not in TIFF_SUFFIXES + NIFTI_SUFFIXES:
        return None
    try:
        return read_stack_header(Path(path), data, lim)
    except ImageReadError as err:
        if file_suffix(Path(path).name) in TIFF_SUFFIXES and "cannot read it as TIFF" in str(err):
            return None  # not every TIFF flavour is tifffile's; PIL may read it
        raise


def read_header(path: Path, data: bytes | None = None) -> ImageHeader:
    """The file's size, channels and planes from its header alone (nothing is decoded); a stack's pixels over
    all its planes are checked against the limit."""
    name = Path(path).name
    try:
        stack = _stack_header(path, data, current_limits())
        if stack is not None:
            return _from_stack(stack)
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


def _load_array(path, data: bytes | None = None) -> tuple[np.ndarray, Image.Image | None]:
    """Decode a file (or its bytes, or a stack's ``Plane``) to an array as stored; returns the PIL image too when
    PIL decoded it. The header is checked first (``_decode``): too many pixels or several planes are refused
    before decoding."""
    arr, img, _ = _decode(path, data)
    return arr, img


def _decode(path, data: bytes | None = None,
            lim: Limits | None = None) -> tuple[np.ndarray, Image.Image | None, ImageHeader]:
    """``_load_array`` with the header it checked (pixels and planes against the limits)."""
    name = Path(path).name if not isinstance(path, Plane) else path.name
    lim = lim or current_limits()
    try:
        if isinstance(path, Plane):  # one plane of a stack: the stack's header (all planes) was checked
            with StackFile(path.file, None, lim) as f:
                arr = f.plane(path.index) if f.header.planes == path.count else None
                if arr is None:
                    raise ImageReadError(f"{name}: the file now holds {f.header.planes} planes, not {path.count}")
                return arr, None, _from_stack(f.header)
        stack = _stack_header(path, data, lim)
        if stack is not None:
            hdr = _from_stack(stack)
            _check_header(hdr, name, lim)
            with StackFile(Path(path), data, lim) as f:
                return f.plane(0), None, hdr
        img = Image.open(io.BytesIO(data) if data is not None else path)
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


def read_raw(path, data: bytes | None = None) -> tuple[np.ndarray, ImageHeader]:
    """An image (a file, its bytes, or a stack's ``Plane``) as stored: (H, W, channels) in its own dtype (PIL's
    palette and other colour modes as RGB), with its header. What the model reads is ``model_rgb`` of it."""
    arr, img, hdr = _decode(path, data)
    if img is not None and img.mode in AS_RGB:
        arr = np.asarray(img.convert("RGBA" if img.mode == "PA" else "RGB"))
        hdr = ImageHeader(hdr.width, hdr.height, arr.shape[-1], img.mode == "PA", hdr.frames, rgb=True)
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr, hdr


def read_channels(path, data: bytes | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """THE READING API for an image's channels, whatever the model reads: (H, W, N) values as stored (its own
    dtype, 1 to ``MAX_CHANNELS`` channels, alpha dropped: ``colour_values``, which says what is refused) and the
    channels' names (``ImageHeader.names``: the file's own, else red/green/blue, gray, or channel 1..N). ``path``:
    a file, a file with its bytes, or a stack's ``Plane``. The names alone, from the header:
    ``channel_layout.image_channels``."""
    arr, hdr = read_raw(path, data)
    return colour_values(arr, path.name if isinstance(path, Plane) else Path(path).name, hdr), hdr.names


def colour_values(arr: np.ndarray, name: str, hdr: ImageHeader) -> np.ndarray:
    """An image as stored (``read_raw``) without its alpha: (H, W, 1 to ``MAX_CHANNELS``) in its own dtype. Refused
    with an ImageReadError naming ``name`` (the file, and the plane of a stack): more channels than
    ``MAX_CHANNELS``, a pixel type that is not numbers, NaN or infinity."""
    if arr.ndim != 3:
        raise ImageReadError(f"{name}: unsupported image shape {arr.shape} (a stack or volume?)")
    channels = arr.shape[-1]
    colour = channels - (1 if hdr.alpha and channels in (2, 4) else 0)
    if colour > MAX_CHANNELS:
        raise ImageReadError(f"{name}: has {channels} channels; we read images of 1 to {MAX_CHANNELS} channels: "
                             "save the channels you want as their own image (e.g. Fiji: Image > Color > Channels "
                             "Tool / Arrange Channels) and import that")
    if arr.dtype.kind == "c" or arr.dtype.kind not in "biuf":
        raise ImageReadError(f"{name}: pixel type {arr.dtype} is not an image we read (use integers or floats)")
    if arr.dtype.kind == "f":
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ImageReadError(f"{name}: holds {bad} NaN or infinite value(s); replace them (e.g. with 0) and "
                                 "import it again")
    return arr[..., :colour]


def model_rgb(arr: np.ndarray, name: str, hdr: ImageHeader,
              intensities: Intensities | ModelInput | None = None) -> np.ndarray:
    """THE ONE PLACE where an image as stored (``read_raw``) becomes what the model reads: uint8 (H, W, C); alpha
    dropped (``colour_values``, which says what is refused).

    ``intensities`` is how a run reads images (``model_input.ModelInput``: its channels, in order, and their fixed
    ranges; a bare ``Intensities`` or None is a run trained on gray or RGB images). The channels read are selected
    (an image with another count of channels than the run's data is refused naming both); 8-bit values as they
    are; 16-bit and float values by the run's fixed ranges when it has them, else stretched by the image's own
    percentiles (runs trained before); one channel repeated to 3 (C is 3 for gray and RGB, else the channels
    read). With None, an image of other than 1 or 3 channels gives its display composite (``display.display_rgb``:
    thumbnails, the canvas; no run reads it so)."""
    arr = colour_values(arr, name, hdr)
    reading = intensities if isinstance(intensities, ModelInput) else None
    ranges = reading.intensities if reading is not None else intensities
    if reading is not None:
        try:
            arr = reading.select(arr, name)
        except ValueError as err:
            raise ImageReadError(str(err)) from None
    if ranges is not None and arr.dtype not in (np.uint8, bool):
        try:
            arr = ranges.to_uint8(arr, name)
        except ValueError as err:
            raise ImageReadError(str(err)) from None
    else:
        arr = stretch_to_uint8(arr)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] != 3 and reading is None:  # no run reads it: shown (``display``), all channels
        arr = display_rgb(arr, hdr.names)
    return np.array(arr, copy=True, order="C")  # writable (PIL's arrays are read-only)


def read_image(path, data: bytes | None = None, intensities: Intensities | ModelInput | None = None) -> np.ndarray:
    """Read an image (a file, its bytes, or a stack's ``Plane``) as the model reads it: ``model_rgb`` of
    ``read_raw``, uint8 (H, W, 3) for gray and RGB (H, W, C) for other channels; ``intensities``: how the run
    reads images (``model_input.ModelInput``: its channels and fixed ranges; None: shown as RGB).

    Refused with an ImageReadError naming the file (and the plane): more pixels than ``limits.max_pixels``
    (from the header, before decoding; a stack's planes counted together), a whole stack (its planes are
    images of their own: ``stacks.planes``), other channels than the run's, NaN or infinity.
    """
    name = path.name if isinstance(path, Plane) else Path(path).name
    arr, hdr = read_raw(path, data)
    return model_rgb(arr, name, hdr, intensities)


def reader(intensities: Intensities | ModelInput | None):
    """``read_image`` with the run's reading (``ModelInput``; None: as runs trained on 8-bit images, or before, read);
    picklable, for DataLoader worker processes."""
    return partial(read_image, intensities=intensities) if intensities is not None else read_image


_SIZES: dict[tuple, tuple[int, int] | str] = {}  # (path, bytes, mtime, pixel limit) -> (H, W) or error


def image_size(path) -> tuple[int, int]:
    """(H, W) of an image file, the file checked as ``read_image`` checks it. A file over the pixel limit
    is refused from its header, without decoding; others are decoded once (to catch truncation) and the
    answer is remembered for that version of the file, so a page that rescans does not decode again."""
    path = path if isinstance(path, Plane) else Path(path)
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


def read_mask_raw(path, classes: ClassList | None = None, data: bytes | None = None) -> np.ndarray:
    """Read a mask's (a file's, its bytes', or a mask stack's ``Plane``'s) stored values (H, W) as int32 (int64 for wider types), unchanged: negative, 16-bit and
    whole float values included. Palette PNGs by index, RGB masks by class colour; what the values mean is
    for ``mask_values`` to say."""
    arr, img = _load_array(path, data)
    return mask_values(arr, path.name if isinstance(path, Plane) else Path(path).name, classes, img)


def mask_values(arr: np.ndarray, name: str, classes: ClassList | None = None,
                img: Image.Image | None = None) -> np.ndarray:
    """A decoded mask's stored values (``read_mask_raw``): ``arr`` as decoded, ``img`` PIL's image when PIL
    decoded it (a palette image reads by index)."""
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
    if isinstance(path, Plane):  # a plane of a mask stack (TIFF, NIfTI): its values are the classes
        return False
    try:
        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            return im.mode in PALETTE_MODES
    except Exception:  # e.g. a TIFF flavour only tifffile reads: not a palette image
        return False
