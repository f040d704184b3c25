"""Files with axes: TIFF (plain, multi-page, OME, ImageJ hyperstacks, GeoTIFF) by tifffile and NIfTI by nibabel,
opened from their headers and read one plane at a time, each plane as stored (its dtype, its channels last).

A file's planes lie along T (time) and Z (depth); each plane is Y x X pixels with its channels (TIFF's C and
S axes). The axes come from the file's metadata: tifffile's series axes (OME, ImageJ, its own shaped files;
pages of a plain multi-page TIFF, ``I``, and the one unnamed axis of a shaped file, ``Q``, are depth), NIfTI's
X, Y, Z[, T]. Nothing but the header is read until a plane is asked for, and then only that plane's pages
(TIFF) or slice (NIfTI): memory does not grow with the stack.
"""
from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seg_core.base.limits import Limits, exceeded, limits as current_limits, pixels_text
from seg_core.data.errors import ImageReadError, ImageTooLarge

TIFF_SUFFIXES = (".tif", ".tiff")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
LETTERS = "TZCYXS"  # the axes a user may name (``given_axes``): time, depth, channel, height, width, colour
PLANE_AXES = "TZ"  # planes are ordered by time, then depth; named ``t<NN>_z<NN>``
CHANNEL_AXES = "CS"  # TIFF: channels (C, separate pages) and samples (S, within a page)
# what each axis letter means (tifffile's codes), to explain a file whose axes we do not read
AXIS_MEANINGS = {"X": "width", "Y": "height", "Z": "depth", "T": "time", "C": "channel", "S": "sample (colour)",
                 "I": "page sequence", "Q": "unnamed", "E": "wavelength", "P": "phase", "A": "angle",
                 "R": "tile", "H": "lifetime", "L": "exposure", "V": "event", "M": "mosaic", "O": "other"}


def file_suffix(name: str) -> str:
    """The file's suffix, lower-cased, with ``.nii.gz`` as one suffix."""
    low = str(name).lower()
    return ".nii.gz" if low.endswith(".nii.gz") else Path(low).suffix


def file_stem(name: str) -> str:
    """The file's name without its suffix (``file_suffix``)."""
    name = Path(name).name
    return name[: len(name) - len(file_suffix(name))] if file_suffix(name) else name


def is_stack_format(name: str) -> bool:
    """The file is of a format that can hold many planes (TIFF, NIfTI)."""
    return file_suffix(name) in TIFF_SUFFIXES + NIFTI_SUFFIXES


@dataclass
class StackHeader:
    """What a file's header says about its planes, read without decoding any pixel."""

    name: str  # the file's name, for messages
    axes: str  # as found in the file, e.g. "TZCYXS" (ImageJ), "XYZ" (NIfTI)
    shape: tuple[int, ...]  # along ``axes``
    dtype: np.dtype  # of the stored values
    width: int
    height: int
    channels: int  # values per pixel, alpha and extra bands included
    alpha: bool = False  # the last channel is transparency
    extra_bands: int = 0  # bands tagged as extra samples that are not transparency (e.g. near-infrared)
    plane_axes: str = ""  # "", "Z", "T" or "TZ"
    plane_shape: tuple[int, ...] = ()  # along ``plane_axes``
    affine: np.ndarray | None = None  # NIfTI: voxel to world coordinates
    rgb: bool = False  # the file says its first three channels are red, green, blue (TIFF photometric RGB)
    channel_names: tuple[str, ...] = ()  # the file's own names of its channels (OME, ImageJ labels), when it has them

    @property
    def planes(self) -> int:
        return int(np.prod(self.plane_shape)) if self.plane_shape else 1

    def labels(self) -> list[str]:
        """Each plane's label, in order: ``z03``, ``t01`` or ``t01_z03`` (``plane_labels``)."""
        return plane_labels(self.plane_axes, self.plane_shape)

    def describe(self) -> str:
        """``axes TZYX (5 x 3 x 64 x 64)``"""
        return f"axes {self.axes} ({' x '.join(str(n) for n in self.shape)})"

    def check_pixels(self, lim: Limits) -> None:
        """All its planes together within ``max_pixels`` (from the header: nothing is decoded before)."""
        total = self.width * self.height * self.planes
        if total <= lim.max_pixels:
            return
        what = (f"the image is {self.width}x{self.height} = {pixels_text(total)}" if self.planes == 1 else
                f"the stack is {self.planes} planes of {self.width}x{self.height} = {pixels_text(total)}")
        err = exceeded(self.name, "max_pixels", what, pixels_text(lim.max_pixels), lim.max_pixels,
                       "cut it into smaller stacks or tiles" if self.planes > 1 else "downscale or cut it into tiles")
        raise ImageTooLarge(str(err), err.setting)


def plane_digits(count: int) -> int:
    """Digits of a plane number: as many as the count has, at least 2 (``z00`` .. ``z09`` for 10 planes)."""
    return max(2, len(str(count)))


def plane_labels(plane_axes: str, plane_shape: tuple[int, ...]) -> list[str]:
    """Labels of the planes along ``plane_axes`` ("T", "Z" or "TZ"), time first: ``t01_z03``; none: ``[""]``."""
    if not plane_axes:
        return [""]
    labels = []
    for idx in np.ndindex(*plane_shape):
        labels.append("_".join(f"{a.lower()}{i:0{plane_digits(n)}d}" for a, i, n in zip(plane_axes, idx, plane_shape)))
    return labels


def _axes_problem(name: str, axes: str, shape: tuple[int, ...], why: str) -> ImageReadError:
    found = ", ".join(f"{a} ({AXIS_MEANINGS.get(a, 'unknown')}) {n}" for a, n in zip(axes, shape))
    return ImageReadError(f"{name}: {why}; axes found: {found}. We read planes along Z (depth) and T (time), each "
                          "Y x X pixels with its channels: save it with those axes (e.g. Fiji: Image > Hyperstacks > "
                          "Re-order Hyperstack) and use that file")


def plane_axes_of(name: str, axes: str, shape: tuple[int, ...]) -> str:
    """The file's axes with the plane axes named: the pages of a plain multi-page TIFF (``I``) and the one
    unnamed axis of a shaped TIFF (``Q``) are depth (``Z``); refuses (``ImageReadError`` naming every axis
    found) axes that are not T, Z, channels, Y and X, or that repeat."""
    unnamed = [a for a, n in zip(axes, shape) if a in "IQ" and n > 1]
    if len(unnamed) == 1 and "Z" not in axes:
        axes = axes.replace(unnamed[0], "Z")
    axes = "".join(a if not (a in "IQ" and n == 1) else "_" for a, n in zip(axes, shape))  # length 1: no axis
    real = axes.replace("_", "")
    if "Y" not in real or "X" not in real:
        raise _axes_problem(name, axes, shape, "it has no Y and X axes (height and width)")
    if len(set(real)) != len(real):
        raise _axes_problem(name, axes, shape, "an axis appears twice, so the order of the axes is unknown")
    other = [a for a in real if a not in PLANE_AXES + CHANNEL_AXES + "YX"]
    if other:
        raise _axes_problem(name, axes, shape, f"it has {len(real)} axes, among them {', '.join(other)} (of "
                            f"unknown meaning for planes)" if set(other) <= {"Q", "I"} else
                            f"it has {len(real)} axes, among them {', '.join(other)}, which are not planes")
    return axes


def given_axes(name: str, given: str, found: str, shape: tuple[int, ...]) -> str:
    """The user's order of the axes of a file whose axes ``found`` (tifffile's) have ``shape``: one letter per
    axis of ``LETTERS`` (a colour axis last, ``S``, may be left out). ImageReadError naming the file, its shape
    and what to give when it does not fit."""
    order = str(given).strip().upper()
    if found.endswith("S") and len(order) == len(found) - 1 and not order.endswith("S"):
        order += "S"
    dims = " x ".join(str(n) for n in shape)
    example = "ZYX, TYX or CYX" if len(shape) == 3 else "e.g. " + "".join(("TZC" + "YX")[-len(shape):])
    if len(order) != len(shape) or any(a not in LETTERS for a in order) or len(set(order)) != len(order):
        bad = [a for a in order if a not in LETTERS]
        why = (f"the letters {', '.join(bad)} are no axes we read (T time, Z depth, C channel, Y height, X width, "
               "S colour)" if bad else "a letter appears twice" if len(set(order)) != len(order) else
               f"it names {len(order)} axes but the file has {len(shape)} ({dims})")
        raise ImageReadError(f"{name}: cannot read it with the axes {given}: {why}; give one letter per axis in the "
                             f"file's order ({example})")
    return order


class StackFile:
    """An open TIFF or NIfTI file (from its path, or its bytes): its ``header`` and ``plane(i)`` on demand.
    Use it as a context manager (or ``close`` it); ``reads`` counts the TIFF pages or NIfTI slices read."""

    def __init__(self, path: Path, data: bytes | None = None, lim: Limits | None = None, axes: str | None = None):
        """``axes``: the user's order of a TIFF's axes (``given_axes``), in place of the file's or the
        guess; ignored for NIfTI, whose header names its axes."""
        self.path = Path(path)
        self._given = axes
        self.name = self.path.name
        self.reads = 0
        self._tif = self._nii = None
        suffix = file_suffix(self.name)
        try:
            if suffix in NIFTI_SUFFIXES:
                self.header = self._open_nifti(data)
            elif suffix in TIFF_SUFFIXES:
                self.header = self._open_tiff(data)
            else:
                raise ImageReadError(f"{self.name}: not a TIFF or NIfTI file")
        except ImageReadError:
            self.close()
            raise
        except FileNotFoundError:
            self.close()
            raise ImageReadError(f"{self.name}: file not found") from None
        except Exception as err:
            self.close()
            raise ImageReadError(f"{self.name}: cannot read it as {'NIfTI' if suffix in NIFTI_SUFFIXES else 'TIFF'}: "
                                 f"{err or type(err).__name__}") from None
        self.header.check_pixels(lim or current_limits())

    # -- context ------------------------------------------------------------------------------------
    def __enter__(self) -> "StackFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._tif is not None:
            self._tif.close()
            self._tif = None
        self._nii = None

    # -- TIFF ---------------------------------------------------------------------------------------
    def _open_tiff(self, data: bytes | None) -> StackHeader:
        import tifffile

        logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # we say what is wrong, naming the file
        self._tif = tif = tifffile.TiffFile(io.BytesIO(data) if data is not None else self.path)
        images = [s for s in tif.series if not s.keyframe.is_reduced]  # thumbnails are not images
        if len(images) > 1:
            raise ImageReadError(f"{self.name}: holds {len(images)} separate images; we read one image (or one stack) "
                                 "per file: save each as its own file and import those")
        series = self._series = tif.series[0]
        kf = series.keyframe
        if self._given:
            self._found = given_axes(self.name, self._given, series.axes, tuple(series.shape))
        else:
            self._found = series.axes
        axes = plane_axes_of(self.name, self._found, tuple(series.shape))
        dims = dict(zip(axes, series.shape))
        plane_axes = "".join(a for a in PLANE_AXES if a in axes)
        extras = tuple(int(e) for e in (kf.extrasamples or ()))
        channels = int(dims.get("C", 1) * dims.get("S", 1))
        # premultiplied or unassociated alpha; 0 (unspecified) is a band. In a GeoTIFF every extra sample is a
        # band: GIS tools commonly tag a 4th band (near-infrared) as unassociated alpha
        geo = bool(getattr(tif, "is_geotiff", False))
        alpha = not geo and (1 in extras or 2 in extras)
        bands = (len(extras) if geo else sum(e == 0 for e in extras)) if int(kf.photometric) == 2 else 0
        # the pages: the axes before the page's own (YX, YXS or SYX), one page per index of theirs
        self._page_axes = axes[: len(axes) - len(kf.axes)] if axes.endswith(kf.axes) else None
        grid = tuple(series.shape[: len(self._page_axes)]) if self._page_axes is not None else None
        if grid is not None and int(np.prod(grid)) != len(series.pages):
            self._page_axes = grid = None  # e.g. an ImageJ file with one page directory: read as a whole
        self._grid, self._kf_axes, self._whole = grid, kf.axes, None
        return StackHeader(self.name, self._found, tuple(int(n) for n in series.shape), np.dtype(series.dtype),
                           int(dims["X"]), int(dims["Y"]), channels, alpha, bands,
                           plane_axes, tuple(int(dims[a]) for a in plane_axes), rgb=int(kf.photometric) == 2,
                           channel_names=_tiff_channel_names(tif, channels))

    def _tiff_plane(self, i: int) -> np.ndarray:
        hdr = self.header
        where = dict(zip(hdr.plane_axes, np.unravel_index(i, hdr.plane_shape))) if hdr.plane_axes else {}
        if self._page_axes is None:  # pages not one per index: the series read once into a file-backed array
            if self._whole is None:
                self._whole = (self._series.asarray(out="memmap"), self._series_axes_named())
            arr, axes = self._whole
            self.reads += 1
            return _channels_last(arr[tuple(int(where[a]) if a in where else slice(None) for a in axes)],
                                  "".join(a for a in axes if a not in where))
        pages = np.arange(len(self._series.pages)).reshape(self._grid)
        pages = pages[tuple(int(where[a]) if a in where else slice(None) for a in self._page_axes)].ravel()
        parts = []
        for k in pages:  # the channels of this plane (C), in order
            page = self._series.pages[int(k)]
            parts.append(_channels_last(np.asarray(page.asarray()), self._kf_axes))
            self.reads += 1
        return parts[0] if len(parts) == 1 else np.concatenate(
            [p if p.ndim == 3 else p[..., None] for p in parts], axis=-1)

    def _series_axes_named(self) -> str:
        return plane_axes_of(self.name, self._found, tuple(self._series.shape))

    # -- NIfTI --------------------------------------------------------------------------------------
    def _open_nifti(self, data: bytes | None) -> StackHeader:
        import nibabel

        if data is None:
            img = nibabel.load(str(self.path))
        else:
            raw = gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
            holder = nibabel.FileHolder(fileobj=raw)
            img = nibabel.Nifti1Image.from_file_map({"header": holder, "image": holder})
        self._nii = img
        shape = tuple(int(n) for n in img.shape)
        axes = "XYZT"[: len(shape)] if len(shape) <= 4 else "XYZT" + "?" * (len(shape) - 4)
        if len(shape) < 2:
            raise ImageReadError(f"{self.name}: a NIfTI file of {len(shape)} dimension; an image needs X and Y")
        if len(shape) > 4:
            raise ImageReadError(f"{self.name}: a NIfTI file of {len(shape)} dimensions ({' x '.join(map(str, shape))});"
                                 f" we read X, Y, Z and T (a volume over time), here the axes found are X, Y, Z, T "
                                 f"and {len(shape) - 4} more (e.g. vector components): save the volume(s) you "
                                 "want as files of at most 4 dimensions")
        dtype = np.dtype(img.get_data_dtype())
        if dtype.fields is not None:  # e.g. NIfTI RGB24
            raise ImageReadError(f"{self.name}: NIfTI values of type {dtype} (several values per voxel) are not "
                                 "read; save it with one value per voxel")
        plane_axes = "".join(a for a in PLANE_AXES if a in axes and shape[axes.index(a)] > 1)
        return StackHeader(self.name, axes, shape, dtype, shape[0], shape[1], 1, plane_axes=plane_axes,
                           plane_shape=tuple(shape[axes.index(a)] for a in plane_axes), affine=np.array(img.affine))

    def _nifti_plane(self, i: int) -> np.ndarray:
        hdr = self.header
        where = dict(zip(hdr.plane_axes, np.unravel_index(i, hdr.plane_shape))) if hdr.plane_axes else {}
        key = (slice(None), slice(None)) + tuple(int(where.get(a, 0)) for a in hdr.axes[2:])
        self.reads += 1
        return np.asarray(self._nii.dataobj[key]).T  # (X, Y) -> (Y, X): rows are Y

    # -- planes -------------------------------------------------------------------------------------
    def plane(self, i: int) -> np.ndarray:
        """Plane ``i`` (in ``header.labels()`` order) as stored: (H, W) or (H, W, channels)."""
        if not 0 <= i < self.header.planes:
            raise IndexError(f"{self.name}: plane {i} of {self.header.planes}")
        try:
            return self._nifti_plane(i) if self._nii is not None else self._tiff_plane(i)
        except (ImageReadError, MemoryError):
            raise
        except Exception as err:
            label = self.header.labels()[i]
            raise ImageReadError(f"{self.name}{f', plane {label}' if label else ''}: cannot decode it: "
                                 f"{err or type(err).__name__}") from None


def _tiff_channel_names(tif, count: int) -> tuple[str, ...]:
    """The channel names an OME-TIFF (``Channel Name``) or ImageJ file (``Labels``: one plane's channels', repeated
    over the planes) gives, when it gives one (distinct, non-empty) per channel; else ()."""
    names: list[str] = []
    try:
        if tif.is_ome and tif.ome_metadata:
            import xml.etree.ElementTree as ET

            root = ET.fromstring(tif.ome_metadata)
            image = next((e for e in root.iter() if e.tag.endswith("}Image")), None)
            if image is not None:
                names = [c.get("Name", "") for c in image.iter() if c.tag.endswith("}Channel")]
        elif tif.is_imagej and tif.imagej_metadata:
            labels = tif.imagej_metadata.get("Labels")
            labels = [str(v) for v in labels] if isinstance(labels, (list, tuple)) else []
            repeats = len(labels) // count if count else 0  # a stack's pages: one plane's channels' labels repeated
            if repeats and labels[:count] * repeats == labels[: count * repeats]:
                names = labels[:count]
    except Exception:  # metadata we cannot parse: the channels are numbered instead
        names = []
    names = [n.strip() for n in names]
    return tuple(names) if len(names) == count and all(names) and len(set(names)) == count else ()


def _channels_last(arr: np.ndarray, axes: str) -> np.ndarray:
    """An array along ``axes`` (Y, X and channels C/S) as (H, W) or (H, W, channels)."""
    order = [axes.index(a) for a in "YX"] + [i for i, a in enumerate(axes) if a not in "YX"]
    arr = np.transpose(arr, order)
    return arr.reshape(arr.shape[0], arr.shape[1], -1) if arr.ndim > 3 else arr


def read_stack_header(path: Path, data: bytes | None = None, lim: Limits | None = None,
                      axes: str | None = None) -> StackHeader:
    """The header of a TIFF or NIfTI file (``StackFile``, ``axes`` the user's order of a TIFF's axes), its pixels
    over all planes checked against the limit."""
    with StackFile(path, data, lim, axes) as f:
        return f.header
