"""The files of one import, each read only when its turn comes: uploads held in memory, files on disk; what
each is (an image, a mask, classes.json, a zip) from its name and folders."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from seg_core.workspace.importing.names import split_name


@dataclass
class Entry:
    """One file to import, read only when its turn comes."""

    display: str  # how messages name it
    parts: tuple[str, ...]  # its path, split (folders tell images/ from masks/, and pair them)
    size: int | None  # declared size in bytes, checked before reading
    read: Callable[[], bytes]
    group: tuple = ()  # images and masks pair within a group (a zip, a folder)
    path: Path | None = None  # a file on disk (a zip is then opened from disk, not read into memory)
    refused: str = ""  # refused before reading (e.g. not found): why
    order: tuple = ()  # where its result goes in the report: the order the user gave files (and zips hold them)

    @property
    def basename(self) -> str:
        return self.parts[-1] if self.parts else self.display


def parts_of(name: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[/\\]+", name) if p not in ("", "."))


def role_of(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """("image" | "mask" | "classes" | "zip" | "annotations" | "instances", the folder prefix that pairs images
    with masks)."""
    name = parts[-1] if parts else ""
    low = name.lower()
    if low == "classes.json":
        return "classes", ()
    if low.endswith(".zip"):
        return "zip", ()
    folders = [i for i, p in enumerate(parts[:-1]) if p.lower() in ("images", "masks", "instances")]
    if low.endswith((".geojson", ".json")):  # QuPath GeoJSON, COCO (seg_core.exchange.annotations_in)
        return "annotations", parts[:folders[-1]] if folders else parts[:-1]
    if folders:
        i = folders[-1]
        return {"masks": "mask", "instances": "instances"}.get(parts[i].lower(), "image"), parts[:i]
    stem = split_name(name)[0]
    if stem.lower().endswith("_instances"):
        return "instances", parts[:-1]
    return ("mask" if stem.lower().endswith("_mask") else "image"), parts[:-1]


def bytes_entries(files: list[tuple[str, bytes]], group: tuple = ()) -> list[Entry]:
    """Uploaded files held in memory (``name`` may hold folders, e.g. ``masks/a.png``)."""
    return [Entry(name, parts_of(name) or (name,), len(data), (lambda d=data: d), group) for name, data in files]


def path_entries(paths: list[str | Path]) -> list[Entry]:
    """Files on disk (the command line), read when their turn comes; zips are opened from disk."""
    entries = []
    for p in paths:
        path = Path(p)
        shown = str(p)
        if not path.exists():
            entries.append(Entry(shown, (path.name,), None, bytes, refused="file not found"))
        elif path.is_dir():
            entries.append(Entry(shown, (path.name,), None, bytes,
                                 refused="is a folder; give its files (e.g. folder/*) or a zip of it"))
        else:  # its own folder tells an image from a mask (images/, masks/); pairs form around that folder
            pair = path.parent.name.lower() in ("images", "masks", "instances")
            parts = (path.parent.name, path.name) if pair else (path.name,)
            home = path.resolve().parent.parent if pair else path.resolve().parent
            entries.append(Entry(shown, parts, path.stat().st_size, path.read_bytes, (str(home),), path=path))
    return entries

