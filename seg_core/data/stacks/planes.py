"""The planes of a stack as images: each plane of a TIFF or NIfTI file of many planes is an image named
``<stem>_z<NN>`` (time: ``<stem>_t<NN>``; both: ``<stem>_t<NN>_z<NN>``), and a data folder's ``images/`` and
``masks/`` are paired plane by plane (``folder_planes``).
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from seg_core.data.errors import ImageReadError
from seg_core.data.stacks.files import StackHeader, file_stem, file_suffix, is_stack_format, \
    read_stack_header


def plane_stem(stem: str, label: str) -> str:
    """The image name of a plane: ``<stem>_<label>`` (``label`` from ``StackHeader.labels``)."""
    return f"{stem}_{label}" if label else stem


@dataclass(frozen=True)
class Plane:
    """One plane of a stack file, standing where a data folder's image (or mask) file stands: ``name`` says
    the file and the plane ("vol.tif, plane z03"), ``stem`` is the plane's image name ("vol_z03");
    ``imageio.read_image`` and ``read_mask_raw`` read that plane alone. ``os.fspath`` of it is the stack file."""

    file: Path
    index: int  # in the file's plane order (``StackHeader.labels``)
    label: str  # "z03", "t01" or "t01_z03"
    count: int  # planes in the file

    def __fspath__(self) -> str:
        return os.fspath(self.file)

    def __str__(self) -> str:
        return f"{self.file} ({self.label})"

    @property
    def name(self) -> str:
        return f"{self.file.name}, plane {self.label}"

    @property
    def stem(self) -> str:
        return plane_stem(file_stem(self.file.name), self.label)

    @property
    def suffix(self) -> str:
        return file_suffix(self.file.name)

    def is_file(self) -> bool:
        return self.file.is_file()

    def stat(self):
        return self.file.stat()


def planes_of(path: Path, header: StackHeader) -> list[Plane]:
    """The planes of ``path`` (whose header is ``header``), in order."""
    labels = header.labels()
    return [Plane(Path(path), i, label, len(labels)) for i, label in enumerate(labels)]


def list_files(folder: Path, exts: tuple[str, ...]) -> dict[str, list[Path]]:
    """The files of ``folder`` whose suffix (``file_suffix``: ``.nii.gz`` is one) is in ``exts``, by stem;
    hidden files left out."""
    found: dict[str, list[Path]] = defaultdict(list)
    if Path(folder).is_dir():
        for p in sorted(Path(folder).iterdir()):
            if p.is_file() and not p.name.startswith(".") and file_suffix(p.name) in exts:
                found[file_stem(p.name)].append(p)
    return found


def stack_header(path: Path, volumes: bool = False) -> StackHeader | None:
    """The header of a stack-format file of more than one plane (with ``volumes``, also a NIfTI volume of one
    plane, whose mask keeps its affine), or None: an image of one plane, or a file whose header cannot be read
    (reading it as one image then says what is wrong with it)."""
    if not is_stack_format(path.name):
        return None
    try:
        hdr = read_stack_header(path)
    except ImageReadError:
        return None
    return hdr if hdr.planes > 1 or (volumes and hdr.affine is not None) else None


def with_planes(files: list[Path]) -> list:
    """``files`` with each stack among them replaced by its planes (``Plane``), in order: what to rank, or to
    read one image at a time from a folder that may hold stacks."""
    out: list = []
    for f in files:
        hdr = stack_header(Path(f))
        out += planes_of(Path(f), hdr) if hdr is not None else [f]
    return out


def folder_planes(images_dir: Path, masks_dir: Path, image_exts: tuple[str, ...], mask_exts: tuple[str, ...]):
    """A data folder's images and masks by image name, stacks split into their planes: returns
    ``(images, masks, problems)``, the first two ``{stem: [Path | Plane, ...]}`` (more than one entry: files
    that share the name), ``problems`` ``(file, message, stem)`` for mask stacks that do not fit their image.

    A stack ``vol.tif`` of 10 planes gives the images ``vol_z00`` .. ``vol_z09``; its masks are per plane
    (``masks/vol_z03.png``; planes without one are unlabelled) or one mask stack ``masks/vol.tif`` (or
    ``.nii.gz``) of the same planes, which is split likewise. A stack with a one-plane mask of its own name,
    or a mask stack whose count of planes differs, is refused naming both."""
    images: dict[str, list] = defaultdict(list)
    headers: dict[str, StackHeader] = {}
    for stem, paths in list_files(images_dir, image_exts).items():
        for p in paths:
            hdr = stack_header(p)
            if hdr is None:
                images[stem].append(p)
                continue
            headers[stem] = hdr
            for plane in planes_of(p, hdr):
                images[plane.stem].append(plane)
    masks: dict[str, list] = defaultdict(list)
    problems: list[tuple[str, str, str | None]] = []
    for stem, paths in list_files(masks_dir, mask_exts).items():
        for p in paths:
            image = headers.get(stem)
            hdr = stack_header(p)
            if image is None and hdr is None:
                masks[stem].append(p)
            elif image is None:
                problems.append((p.name, f"a mask stack of {hdr.planes} planes, but {_image_of(images, stem)}",
                                 stem))
            elif hdr is None:
                problems.append((p.name, f"image {image.name} is a stack of {image.planes} planes and this mask "
                                 "is one plane; give its masks per plane (" + ", ".join(
                                     f"{plane_stem(stem, lb)}.png" for lb in image.labels()[:2]) + ", ...) or one "
                                 f"mask stack of {image.planes} planes", stem))
            elif hdr.planes != image.planes:
                problems.append((p.name, f"the mask stack has {hdr.planes} planes but image {image.name} has "
                                 f"{image.planes}; a mask stack needs one plane per image plane, in the same order",
                                 stem))
            else:
                for plane in planes_of(p, hdr):
                    masks[plane_stem(stem, image.labels()[plane.index])].append(plane)
    return dict(images), dict(masks), problems


def _image_of(images: dict[str, list], stem: str) -> str:
    found = images.get(stem)
    if not found:
        return f"no image named '{stem}' in images/"
    return f"image {found[0].name} is one plane"
