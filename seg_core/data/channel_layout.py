"""A data folder's (and a project's) one channel layout: the names of its images' channels, in order, read from
the files' headers alone (nothing is decoded). An image with another count of channels is refused, naming both
counts."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from seg_core.data.errors import ImageReadError
from seg_core.data.imageio import read_header
from seg_core.data.model_input import GRAY_NAMES, RGB_NAMES, colour_layout, same_layout
from seg_core.data.stacks.files import file_suffix
from seg_core.data.stacks.planes import Plane


def image_channels(path) -> tuple[str, ...]:
    """The names of an image's channels from its header (``ImageHeader.names``; alpha left out); ``path`` a
    file or a stack's ``Plane``. Raises ImageReadError naming the file when its header cannot be read."""
    return read_header(path.file if isinstance(path, Plane) else Path(path)).names


def mismatch(count: int, layout: tuple[str, ...], where: str) -> str:
    """Why an image of ``count`` channels does not fit where ``layout`` is the channels of ``where``."""
    return (f"has {count} channel(s) but {where} have {len(layout)} ({', '.join(layout)}); one folder (or "
            "project) holds images of one channel layout: save it with the same channels, or keep it apart")


def folder_layout(images: list) -> tuple[tuple[str, ...], list[tuple[object, str]]]:
    """The channel layout of ``images`` (files or ``Plane``s): the names of the most common count of channels
    (on a tie, the first image's), from the first image of that count whose file names its channels (else
    the first of that count); gray and RGB images together are one layout, RGB when any is. And ``(image,
    message)`` for each image that does not fit it (``model_input.same_layout``), the message (without the
    image's name) naming both counts. Images whose header cannot be read are left to the reading that reports
    them."""
    seen: dict[Path, tuple[str, ...]] = {}
    found = []
    for img in images:
        file = img.file if isinstance(img, Plane) else Path(img)
        if file not in seen:
            try:
                seen[file] = image_channels(file)
            except ImageReadError:
                continue
        found.append((img, seen[file]))
    if not found:
        return (), []

    def kind(names):  # gray and RGB images are one layout (``model_input.colour_layout``)
        return "gray or RGB" if colour_layout(names) else len(names)

    counts = Counter(kind(n) for _, n in found)
    order = list(dict.fromkeys(kind(n) for _, n in found))
    common = max(counts, key=lambda k: (counts[k], -order.index(k)))
    same = [names for _, names in found if kind(names) == common]
    layout = (RGB_NAMES if RGB_NAMES in same else GRAY_NAMES) if common == "gray or RGB" else \
        next((n for n in same if not n[0].startswith("channel ")), same[0])
    problems = [(img, mismatch(len(names), layout, "the other images here"))
                for img, names in found if not same_layout(names, layout)]
    return layout, problems


class LayoutGuard:
    """Keeps a folder that images are added to (a project's images) to one channel layout: its images' own
    (``folder_layout``), or for an empty folder the first image added's. Its header is read once, when the
    first image is checked."""

    def __init__(self, folder: Path, exts: tuple[str, ...], where: str = "this project's images",
                 leaving: frozenset[str] = frozenset()):
        """``leaving``: the stems of images about to be replaced (a file read again in another order), whose
        layout does not bind the images that replace them."""
        self.folder, self.exts, self.where, self.leaving = Path(folder), exts, where, frozenset(leaving)
        self.layout: tuple[str, ...] | None = None

    def check(self, name: str, names: tuple[str, ...]) -> None:
        """Raises ImageReadError naming ``name`` and both counts when ``names`` (an image's channels) is not of
        the folder's count; the first image of an empty folder sets it."""
        if self.layout is None:
            files = sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
                           and file_suffix(p.name) in self.exts
                           and p.name[:len(p.name) - len(file_suffix(p.name))] not in self.leaving) \
                if self.folder.is_dir() else []
            self.layout = folder_layout(files)[0]
        if not self.layout or self.layout == GRAY_NAMES and tuple(names) == RGB_NAMES:
            self.layout = tuple(names)
        elif not same_layout(names, self.layout):
            raise ImageReadError(f"{name}: {mismatch(len(names), self.layout, self.where)}")
