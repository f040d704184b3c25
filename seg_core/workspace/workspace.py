"""The app's workspace: a folder on disk holding images, masks, classes and runs, written atomically.

Layout: ``<root>/data/{images,masks,classes.json}``, ``<root>/runs/<run>``, ``<root>/trash``, ``<root>/backups``
(replaced masks, ``mask_edits``), ``<root>/proposals`` (runs' predictions waiting for a person, ``proposals``),
``<root>/reviewed.json`` (``review_state``).
Masks store class indices; 255 marks pixels nobody labelled (ignored in training and scoring).
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.dataset import Dataset, scan_dataset
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, read_image, read_mask_raw, write_index_mask
from seg_core.base.mask_values import UNLABELLED, WORKSPACE, workspace_reading
from seg_core.base.atomic import atomic_write, atomic_write_bytes, fsync_dir
from seg_core.workspace.mask_edits import mask_backups, mask_lock, replace_mask, restore_mask
from seg_core.workspace.review_state import set_reviewed
from seg_core.workspace.importing import ImportReport, Importer, bytes_entries, check_colour, path_entries, split_name
from seg_core.runs.folder import Run, list_runs
from seg_core.data.sample import bundled_sample_dir

ENV_VAR = "SEGAPP_WORKSPACE"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR, Path(__file__).resolve().parents[2] / "workspace"))


def _safe_stem(name: str) -> str:
    """A file name's stem as stored: Unicode kept, only separators, control characters and leading dots
    replaced (``importing.split_name``)."""
    return split_name(Path(name).name)[0]


class Workspace:
    def __init__(self, root: Path | None = None, seed_sample: bool = True):
        self.root = Path(root) if root else default_root()
        for d in (self.images_dir, self.masks_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        if seed_sample and not (self.root / ".initialised").exists():
            if not any(self.images_dir.iterdir()):
                self.load_sample()
            (self.root / ".initialised").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
        self._state_unlabelled_value()

    def _state_unlabelled_value(self) -> None:
        """Write classes.json with its unlabelled value (255) when it lacks one, so the data folder
        trains from the command line with no flags (workspaces made before the value was recorded)."""
        f = self.data_dir / "classes.json"
        try:
            if not f.exists() or "unlabelled" not in json.loads(f.read_text()):
                self.save_classes(self.classes())
        except (ValueError, OSError):  # a damaged classes.json is reported by the pages, not fixed here
            pass

    # -- folders ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def masks_dir(self) -> Path:
        return self.data_dir / "masks"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def exports_dir(self) -> Path:
        """Zips and other files built for download (the Review page's masks zip, the Runs page's run zip)."""
        return self.root / "exports"

    # -- classes ------------------------------------------------------------------------------
    def classes(self) -> ClassList:
        f = self.data_dir / "classes.json"
        cl = ClassList.load(f) if f.exists() else ClassList(["background", "foreground"])
        cl.ignore_index = UNLABELLED
        return cl

    def save_classes(self, classes: ClassList) -> None:
        if not 2 <= len(classes) <= UNLABELLED:
            raise ValueError(f"need 2 to {UNLABELLED} classes, got {len(classes)}")
        if len(set(classes.names)) != len(classes.names):
            raise ValueError("class names must be different from each other")
        for i, c in enumerate(classes.colours):
            check_colour(c, f"class {i} ({classes.names[i]})")  # [999, -5, 0] would break every mask save
        classes.ignore_index = UNLABELLED
        classes.save(self.data_dir / "classes.json")

    # -- items --------------------------------------------------------------------------------
    def scan(self) -> Dataset:
        """The data folder as training reads it: its masks hold class indices with 255 unlabelled."""
        return scan_dataset(self.data_dir, classes=self.classes(), ignore_index=UNLABELLED, mask_values="index",
                            require_masks=False, unlabelled_source=WORKSPACE)

    def stems(self) -> list[str]:
        """The images' names; hidden files (``.x.png``: a temporary file left by a killed write) are not images."""
        return sorted(p.stem for p in self.images_dir.iterdir()
                      if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))

    def unlabelled_images(self) -> list[Path]:
        """Image files that have no mask yet (candidates to label next)."""
        out = []
        for stem in self.stems():
            try:
                if not self.mask_path(stem).exists():
                    out.append(self.image_path(stem))
            except FileNotFoundError:  # removed meanwhile
                continue
        return out

    def image_path(self, stem: str) -> Path:
        """The image file whose stem is exactly ``stem`` (``s1`` is not ``s1.v2.png``)."""
        for p in _files_with_stem(self.images_dir, stem):
            if p.suffix.lower() in IMAGE_EXTS:
                return p
        raise FileNotFoundError(f"no image '{stem}' in the workspace")

    def mask_path(self, stem: str) -> Path:
        return self.masks_dir / f"{stem}.png"

    def read_image(self, stem: str) -> np.ndarray:
        return read_image(self.image_path(stem))

    def read_mask(self, stem: str) -> np.ndarray | None:
        """Stored mask (class indices, 255 unlabelled) or None when the image has none yet."""
        p = self.mask_path(stem)
        return read_mask_raw(p).astype(np.uint8) if p.exists() else None

    def save_mask(self, stem: str, mask: np.ndarray) -> None:
        """Write the mask at once (atomically) as an index PNG: class indices and 255 for unlabelled; any
        other value (negative, too large, fractional) is refused naming the file and the values. The data
        folder's classes.json is written first if it does not say 255 is unlabelled, so the folder needs
        no flags on the command line (``python -m seg_core train --data <workspace>/data``)."""
        self.image_path(stem)
        classes = self.classes()
        if np.asarray(mask).dtype.kind == "f" and not np.all(np.mod(mask, 1) == 0):
            raise ValueError(f"{stem}.png: mask holds fractional values or NaN; expected class indices")
        labels = workspace_reading(len(classes), classes.names).labels(np.asarray(mask), f"{stem}.png")
        self._state_unlabelled(classes)
        with mask_lock(self.root):  # never between another writer's read and write (mask_edits)
            write_index_mask(self.mask_path(stem), labels, classes)

    def _state_unlabelled(self, classes: ClassList) -> None:
        """Make the data folder's classes.json say that 255 marks unlabelled pixels (when it does not yet)."""
        f = self.data_dir / "classes.json"
        try:
            stated = f.exists() and ClassList.load(f).ignore_index == UNLABELLED
        except ValueError:
            return  # a damaged classes.json is reported where it is read; never overwritten here
        if not stated:
            self.save_classes(classes)

    def masks_stamp(self) -> tuple[tuple[str, int], ...]:
        """Names and modification times of the stored masks: changes whenever a mask is saved or removed."""
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.masks_dir.iterdir()
                            if p.is_file() and not p.name.startswith(".")))

    def clear_mask(self, stem: str) -> None:
        """Make every pixel of ``stem`` unlabelled again (removes its mask file). The Annotate page's Clear
        uses ``replace_mask(stem, None, ...)``, which keeps a backup. Drops its reviewed mark."""
        with mask_lock(self.root):
            self.mask_path(stem).unlink(missing_ok=True)
            fsync_dir(self.masks_dir)
            set_reviewed(self.root, stem, False)

    # -- whole-mask replacements with a backup (``mask_edits``) --------------------------------
    def replace_mask(self, stem: str, mask: np.ndarray | None, reason: str, reviewed: bool = False) -> Path:
        """Replace the stem's mask (None: clear it) after backing the old one up, marked reviewed or not;
        returns the backup."""
        return replace_mask(self, stem, mask, reason, reviewed)

    def restore_mask(self, stem: str) -> Path:
        """Take the newest backup of the stem's mask back; returns the backup used."""
        return restore_mask(self, stem)

    def mask_backups(self, stem: str) -> list[Path]:
        return mask_backups(self, stem)

    def add_image(self, filename: str, data: bytes, replace: bool = False) -> str:
        """Store one image (checked as an upload is, ``importing``); returns its name. A name that exists
        already is refused (ValueError) unless ``replace`` (the old image goes to the trash)."""
        return self._add_one(filename, data, "image", replace)

    def add_mask(self, filename: str, data: bytes, replace: bool = False) -> str:
        """Store a mask for the image of the same name, as an index PNG; returns that name. An image that
        has a mask keeps it (ValueError) unless ``replace`` (the old mask goes to the trash)."""
        return self._add_one(filename, data, "mask", replace)

    def _add_one(self, filename: str, data: bytes, kind: str, replace: bool) -> str:
        name = f"masks/{Path(filename).name}" if kind == "mask" else Path(filename).name
        rep = Importer(self, replace=replace, rename=False).run(bytes_entries([(name, data)]))
        r = rep.files[0]
        if r.status == "refused":
            raise ValueError(f"{Path(filename).name}: {r.reason}")
        return r.name

    # The imports take ``progress`` (a ``tasks.Count`` per file: "12/40 files") and ``cancel`` (an Event):
    # cancelled, they raise ``tasks.Cancelled`` whose ``partial`` reports the files handled, which stay.
    def import_files(self, files: list[tuple[str, bytes]], replace: bool = False, progress=None,
                     cancel=None) -> ImportReport:
        """Add uploaded files by the import rules (``importing``): images, masks (``*_mask.*`` or files
        under masks/, after the images), ``classes.json``; never overwriting unless ``replace``."""
        return Importer(self, replace=replace).run(bytes_entries(files), progress, cancel)

    def import_uploads(self, images: list[tuple[str, bytes]], masks: list[tuple[str, bytes]] = (),
                       replace: bool = False, progress=None, cancel=None) -> ImportReport:
        """The upload form's files: ``images`` (zips among them are read entry by entry) and ``masks``
        named like their image. One report, a result per file."""
        files = list(images) + [(f"masks/{Path(name).name}", data) for name, data in masks]
        return self.import_files(files, replace=replace, progress=progress, cancel=cancel)

    def import_zip(self, data: bytes, zip_name: str = "upload.zip", replace: bool = False, progress=None,
                   cancel=None) -> ImportReport:
        """A zip holding images (in ``images/`` or anywhere), masks (in ``masks/`` or ``*_mask.*``) and
        optionally ``classes.json``, read entry by entry within the limits (``limits.py``)."""
        return self.import_files([(zip_name, data)], replace=replace, progress=progress, cancel=cancel)

    def import_paths(self, paths: list[str | Path], replace: bool = False, progress=None,
                     cancel=None) -> ImportReport:
        """Files and zips on disk (``python -m seg_core import``): what the Data page's upload does."""
        return Importer(self, replace=replace).run(path_entries(paths), progress, cancel)

    def remove(self, stem: str) -> Path | None:
        """Move an image, its mask and its proposal to a fresh ``trash/<time>_<stem>/`` (recoverable by hand)
        and drop its reviewed mark; returns that folder, or None when there was nothing left to remove (removed
        already, e.g. by a second click)."""
        from seg_core.workspace.importing import move_to_trash
        from seg_core.workspace.proposals import proposal_path

        with mask_lock(self.root):
            files = [(p, "images") for p in _files_with_stem(self.images_dir, stem) if p.suffix.lower() in IMAGE_EXTS]
            for path, sub in ((self.mask_path(stem), "masks"), (proposal_path(self, stem), "proposals"),
                              (proposal_path(self, stem).with_suffix(".json"), "proposals")):
                if path.exists():
                    files.append((path, sub))
            if not files:
                return None
            where = move_to_trash(self, stem, files)
            fsync_dir(self.images_dir)
            fsync_dir(self.masks_dir)
            set_reviewed(self.root, stem, False)
            return where

    def remove_run(self, run: Run) -> Path:
        """Move a run folder to ``trash/runs/`` (recoverable by moving it back); returns where."""
        dest = self.root / "trash" / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}_{run.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run.path), dest)
        return dest

    def load_sample(self, progress=None, cancel=None) -> ImportReport:
        """Copy the bundled sample in (never overwriting an existing file, each copied whole) and adopt its
        classes; ``progress``/``cancel`` as for the imports (cancelled: the files copied stay)."""
        from seg_core.runner.tasks import Steps

        src = bundled_sample_dir()
        rep = ImportReport()
        if not any(self.masks_dir.iterdir()):
            self.save_classes(ClassList.load(src / "classes.json"))
        todo = [(p, dest, sub) for sub, dest in (("images", self.images_dir), ("new", self.images_dir),
                                                  ("masks", self.masks_dir)) for p in sorted((src / sub).glob("*"))]
        steps = Steps(progress, cancel, len(todo), "sample files")
        for i, (p, dest, sub) in enumerate(todo):
            rep.not_imported = [f"{s}/{q.name}" for q, _, s in todo[i:]]
            steps.check(lambda: f"cancelled after {i} of {len(todo)} sample files: the {i} copied are kept "
                                f"({len(rep.added)} image(s)); {len(todo) - i} not copied", rep)
            if not (dest / p.name).exists():
                atomic_write(dest / p.name, lambda tmp, p=p: shutil.copy2(p, tmp))
                if sub != "masks":
                    rep.added.append(p.stem)
            steps.tick(p.name)
        rep.not_imported = None
        return rep

    def save_weights_file(self, filename: str, data: bytes) -> Path:
        """Store an uploaded weights file in ``weights/`` (its own name, no folders); returns its path."""
        dest = self.root / "weights" / Path(filename).name
        atomic_write_bytes(dest, data)
        return dest

    # -- runs ---------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        return list_runs(self.runs_dir)

    def runs_to_continue(self) -> list[Run]:
        """Runs with a checkpoint trained on the workspace's current classes (newest first)."""
        names = self.classes().names
        out = []
        for r in self.runs():
            try:
                if r.has_checkpoint and r.classes.names == names and r.settings.get("backbone") and \
                        r.settings.get("arch"):  # settings: {} when config.json is damaged
                    out.append(r)
            except (OSError, ValueError):  # a damaged run folder is listed on the Runs page, not here
                continue
        return out

    def runs_to_propose(self) -> list[Run]:
        """Runs whose prediction may be offered as a mask: ended (done, cancelled, interrupted: never one still
        training), with a checkpoint, trained on the current classes; newest first."""
        from seg_core.runs.folder import FINISHED

        return [r for r in self.runs_to_continue() if r.state in FINISHED]

    def masks_changed_since(self, when: float) -> int:
        """How many masks were saved after ``when`` (seconds since the epoch)."""
        return sum(1 for p in self.masks_dir.glob("*.png") if not p.name.startswith(".") and p.stat().st_mtime > when)

    def new_run_dir(self, backbone: str) -> Path:
        return self.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}_{backbone}"


def _files_with_stem(folder: Path, stem: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.stem == stem and p.is_file())
