"""The importer: a batch of files into the workspace by the rules (``importing``): classes first, then
images (clashes renamed or refused, replacing by choice), then masks paired with their images."""
from __future__ import annotations

import os
import tempfile
import threading
import zipfile
from pathlib import Path

from seg_core.base.classes import ClassList
from seg_core.base.limits import LimitError, Limits, limits as current_limits
from seg_core.base.mask_values import upload_reading
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, ImageHeader, ImageReadError, image_size, is_palette_mask, \
    mask_values, model_rgb, read_header, read_image, read_mask_raw
from seg_core.data.channel_layout import LayoutGuard
from seg_core.data.stacks.axes import guessed
from seg_core.data.stacks.files import NIFTI_SUFFIXES, StackFile, is_stack_format, read_stack_header
from seg_core.data.stacks.planes import plane_stem
from seg_core.data.stacks.writing import plane_tiff
from seg_core.base.progress import Cancelled, Progress, Steps
from seg_core.workspace.importing.annotations import AnnotationChoices, AnnotationImports
from seg_core.workspace.importing.names import split_name
from seg_core.workspace.importing.report import IMPORTED, REFUSED, RENAMED, FileResult, ImportReport, Refused
from seg_core.workspace.importing.sources import Entry, role_of
from seg_core.workspace.importing.guesses import guessed_note, record_guess
from seg_core.workspace.importing.zips import open_zip
from seg_core.workspace.masks import MaskStore
from seg_core.workspace.planes import is_plane_of
from seg_core.workspace.trash import move_to_trash, restore_from_trash

REPLACE_HINT = "tick 'Replace existing files' on the Data page or pass --replace; the old one goes to the trash"


class Importer(AnnotationImports):
    """Imports a batch of files into the workspace whose masks ``masks`` stores, by the rules (``importing``);
    ``run`` returns the report."""

    def __init__(self, masks: MaskStore, replace: bool = False, rename: bool = True, lim: Limits | None = None,
                 axes: str | dict[str, str] | None = None, annotations: AnnotationChoices | None = None):
        """``axes``: the order of the axes of TIFF images (``stacks.axes.given_axes``), for every one, or by
        file name (``Entry.basename``); where none is given, a file that names no axes is read as depth and its
        result says so (``guessed_note``). ``annotations``: the annotation files' classes (``annotations``)."""
        self.masks = masks
        self.axes = axes
        self.choices = annotations or AnnotationChoices()
        self.layout = masks.layout  # the folders, the classes
        self.replace = replace
        self.rename = rename  # False: a clash is refused instead (``Workspace.add_image``)
        self.lim = lim or current_limits()
        self.report = ImportReport()
        self.channels = LayoutGuard(self.layout.images_dir, IMAGE_EXTS)  # one channel layout per project
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
                role, _ = role_of(e.parts)
                if e.refused:
                    self._add(FileResult(e.display, REFUSED, reason=e.refused, kind="file"), e.order)
                elif role == "zip":
                    z, inside, refused = open_zip(e, self.lim)
                    self._zips += [z] if z is not None else []
                    for r, key in refused:
                        self._add(r, key)
                    expanded += inside
                else:
                    expanded.append(e)
            roles = [(e, *role_of(e.parts)) for e in expanded]
            steps = Steps(progress, cancel, len(self.report.files) + len(expanded), "files")
            steps.tick(n=len(self.report.files))  # refused before reading: handled already
            handled: set[int] = set()
            for kind in ("classes", "image", "mask", "annotations", "instances"):  # classes first: masks are read
                # with them; annotations after masks, so that a mask and annotations for one image clash
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
            fn = {"classes": self._classes, "image": self._image, "mask": self._mask,
                  "annotations": self._annotations, "instances": self._instances}[role]
            result = fn(e, group)
            for r in result if isinstance(result, list) else [result]:  # a stack: a result per plane
                self._add(r, e.order)
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
    def _image(self, e: Entry, group: tuple) -> FileResult | list[FileResult]:
        stem, suffix = split_name(e.basename)
        if suffix not in IMAGE_EXTS:
            raise Refused(f"not an image type we read ({', '.join(IMAGE_EXTS)})")
        data = self._read(e)
        if is_stack_format(e.basename):
            given = self._axes_of(e)
            stack = read_stack_header(Path(e.basename), data, self.lim, given)  # all planes' pixels within the limit
            self.channels.check(e.basename, ImageHeader.of_plane(stack).names)  # another count: refused
            if stack.planes > 1 or suffix in NIFTI_SUFFIXES or given:
                results = self._planes(e, group, stem, data, given)
                if guessed(stack) and results:
                    stored = [r.name for r in results if r.status != REFUSED]
                    record_guess(self.layout.root, stem, e.basename, stack, stored)
                    results[0].reason = "; ".join(filter(None, [results[0].reason, guessed_note(stack)]))
                return results
        else:
            self.channels.check(e.basename, read_header(Path(e.basename), data).names)  # another count: refused
        hw = read_image(Path(e.basename), data).shape[:2]  # header limits first, then a full decode
        return self._store(e, group, stem, suffix, data, hw)

    def _axes_of(self, e: Entry) -> str | None:
        """The order of the axes given for ``e`` (all files', or its own by name), None for the file's own."""
        return self.axes.get(e.basename) if isinstance(self.axes, dict) else self.axes

    def _planes(self, e: Entry, group: tuple, stem: str, data: bytes, axes: str | None = None) -> list[FileResult]:
        """A stack's (or a NIfTI file's) planes, each an image of its own named ``<stem>_z<NN>``
        (``stacks.planes``), stored as a TIFF of its values as they are; read one plane at a time (``axes``: the
        order of the file's axes the user gave)."""
        results = []
        with StackFile(Path(e.basename), data, self.lim, axes) as f:
            hdr = f.header
            for i, label in enumerate(hdr.labels()):
                shown = f"{e.display}, plane {label}" if label else e.display
                try:
                    raw = f.plane(i)
                    model_rgb(raw if raw.ndim == 3 else raw[..., None], shown, ImageHeader.of_plane(hdr))  # as
                    # read_image would refuse it: channels, NaN
                    plane = Entry(shown, e.parts, None, bytes, e.group, order=e.order)
                    results.append(self._store(plane, group, plane_stem(stem, label), ".tif", plane_tiff(raw, hdr),
                                               raw.shape[:2]))
                except (Refused, ImageReadError, ValueError, OSError) as err:
                    results.append(FileResult(shown, REFUSED, reason=_reason(err, shown), kind="image"))
        return results

    def _store(self, e: Entry, group: tuple, stem: str, suffix: str, data: bytes,
               hw: tuple[int, int]) -> FileResult:
        """Store an image's ``data`` as ``<stem><suffix>``, renamed (or refused) on a clash, replacing by choice."""
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
                write_new(self.layout.images_dir / f"{cand}{suffix}", data)
            except FileExistsError:  # taken meanwhile (another upload at the same moment)
                continue
            self._stored(cand, self.layout.images_dir / f"{cand}{suffix}")
            self._remember(group, stem, cand, hw)
            if n > 1:
                return FileResult(e.display, RENAMED, cand, why)
            note = "pairs with the mask already in masks/" if self.layout.mask_path(cand).exists() else ""
            return FileResult(e.display, IMPORTED, cand, note)
        raise Refused(f"{why}; no free name left")

    def _replace_image(self, e, stem, suffix, data, hw, old_files, group) -> FileResult:
        if (len(old_files) == 1 and old_files[0].suffix.lower() == suffix
                and old_files[0].stat().st_size == len(data) and old_files[0].read_bytes() == data):
            raise Refused(f"identical to {old_files[0].name}, already in the workspace")
        moved = list(old_files)
        note = f"replaced {', '.join(p.name for p in old_files)}"
        mask = self.masks.path(stem)
        if mask.exists():
            try:
                mhw = image_size(mask)
            except ImageReadError:
                mhw = None
            if mhw != tuple(hw):
                moved += [p for p in (mask, self.layout.instances_path(stem)) if p.exists()]  # its objects too
                old = f"{mhw[1]}x{mhw[0]}" if mhw else "unreadable"
                note += f"; its mask ({old}) did not fit the new size {hw[1]}x{hw[0]} and went to the trash too"
        where = move_to_trash(self.layout.root, stem, moved)
        for p in old_files:
            self._unstored(p)
        try:
            write_new(self.layout.images_dir / f"{stem}{suffix}", data)
        except BaseException:
            restore_from_trash(self.layout.root, where, moved)
            raise
        self._stored(stem, self.layout.images_dir / f"{stem}{suffix}")
        self._remember(group, stem, stem, hw)
        return FileResult(e.display, IMPORTED, stem, f"{note} (the old files are in {where.relative_to(self.layout.root)})")

    def _listing(self) -> dict[str, list[Path]]:
        """The workspace's image files by stem in lower case, listed once (and kept up to date by ``_stored`` and
        ``_unstored``)."""
        if self._index is None:
            self._index = {}
            for p in sorted(self.layout.images_dir.iterdir()):
                if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".") and p.is_file():
                    self._index.setdefault(p.stem.casefold(), []).append(p)
        return self._index

    def _existing_images(self, stem: str) -> list[Path]:
        """Image files whose stem equals ``stem`` apart from letter case (from the listing made once)."""
        return [p for p in self._listing().get(stem.casefold(), []) if p.exists()]

    def _listed_stems(self) -> list[str]:
        """The stems of every image file in the workspace (from the listing made once; not checked on disk, so a
        lookup per annotated plane costs no file system call per image)."""
        return [p.stem for paths in self._listing().values() for p in paths]

    def _image_file(self, stem: str) -> Path | None:
        """The image whose stem is exactly ``stem`` (as ``Layout.image_path``, from the listing)."""
        return next((p for p in self._existing_images(stem) if p.stem == stem), None)

    def _stored(self, stem: str, path: Path) -> None:
        self._listing().setdefault(stem.casefold(), []).append(path)

    def _unstored(self, path: Path) -> None:
        listing = self._listing()
        listing[path.stem.casefold()] = [p for p in listing.get(path.stem.casefold(), []) if p != path]

    def _orphan_mask_misfits(self, stem: str, hw: tuple[int, int]) -> bool:
        mask = self.layout.mask_path(stem)
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
    def _mask(self, e: Entry, group: tuple) -> FileResult | list[FileResult]:
        stem, suffix = split_name(e.basename)
        if suffix not in MASK_EXTS:
            raise Refused("masks must be png, gif, tif or NIfTI class-index images")
        if stem.lower().endswith("_mask") and len(stem) > 5:
            stem = stem[:-5]
        if is_stack_format(e.basename):
            data = self._read(e)
            stack = read_stack_header(Path(e.basename), data, self.lim)
            if stack.planes > 1 or suffix in NIFTI_SUFFIXES:
                return self._mask_planes(e, group, stem, data, stack)
        target, image, had_mask = self._mask_target(stem, group)
        data = self._read(e)
        raw = read_mask_raw(Path(e.basename), self._classes_now(), data)
        return self._save_mask(e.display, e.basename, stem, target, image, had_mask, raw,
                               is_palette_mask(Path(e.basename), data))

    def _mask_planes(self, e: Entry, group: tuple, stem: str, data: bytes, stack) -> list[FileResult]:
        """A mask stack: each plane the mask of the image of its plane (``<stem>_z<NN>``), read one at a time."""
        planes = self._image_planes(stem, group)
        if planes and len(planes) != stack.planes:
            raise Refused(f"the mask stack has {stack.planes} planes but image {stem} has {len(planes)} ("
                          f"{planes[0]} .. {planes[-1]}); a mask stack needs one plane per image plane, in the same "
                          "order")
        results = []
        with StackFile(Path(e.basename), data, self.lim) as f:
            for i, label in enumerate(stack.labels()):
                shown = f"{e.display}, plane {label}" if label else e.display
                try:
                    target, image, had_mask = self._mask_target(plane_stem(stem, label), group)
                    raw = mask_values(f.plane(i), shown, self._classes_now())
                    results.append(self._save_mask(shown, shown, plane_stem(stem, label), target, image, had_mask,
                                                   raw, False))
                except (Refused, ImageReadError, ValueError, OSError) as err:
                    results.append(FileResult(shown, REFUSED, reason=_reason(err, shown), kind="mask"))
        return results

    def _image_planes(self, stem: str, group: tuple) -> list[str]:
        """The images that are planes of a stack named ``stem`` (``<stem>_z<NN>``, ``_t<NN>``, ``_t<NN>_z<NN>``):
        those this upload stored from it, else those in the workspace."""
        stored = sorted(v for (g, k), v in self._batch.items() if g == group and is_plane_of(k, stem))
        if stored:
            return stored
        return sorted(name for name in self._listed_stems() if is_plane_of(name, stem) and self._image_file(name))

    def _classes_now(self) -> ClassList:
        if self._cls is None:  # read once per batch, after any classes.json of the batch was applied
            self._cls = self.layout.classes()
        return self._cls

    def _mask_target(self, stem: str, group: tuple) -> tuple[str, Path, bool]:
        """(the image a mask named ``stem`` pairs with, its file, whether it has a mask) or Refused why none."""
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
        had_mask = self.masks.path(target).exists()
        if had_mask and not self.replace:
            raise Refused(f"'{target}' already has a mask; to replace it, {REPLACE_HINT}")
        return target, self._image_file(target), had_mask

    def _save_mask(self, shown: str, name: str, stem: str, target: str, image: Path, had_mask: bool, raw,
                   palette: bool) -> FileResult:
        """Check the mask's values ``raw`` against its image and the classes (messages name ``name``), and store
        it for ``target``; the result shows ``shown``."""
        classes = self._classes_now()
        h, w = self._shapes.get(target) or image_size(image)
        if raw.shape != (h, w):
            raise Refused(f"mask is {raw.shape[1]}x{raw.shape[0]} but image {image.name} is {w}x{h}")
        reading = upload_reading(raw, len(classes), palette, classes.names)  # mask_values.UPLOAD_RULE
        mask = reading.labels(raw, name)  # refuses values that are neither a class nor unlabelled
        notes = []
        if target != stem:
            notes.append(f"follows its image, renamed from '{stem}'")
        where = None
        if had_mask:  # the old mask, and the instance label image of its objects where one was imported
            old = [p for p in (self.masks.path(target), self.layout.instances_path(target)) if p.exists()]
            where = move_to_trash(self.layout.root, target, old)
            notes.append(f"replaced the old mask (now in {where.relative_to(self.layout.root)})")
        try:
            self.masks.save(target, mask)
        except BaseException:
            if where is not None:
                restore_from_trash(self.layout.root, where, old)
            raise
        self._masked[target] = shown
        return FileResult(shown, IMPORTED, target, "; ".join(notes), kind="mask")

    # -- classes --------------------------------------------------------------------------------
    def _classes(self, e: Entry, group: tuple) -> FileResult:
        if self._classes_from is not None:
            raise Refused(f"another classes.json is in this upload ({self._classes_from})")
        self._classes_from = e.display
        new = ClassList.from_json(self._read(e), strict=True)
        old = self.layout.classes()
        if (new.names, new.colours) == (old.names, old.colours):
            return FileResult(e.display, IMPORTED, "classes.json", "the same classes as the workspace's",
                              kind="classes")
        has_masks = any(p.is_file() and not p.name.startswith(".") for p in self.layout.masks_dir.iterdir())
        if has_masks and not self.replace:
            raise Refused(f"the workspace's masks use its classes ({', '.join(old.names)}); to use these "
                          f"({', '.join(new.names)}) instead, {REPLACE_HINT}")
        current = self.layout.classes_file
        note = f"classes: {', '.join(new.names)}"
        if current.exists():
            where = move_to_trash(self.layout.root, "classes", [current])
            note += f" (the old classes.json is in {where.relative_to(self.layout.root)})"
        self.layout.save_classes(new)
        return FileResult(e.display, IMPORTED, "classes.json", note, kind="classes")



def write_new(path: Path, data: bytes) -> None:
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



def _reason(err: Exception, basename: str) -> str:
    """An error's message without the leading file name (the result names the file already)."""
    msg = str(err)
    for prefix in (f"{basename}: ", f"{Path(basename).stem}.png: "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg
