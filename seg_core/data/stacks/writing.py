"""Writing planes and stacks: a plane's values as a TIFF of their own (an imported plane), and a stack of masks
in the input's form, one page per plane in its order (``OUT/masks/<stem>.tif``, ImageJ axes) or a NIfTI volume
with the input's affine (``OUT/masks/<stem>.nii.gz``)."""
from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Iterator

import numpy as np

from seg_core.base.atomic import atomic_write, atomic_write_bytes
from seg_core.data.stacks.files import NIFTI_SUFFIXES, StackHeader, file_stem, file_suffix


def plane_tiff(plane: np.ndarray, hdr: StackHeader) -> bytes:
    """One plane (H, W[, channels]) as TIFF bytes, its values and dtype as they are (deflate-compressed), read back
    with the channels the stack's header gives (``ImageHeader.names``): the file's own channel names kept (an
    OME-TIFF of one page per channel); red, green, blue for an RGB stack, its further channels extra samples
    (alpha as alpha, the others as bands: ``red, green, blue, channel 4``); else one page of interleaved channels
    (``channel 1`` .. ``channel N``)."""
    import tifffile

    arr = np.ascontiguousarray(plane)
    count = arr.shape[-1] if arr.ndim == 3 else 1
    buf = io.BytesIO()
    if count > 1 and len(hdr.channel_names) == count:
        tifffile.imwrite(buf, np.ascontiguousarray(np.moveaxis(arr, -1, 0)), ome=True, photometric="minisblack",
                         compression="zlib", metadata={"axes": "CYX", "Channel": {"Name": list(hdr.channel_names)}})
    elif hdr.rgb and count >= 3:
        extras = ["unspecified"] * (count - 3)
        if extras and hdr.alpha:
            extras[-1] = "unassalpha"
        tifffile.imwrite(buf, arr, photometric="rgb", planarconfig="contig", compression="zlib", metadata=None,
                         **({"extrasamples": extras} if extras else {}))
    else:
        tifffile.imwrite(buf, arr, photometric="minisblack", planarconfig="contig" if count > 1 else None,
                         compression="zlib", metadata=None)
    return buf.getvalue()


def mask_stack_name(image_name: str) -> str:
    """The file name of the mask stack of a stack named ``image_name``: ``<stem>.nii.gz`` for NIfTI, else
    ``<stem>.tif``."""
    return file_stem(image_name) + (".nii.gz" if file_suffix(image_name) in NIFTI_SUFFIXES else ".tif")


def write_mask_stack(path: Path, hdr: StackHeader, planes: Iterator[np.ndarray], dtype=np.uint8) -> None:
    """Write the masks ``planes`` (``dtype`` (H, W): uint8 class values, or uint16 object ids; one per plane of
    ``hdr`` in its order, taken one at a time) as
    one file, atomically: a NIfTI volume of the input's shape and affine for ``.nii``/``.nii.gz``, else an
    ImageJ TIFF of one page per plane, its axes (``TZYX``, ``ZYX`` or ``TYX``) in the metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_suffix(path.name) in NIFTI_SUFFIXES:
        data = _nifti_bytes(hdr, planes, dtype)
        atomic_write_bytes(path, gzip.compress(data, 6) if path.name.lower().endswith(".gz") else data)
        return
    import tifffile

    axes = hdr.plane_axes + "YX"
    shape = tuple(hdr.plane_shape) + (hdr.height, hdr.width)

    def write(p: Path) -> None:
        tifffile.imwrite(p, (np.asarray(m, dtype) for m in planes), shape=shape, dtype=dtype, imagej=True,
                         metadata={"axes": axes}, photometric="minisblack")

    atomic_write(path, write)


def _nifti_bytes(hdr: StackHeader, planes: Iterator[np.ndarray], dtype) -> bytes:
    """The masks as an uncompressed NIfTI file of the input's shape (X, Y[, Z[, T]]) and affine."""
    import nibabel

    vol = np.zeros(hdr.shape, dtype)
    names = hdr.axes[2:]
    for i, mask in enumerate(planes):
        where = dict(zip(hdr.plane_axes, np.unravel_index(i, hdr.plane_shape))) if hdr.plane_axes else {}
        vol[(slice(None), slice(None)) + tuple(int(where.get(a, 0)) for a in names)] = np.asarray(mask).T
    img = nibabel.Nifti1Image(vol, hdr.affine)
    img.set_data_dtype(dtype)
    return img.to_bytes()
