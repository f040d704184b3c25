"""Files of one channel each (one per band or per stain) joined into one image of as many channels
(``import --combine FILE... --name STEM``, the Data page's "Join as one image"): an OME-TIFF of their values as
stored, in the order given, each channel named after its file (``channel_names_of``), the first file's pixel
size kept. The files must be of one size and one pixel type; anything else is refused naming the files."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from seg_core.base.limits import Limits, limits as current_limits
from seg_core.data.imageio import read_raw
from seg_core.data.stacks.files import file_stem
from seg_core.data.stacks.metadata import pixel_size

MAX_CHANNELS = 16


def channel_names_of(files: list[str]) -> list[str]:
    """Each file's channel name: its stem without the words every stem shares at its start and its end
    (``cells_DAPI.tif``, ``cells_GFP.tif`` -> ``DAPI``, ``GFP``; ``red.tif``, ``nir.tif`` -> ``red``, ``nir``);
    the whole stem where that would leave nothing."""
    words = [re.split(r"([_\-. ]+)", file_stem(Path(f).name)) for f in files]
    if len(words) < 2:
        return [file_stem(Path(f).name) for f in files]
    lead = 0
    while all(len(w) > lead + 2 for w in words) and len({tuple(w[lead:lead + 2]) for w in words}) == 1:
        lead += 2
    tail = 0
    while all(len(w) > tail + 2 + lead for w in words) and len({tuple(w[len(w) - tail - 2:len(w) - tail])
                                                                  for w in words}) == 1:
        tail += 2
    names = ["".join(w[lead:len(w) - tail]) for w in words]
    return names if all(names) and len(set(names)) == len(names) else [file_stem(Path(f).name) for f in files]


def _one_channel(arr: np.ndarray, name: str, alpha: bool) -> np.ndarray:
    """(H, W) of a file of one channel (a gray image saved as RGB, all three alike, counts as one)."""
    arr = arr[..., :-1] if alpha and arr.shape[-1] in (2, 4) else arr
    if arr.shape[-1] > 1 and not np.all(arr == arr[..., :1]):
        raise ValueError(f"{name} has {arr.shape[-1]} channels; join files of one channel each (one band or stain "
                         "per file)")
    return arr[..., 0]


def _bits(dtype: np.dtype) -> str:
    return f"{dtype.itemsize * 8}-bit {'floating-point' if dtype.kind == 'f' else 'integer'} values ({dtype})"


def combine_channels(files: list[tuple[str, bytes]], lim: Limits | None = None) -> tuple[bytes, list[str]]:
    """``files`` ((name, bytes), one channel each, in order) as one OME-TIFF (C, Y, X) and its channels' names.
    ValueError naming the files: fewer than 2 or more than ``MAX_CHANNELS``, a file of several channels, a size
    or pixel type other than the first file's; ``ImageReadError`` (a ValueError) for a file that cannot be read."""
    lim = lim or current_limits()
    if not 2 <= len(files) <= MAX_CHANNELS:
        raise ValueError(f"joining needs 2 to {MAX_CHANNELS} files of one channel each, not {len(files)}")
    planes: list[np.ndarray] = []
    for name, data in files:
        lim.check_file_size(name, len(data))
        raw, hdr = read_raw(Path(name), data)  # the pixel limit is checked from the header first
        plane = _one_channel(raw, name, hdr.alpha)
        if planes and plane.shape != planes[0].shape:
            (h0, w0), (h, w) = planes[0].shape, plane.shape
            raise ValueError(f"{files[0][0]} is {w0}x{h0} but {name} is {w}x{h}: the files joined must all be of "
                             "one size")
        if planes and plane.dtype != planes[0].dtype:
            raise ValueError(f"{files[0][0]} holds {_bits(planes[0].dtype)} but {name} {_bits(plane.dtype)}: the "
                             "files joined must hold one kind of value (save them alike, e.g. all 16-bit)")
        planes.append(plane)
    names = channel_names_of([n for n, _ in files])
    meta: dict = {"axes": "CYX", "Channel": {"Name": names}}
    size = pixel_size(Path(files[0][0]), files[0][1])  # the pixel size the first file states, kept
    if size is not None:
        meta |= {"PhysicalSizeX": size.x, "PhysicalSizeY": size.y}
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.stack(planes), ome=True, photometric="minisblack", compression="zlib", metadata=meta)
    return buf.getvalue(), names
