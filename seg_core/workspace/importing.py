"""Bringing files into the workspace: their names, what happens on a clash, size limits, zips, and one
result per file. The Data page's upload and ``python -m seg_core import`` both run ``Importer``.

The rules:

- **Names.** A file keeps its own name, Unicode included (normalised to NFC); only path separators,
  control characters and leading dots become ``_``, and a name too long for the file system is cut.
- **Nothing is overwritten.** An image whose name exists already (letter case aside: it would clash on
  macOS and Windows), or repeats within one upload, is stored as ``name_2`` (``name_3`` …) and the result
  says so; a file identical to the one already stored under that name is refused as a duplicate.
- **Replacing is a choice** (``replace=True``: the Data page's "Replace existing files", ``--replace``):
  the old image, mask or ``classes.json`` goes to ``trash/`` first. A replaced image whose mask no longer
  fits its size sends the mask to the trash too.
- **Masks** pair with the image of the same name (``a.png``, ``masks/a.png`` or ``a_mask.png``): one in
  the same upload (and the same folder of a zip, following it when it was renamed) or one already in the
  workspace. A mask whose size differs from its image is refused, naming both; an image that has a mask
  keeps it unless replacing is chosen.
- **Limits** (``limits.py``) are checked before a file is read or decoded: file size, pixels from the
  header, a zip's entry count and uncompressed total. A zip is read entry by entry, each bounded; entries
  with absolute paths, ``..``, symbolic links, encryption or an unknown compression are refused, and
  nothing is ever extracted by its path (files go to ``data/images`` and ``data/masks`` by name).
- **Progress and cancel**: ``Importer.run`` counts the files handled ("12/40 files"); cancelled, it stops
  before the next file: the files handled stay (each written whole) and are reported, the rest named.
- **classes.json** is checked before it is applied (a JSON object, 2-255 distinct names, colours of three
  integers 0-255). When the workspace holds masks, different classes are applied only when replacing.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import unicodedata
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, image_size, read_image, read_mask_raw
from seg_core.base.limits import LimitError, Limits, exceeded, limits as current_limits
from seg_core.base.mask_values import MAX_CLASSES, upload_reading
from seg_core.runner.tasks import Cancelled, Progress, Steps

if TYPE_CHECKING:
    from seg_core.workspace.workspace import Workspace

IMPORTED, RENAMED, REFUSED = "imported", "renamed", "refused"
MAX_NAME_BYTES = 200  # of a stem in UTF-8: room for "_NN" and the suffix within the usual 255
_JUNK = {".ds_store", "thumbs.db", "desktop.ini"}  # made by file managers, never the user's data
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
REPLACE_HINT = "tick 'Replace existing files' on the Data page or pass --replace; the old one goes to the trash"


# -- names ----------------------------------------------------------------------------------------
def split_name(filename: str) -> tuple[str, str]:
    """``(stem, suffix)`` of a file name: the suffix is lower-cased, the stem made safe (``safe_stem``)."""
    name = unicodedata.normalize("NFC", filename)
    dot = name.rfind(".")
    if dot > 0 and not re.search(r"[/\\]", name[dot:]):
        return safe_stem(name[:dot]), name[dot:].lower()
    return safe_stem(name), ""


def safe_stem(stem: str) -> str:
    """The stem as the user wrote it, Unicode kept; path separators, control characters and leading dots
    become ``_``; cut to ``MAX_NAME_BYTES`` bytes of UTF-8."""
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join("_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cs") else c for c in stem)
    stem = re.sub(r"^\.+", lambda m: "_" * len(m.group()), stem)
    while len(stem.encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem if stem.strip() else "image"


# -- results ------------------------------------------------------------------------------------
@dataclass
class FileResult:
    """What happened to one file: ``imported`` as ``name``, ``renamed`` to ``name``, or ``refused``."""

    file: str  # as the user named it (a zip's entries: "set.zip: a.png")
    status: str  # IMPORTED, RENAMED or REFUSED
    name: str | None = None  # its name in the workspace (an image's or mask's stem; "classes.json")
    reason: str = ""  # refused: why; renamed: why; imported: a note (what was replaced), often empty
    kind: str = "image"  # image, mask, classes, zip or file

    def line(self) -> str:
        if self.status == REFUSED:
            return f"{self.file}: refused: {self.reason}"
        verb = "imported as" if self.status == IMPORTED else "renamed to"
        what = "" if self.kind == "image" else f" ({self.kind})"
        return f"{self.file}: {verb} {self.name}{what}" + (f"; {self.reason}" if self.reason else "")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # images stored, by their workspace name
    problems: list[str] = field(default_factory=list)  # "file: why" of each refused file
    files: list[FileResult] = field(default_factory=list)  # every file, in the order handled
    not_imported: list[str] | None = None  # cancelled: the files not handled (None: not cancelled)

    def add(self, r: FileResult) -> FileResult:
        self.files.append(r)
        if r.status == REFUSED:
            self.problems.append(f"{r.file}: {r.reason}")
        elif r.kind == "image":
            self.added.append(r.name)
        return r

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.files)

    @property
    def any_imported(self) -> bool:
        return any(r.status != REFUSED for r in self.files)

    def lines(self) -> list[str]:
        return [r.line() for r in self.files]

    def notes(self) -> list[tuple[str, str]]:
        """(level, line) for what a user should notice besides the added images and the refusals: renamed
        files ("warning"), stored masks and classes, replacements ("info")."""
        return [("warning" if r.status == RENAMED else "info", r.line()) for r in self.files
                if r.status != REFUSED and (r.status == RENAMED or r.kind != "image" or r.reason)]

    @property
    def cancelled(self) -> bool:
        return self.not_imported is not None

    def cancel_note(self) -> str:
        """What a cancelled import kept: "cancelled after 12 of 40 files: ..." ("" when not cancelled)."""
        if not self.cancelled:
            return ""
        done, left = len(self.files), len(self.not_imported)
        kept = self.count(IMPORTED) + self.count(RENAMED)
        return (f"cancelled after {done} of {done + left} files: the {kept} file(s) imported are kept"
                + (f", {self.count(REFUSED)} refused" if self.count(REFUSED) else "")
                + f"; {left} not imported" + (f" ({_names(self.not_imported)})" if left else ""))

    def to_json(self) -> dict:
        out = {"files": [asdict(r) for r in self.files], "imported": self.count(IMPORTED),
               "renamed": self.count(RENAMED), "refused": self.count(REFUSED)}
        if self.cancelled:  # only then: the keys above are the whole object otherwise
            out |= {"cancelled": True, "not_imported": list(self.not_imported)}
        return out


def _names(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


class Refused(ValueError):
    """One file refused; the message is the reason (without the file's name)."""


# -- sources --------------------------------------------------------------------------------------
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


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[/\\]+", name) if p not in ("", "."))


def _role(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """("image" | "mask" | "classes" | "zip", the folder prefix that pairs images with masks)."""
    name = parts[-1] if parts else ""
    low = name.lower()
    if low == "classes.json":
        return "classes", ()
    if low.endswith(".zip"):
        return "zip", ()
    folders = [i for i, p in enumerate(parts[:-1]) if p.lower() in ("images", "masks")]
    if folders:
        i = folders[-1]
        return ("mask" if parts[i].lower() == "masks" else "image"), parts[:i]
    stem = split_name(name)[0]
    return ("mask" if stem.lower().endswith("_mask") else "image"), parts[:-1]


def bytes_entries(files: list[tuple[str, bytes]], group: tuple = ()) -> list[Entry]:
    """Uploaded files held in memory (``name`` may hold folders, e.g. ``masks/a.png``)."""
    return [Entry(name, _parts(name) or (name,), len(data), (lambda d=data: d), group) for name, data in files]


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
            pair = path.parent.name.lower() in ("images", "masks")
            parts = (path.parent.name, path.name) if pair else (path.name,)
            home = path.resolve().parent.parent if pair else path.resolve().parent
            entries.append(Entry(shown, parts, path.stat().st_size, path.read_bytes, (str(home),), path=path))
    return entries


# -- the importer ---------------------------------------------------------------------------------
class Importer:
    """Imports a batch of files into ``ws`` by the rules above; ``run`` returns the report."""

    def __init__(self, ws: "Workspace", replace: bool = False, rename: bool = True, lim: Limits | None = None):
        self.ws = ws
        self.replace = replace
        self.rename = rename  # False: a clash is refused instead (``Workspace.add_image``)
        self.lim = lim or current_limits()
        self.report = ImportReport()
        self._batch: dict[tuple, str] = {}  # (group, stem as uploaded) -> stem stored
        self._batch_any: dict[str, list[str]] = {}  # stem as uploaded -> stems stored (any group)
        self._batch_taken: set[str] = set()  # casefolded stems stored by this batch
        self._shapes: dict[str, tuple[int, int]] = {}  # stem stored -> (H, W)
        self._masked: dict[str, str] = {}  # stem -> the file that gave it a mask in this batch
        self._classes_from: str | None = None
        self._index: dict[str, list[Path]] | None = None  # casefolded stem -> image files on disk
        self._zips: list[zipfile.ZipFile] = []
        self._keys: list[tuple] = []  # the order key of each result in self.report.files
        self._cls: ClassList | None = None

    # public entry point
    def run(self, entries: list[Entry], progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import ``entries``; ``progress`` gets a Count per file handled ("12/40 files"). When ``cancel`` is
        set, the files handled so far stay (each was written whole) and Cancelled is raised with the report
        of those (``partial``: its ``not_imported`` lists the rest)."""
        try:
            expanded: list[Entry] = []
            for i, e in enumerate(entries):
                e.order = (i, 0)
                role, _ = _role(e.parts)
                if e.refused:
                    self._add(FileResult(e.display, REFUSED, reason=e.refused, kind="file"), e.order)
                elif role == "zip":
                    expanded += self._open_zip(e)
                else:
                    expanded.append(e)
            roles = [(e, *_role(e.parts)) for e in expanded]
            steps = Steps(progress, cancel, len(self.report.files) + len(expanded), "files")
            steps.tick(n=len(self.report.files))  # refused before reading: handled already
            handled: set[int] = set()
            for kind in ("classes", "image", "mask"):  # classes first: masks are read with them
                for e, role, prefix in roles:
                    if role != kind and not (role == "zip" and kind == "image"):
                        continue
                    if steps.cancelled:
                        report = self._ordered()
                        report.not_imported = [x.display for x in expanded if id(x) not in handled]
                        raise Cancelled(report.cancel_note(), report)
                    if role == kind:
                        self._one(e, role, e.group + prefix)
                    else:
                        self._add(FileResult(e.display, REFUSED, reason="a zip inside a zip; unpack it and add its "
                                             "files", kind="zip"), e.order)
                    handled.add(id(e))
                    steps.tick(e.display)
            self.report = self._ordered()
            return self.report
        finally:
            for z in self._zips:
                z.close()

    def _ordered(self) -> ImportReport:
        """The results so far in the order the files were given."""
        report = ImportReport()
        for k in sorted(range(len(self._keys)), key=self._keys.__getitem__):
            report.add(self.report.files[k])
        return report

    def _one(self, e: Entry, role: str, group: tuple) -> None:
        try:
            if e.size is not None:
                self.lim.check_file_size("", e.size)
            fn = {"classes": self._classes, "image": self._image, "mask": self._mask}[role]
            self._add(fn(e, group), e.order)
        except (Refused, LimitError, ImageReadError, ValueError, OSError) as err:
            self._add(FileResult(e.display, REFUSED, reason=_reason(err, e.basename), kind=role), e.order)
        except MemoryError:
            self._add(FileResult(e.display, REFUSED, kind=role, reason=(
                "not enough memory to read it; lower SEG_CORE_MAX_UPLOAD_MB or SEG_CORE_MAX_PIXELS so that "
                "files this large are refused before reading, or use a smaller file")), e.order)

    def _add(self, r: FileResult, key: tuple) -> None:
        self.report.add(r)
        self._keys.append(key)

    def _read(self, e: Entry) -> bytes:
        data = e.read()
        self.lim.check_file_size("", len(data))
        return data

    # -- images ---------------------------------------------------------------------------------
    def _image(self, e: Entry, group: tuple) -> FileResult:
        stem, suffix = split_name(e.basename)
        if suffix not in IMAGE_EXTS:
            raise Refused(f"not an image type we read ({', '.join(IMAGE_EXTS)})")
        data = self._read(e)
        hw = read_image(Path(e.basename), data).shape[:2]  # header limits first, then a full decode
        existing = self._existing_images(stem)
        exact = [p for p in existing if p.stem == stem]
        if stem.casefold() in self._batch_taken:
            why = f"another file in this upload is named '{stem}'"
        elif exact and self.replace:
            return self._replace_image(e, stem, suffix, data, hw, exact, group)
        elif existing:
            why = f"an image named '{existing[0].stem}' already exists ({existing[0].name})"
        elif self._orphan_mask_misfits(stem, hw):
            why = f"a mask named '{stem}' of another size is already in masks/ (without its image)"
        else:
            why = ""
        for n in range(1, 10_000):
            cand = stem if n == 1 else f"{stem}_{n}"
            same = self._identical(cand, data)
            if same is not None:
                raise Refused(f"identical to {same.name}, already in the workspace")
            if n == 1 and why:
                if not self.rename:
                    raise Refused(f"{why}; rename one, or replace it ({REPLACE_HINT})")
                continue
            if not self._free(cand, hw):
                continue
            try:
                _write_new(self.ws.images_dir / f"{cand}{suffix}", data)
            except FileExistsError:  # taken meanwhile (another upload at the same moment)
                continue
            self._stored(cand, self.ws.images_dir / f"{cand}{suffix}")
            self._remember(group, stem, cand, hw)
            if n > 1:
                return FileResult(e.display, RENAMED, cand, why)
            note = "pairs with the mask already in masks/" if self.ws.mask_path(cand).exists() else ""
            return FileResult(e.display, IMPORTED, cand, note)
        raise Refused(f"{why}; no free name left")

    def _replace_image(self, e, stem, suffix, data, hw, old_files, group) -> FileResult:
        if (len(old_files) == 1 and old_files[0].suffix.lower() == suffix
                and old_files[0].stat().st_size == len(data) and old_files[0].read_bytes() == data):
            raise Refused(f"identical to {old_files[0].name}, already in the workspace")
        moved = [(p, "images") for p in old_files]
        note = f"replaced {', '.join(p.name for p in old_files)}"
        mask = self.ws.mask_path(stem)
        if mask.exists():
            try:
                mhw = image_size(mask)
            except ImageReadError:
                mhw = None
            if mhw != tuple(hw):
                moved.append((mask, "masks"))
                old = f"{mhw[1]}x{mhw[0]}" if mhw else "unreadable"
                note += f"; its mask ({old}) did not fit the new size {hw[1]}x{hw[0]} and went to the trash too"
        where = move_to_trash(self.ws, stem, moved)
        for p in old_files:
            self._unstored(p)
        try:
            _write_new(self.ws.images_dir / f"{stem}{suffix}", data)
        except BaseException:
            restore_from_trash(where, moved)
            raise
        self._stored(stem, self.ws.images_dir / f"{stem}{suffix}")
        self._remember(group, stem, stem, hw)
        return FileResult(e.display, IMPORTED, stem, f"{note} (the old files are in {where.relative_to(self.ws.root)})")

    def _existing_images(self, stem: str) -> list[Path]:
        """Image files whose stem equals ``stem`` apart from letter case (from a listing made once)."""
        if self._index is None:
            self._index = {}
            for p in sorted(self.ws.images_dir.iterdir()):
                if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".") and p.is_file():
                    self._index.setdefault(p.stem.casefold(), []).append(p)
        return [p for p in self._index.get(stem.casefold(), []) if p.exists()]

    def _image_file(self, stem: str) -> Path | None:
        """The image whose stem is exactly ``stem`` (as ``Workspace.image_path``, from the listing)."""
        return next((p for p in self._existing_images(stem) if p.stem == stem), None)

    def _stored(self, stem: str, path: Path) -> None:
        self._existing_images(stem)
        self._index.setdefault(stem.casefold(), []).append(path)

    def _unstored(self, path: Path) -> None:
        self._existing_images(path.stem)
        self._index[path.stem.casefold()] = [p for p in self._index.get(path.stem.casefold(), []) if p != path]

    def _orphan_mask_misfits(self, stem: str, hw: tuple[int, int]) -> bool:
        mask = self.ws.mask_path(stem)
        if not mask.exists():
            return False
        try:
            return image_size(mask) != hw
        except ImageReadError:
            return True

    def _free(self, stem: str, hw: tuple[int, int]) -> bool:
        return (stem.casefold() not in self._batch_taken and not self._existing_images(stem)
                and not self._orphan_mask_misfits(stem, hw))

    def _identical(self, stem: str, data: bytes) -> Path | None:
        for p in self._existing_images(stem):
            if p.stem == stem and p.stat().st_size == len(data) and p.read_bytes() == data:
                return p
        return None

    def _remember(self, group: tuple, uploaded: str, stored: str, hw: tuple[int, int]) -> None:
        self._batch[(group, uploaded)] = stored
        self._batch_any.setdefault(uploaded, []).append(stored)
        self._batch_taken.add(stored.casefold())
        self._shapes[stored] = hw

    # -- masks ----------------------------------------------------------------------------------
    def _mask(self, e: Entry, group: tuple) -> FileResult:
        stem, suffix = split_name(e.basename)
        if suffix not in MASK_EXTS:
            raise Refused("masks must be png, gif or tif class-index images")
        if stem.lower().endswith("_mask") and len(stem) > 5:
            stem = stem[:-5]
        target = self._batch.get((group, stem))
        if target is None and len(self._batch_any.get(stem, [])) == 1:
            target = self._batch_any[stem][0]
        if target is None and self._image_file(stem) is not None:
            target = stem
        if target is None:
            raise Refused(f"no image named '{stem}' in the workspace or in this upload; add the image first (a mask "
                          "pairs with the image of the same name)")
        if target in self._masked:
            raise Refused(f"another mask for '{target}' is in this upload ({self._masked[target]})")
        image = self._image_file(target)
        had_mask = self.ws.mask_path(target).exists()
        if had_mask and not self.replace:
            raise Refused(f"'{target}' already has a mask; to replace it, {REPLACE_HINT}")
        data = self._read(e)
        if self._cls is None:  # read once per batch, after any classes.json of the batch was applied
            self._cls = self.ws.classes()
        classes = self._cls
        raw = read_mask_raw(Path(e.basename), classes, data)
        h, w = self._shapes.get(target) or image_size(image)
        if raw.shape != (h, w):
            raise Refused(f"mask is {raw.shape[1]}x{raw.shape[0]} but image {image.name} is {w}x{h}")
        reading = upload_reading(raw, len(classes), _is_palette(data), classes.names)  # mask_values.UPLOAD_RULE
        mask = reading.labels(raw, e.basename)  # refuses values that are neither a class nor unlabelled
        notes = []
        if target != stem:
            notes.append(f"follows its image, renamed from '{stem}'")
        where = None
        if had_mask:
            where = move_to_trash(self.ws, target, [(self.ws.mask_path(target), "masks")])
            notes.append(f"replaced the old mask (now in {where.relative_to(self.ws.root)})")
        try:
            self.ws.save_mask(target, mask)
        except BaseException:
            if where is not None:
                restore_from_trash(where, [(self.ws.mask_path(target), "masks")])
            raise
        self._masked[target] = e.display
        return FileResult(e.display, IMPORTED, target, "; ".join(notes), kind="mask")

    # -- classes --------------------------------------------------------------------------------
    def _classes(self, e: Entry, group: tuple) -> FileResult:
        if self._classes_from is not None:
            raise Refused(f"another classes.json is in this upload ({self._classes_from})")
        self._classes_from = e.display
        new = parse_classes_json(self._read(e))
        old = self.ws.classes()
        if (new.names, new.colours) == (old.names, old.colours):
            return FileResult(e.display, IMPORTED, "classes.json", "the same classes as the workspace's",
                              kind="classes")
        has_masks = any(p.is_file() and not p.name.startswith(".") for p in self.ws.masks_dir.iterdir())
        if has_masks and not self.replace:
            raise Refused(f"the workspace's masks use its classes ({', '.join(old.names)}); to use these "
                          f"({', '.join(new.names)}) instead, {REPLACE_HINT}")
        current = self.ws.data_dir / "classes.json"
        note = f"classes: {', '.join(new.names)}"
        if current.exists():
            where = move_to_trash(self.ws, "classes", [(current, "")])
            note += f" (the old classes.json is in {where.relative_to(self.ws.root)})"
        self.ws.save_classes(new)
        return FileResult(e.display, IMPORTED, "classes.json", note, kind="classes")

    # -- zips -----------------------------------------------------------------------------------
    def _open_zip(self, e: Entry) -> list[Entry]:
        """The zip's files as entries (read later, one at a time), or a refusal for the whole zip."""
        lim = self.lim

        def refuse(why: str) -> list[Entry]:
            self._add(FileResult(e.display, REFUSED, reason=why, kind="zip"), e.order)
            return []

        if e.size is not None and e.size > lim.max_zip_total_bytes:
            return refuse(str(exceeded("", "max_zip_total_mb", f"the zip is {e.size / 2**20:.1f} MB",
                                       f"{lim.max_zip_total_mb:g} MB", lim.max_zip_total_mb, "split it up")))
        src = e.path if e.path is not None else io.BytesIO(e.read())
        try:
            n = _declared_entries(src)
            if n is not None and n > lim.max_zip_entries:
                return refuse(_too_many(n, lim))
            z = zipfile.ZipFile(src)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
            return refuse("not a zip file, or a damaged one")
        self._zips.append(z)
        infos = z.infolist()
        if len(infos) > lim.max_zip_entries:
            return refuse(_too_many(len(infos), lim))
        total = sum(i.file_size for i in infos)
        if total > lim.max_zip_total_bytes:
            return refuse(str(exceeded("", "max_zip_total_mb", f"its files add up to {total / 2**20:.1f} MB "
                                       "uncompressed", f"{lim.max_zip_total_mb:g} MB", lim.max_zip_total_mb,
                                       "split it into smaller zips")))
        files = [i for i in infos if not i.is_dir() and not _junk(i.filename)]
        if not files:
            return refuse("the zip holds no files")
        base_count: dict[str, int] = {}
        for i in files:
            b = (_parts(i.filename) or ("",))[-1]
            base_count[b] = base_count.get(b, 0) + 1
        out = []
        for j, i in enumerate(files):
            parts = _parts(i.filename) or (i.filename,)
            why = _unsafe_entry(i)
            short = base_count.get(parts[-1]) == 1 and not why  # the file's own name, when that is unique
            shown = f"{e.display}: {parts[-1] if short else i.filename}"
            if why:
                self._add(FileResult(shown, REFUSED, reason=why, kind="file"), (*e.order[:1], j))
                continue
            out.append(Entry(shown, parts, i.file_size, _zip_reader(z, i), (e.display,), order=(*e.order[:1], j)))
        return out


def _too_many(n: int, lim: Limits) -> str:
    return str(exceeded("", "max_zip_entries", f"the zip holds {n} files", f"{lim.max_zip_entries} files",
                        lim.max_zip_entries, "split it into smaller zips"))


def _junk(name: str) -> bool:
    parts = _parts(name)
    return not parts or "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1].lower() in _JUNK


def _unsafe_entry(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[/\\]+", name):
        return ("its path inside the zip is absolute or climbs out with '..'; such files are never extracted "
                "(zip the files with plain relative paths)")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link, not a file; zip the file it points to instead"
    if info.flag_bits & 0x1:
        return "encrypted (password-protected); make the zip without a password"
    if info.compress_type not in _ZIP_METHODS:
        return (f"compressed with a method we cannot read (zip method {info.compress_type}); make the zip with "
                "standard Deflate compression")
    return ""


def _zip_reader(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with z.open(info) as f:
                data = f.read(info.file_size + 1)  # zipfile stops at the declared size; checked before
        except zipfile.BadZipFile as err:
            if "CRC" in str(err):
                raise Refused("damaged inside the zip (its checksum does not match); make the zip again") from None
            raise Refused(f"damaged inside the zip ({err}); make the zip again") from None
        except RuntimeError as err:
            if "encrypted" in str(err) or "password" in str(err):
                raise Refused("encrypted (password-protected); make the zip without a password") from None
            raise Refused(f"cannot be read from the zip ({err})") from None
        except NotImplementedError as err:
            raise Refused(f"compressed with a method we cannot read ({err}); make the zip with standard "
                          "Deflate compression") from None
        except (EOFError, zlib.error, OSError, ValueError) as err:
            raise Refused(f"damaged inside the zip ({err or type(err).__name__}); make the zip again") from None
        if len(data) != info.file_size:
            raise Refused("damaged inside the zip (its length differs from the zip's directory); make the zip again")
        return data
    return read


def _declared_entries(src) -> int | None:
    """The entry count from the zip's end record, read before zipfile parses its whole directory."""
    try:
        f = open(src, "rb") if isinstance(src, (str, Path)) else src
        try:
            rec = zipfile._EndRecData(f)  # noqa: SLF001 (stable since Python 2; handles zip64)
        finally:
            if f is not src:
                f.close()
            else:
                src.seek(0)
        return int(rec[zipfile._ECD_ENTRIES_TOTAL]) if rec else None
    except Exception:  # noqa: BLE001 (zipfile will say what is wrong)
        return None


# -- classes.json ---------------------------------------------------------------------------------
def parse_classes_json(data: bytes | str) -> ClassList:
    """A classes.json checked before use: ``{"classes": [{"name", "color"}]}`` or ``{"names", "colors"}``,
    2 to 255 distinct names, each colour three integers 0-255. Raises Refused saying what is wrong."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise Refused(f"not valid JSON ({err})") from None
    example = 'like {"classes": [{"name": "background", "color": [0, 0, 0]}, ...]}'
    if not isinstance(obj, dict):
        raise Refused(f"must be a JSON object {example}, not a {type(obj).__name__}")
    if "classes" in obj:
        items = obj["classes"]
        if not isinstance(items, list):
            raise Refused(f"'classes' must be a list {example}")
        names, colours = [], []
        for i, c in enumerate(items):
            if isinstance(c, dict):
                if "name" not in c:
                    raise Refused(f"class {i} has no name")
                names.append(c["name"])
                if "color" in c or "colour" in c:
                    colours.append(c.get("color", c.get("colour")))
            else:
                names.append(c)
        if colours and len(colours) != len(names):
            raise Refused(f"{len(colours)} colours for {len(names)} classes; give every class a colour or none")
    else:
        names = obj.get("names")
        colours = obj.get("colors", obj.get("colours", []))
        if not isinstance(names, list) or not isinstance(colours, list):
            raise Refused(f"needs a list of class names {example}")
        if colours and len(colours) != len(names):
            raise Refused(f"{len(colours)} colours for {len(names)} classes; give every class a colour or none")
    if not 2 <= len(names) <= MAX_CLASSES:
        raise Refused(f"needs 2 to {MAX_CLASSES} classes, got {len(names)}")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n.strip():
            raise Refused(f"class {i}: the name must be non-empty text, got {n!r}")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise Refused(f"class names must differ from each other ({', '.join(dup)} repeat)")
    for i, c in enumerate(colours):
        check_colour(c, f"class {i} ({names[i]})")
    return ClassList([str(n) for n in names], [tuple(int(v) for v in c) for c in colours])


def check_colour(c, what: str) -> None:
    ok = (isinstance(c, (list, tuple)) and len(c) == 3
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in c))
    if not ok:
        raise Refused(f"{what}: the colour must be three whole numbers 0-255 like [230, 25, 75], got {c!r}")


# -- files ----------------------------------------------------------------------------------------
def _write_new(path: Path, data: bytes) -> None:
    """Write ``path`` whole, atomically, and only if it does not exist (raises FileExistsError), even when
    another writer picks the same name at the same moment."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:50]}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if the name exists: never overwrites
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def move_to_trash(ws: "Workspace", stem: str, files: list[tuple[Path, str]]) -> Path:
    """Move ``files`` (path, sub-folder) to a fresh ``trash/<time>_<stem>/``; returns that folder."""
    base = ws.root / "trash" / f"{time.strftime('%Y%m%d-%H%M%S')}_{stem}"
    dest, n = base, 1
    while True:
        try:
            dest.mkdir(parents=True)
            break
        except FileExistsError:
            n += 1
            dest = base.with_name(f"{base.name}-{n}")
    for p, sub in files:
        (dest / sub).mkdir(parents=True, exist_ok=True)
        shutil.move(str(p), dest / sub / p.name)
    return dest


def restore_from_trash(where: Path, files: list[tuple[Path, str]]) -> None:
    for p, sub in files:
        src = where / sub / p.name
        if src.exists() and not p.exists():
            shutil.move(str(src), p)


def _is_palette(data: bytes) -> bool:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:  # the header only
            return im.mode == "P"
    except Exception:  # noqa: BLE001 (read_mask_raw has read it already; this only asks its mode)
        return False


def _reason(err: Exception, basename: str) -> str:
    """An error's message without the leading file name (the result names the file already)."""
    msg = str(err)
    for prefix in (f"{basename}: ", f"{Path(basename).stem}.png: "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg
