"""The app's workspace: a folder on disk holding images, masks, classes and runs, written atomically.

``Workspace`` is the one object the pages, the command line and the tests hold: the folder's ``Layout``
(where each thing lives, its classes) with its stores: ``masks`` (``MaskStore``: the mask lock, versions,
backups), ``proposals`` (``Proposals``), the imports (``importing``) and the trash (``trash``).
Masks store class indices; 255 marks pixels nobody labelled (ignored in training and scoring).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seg_core.base.atomic import atomic_write, atomic_write_bytes
from seg_core.base.classes import ClassList
from seg_core.base.mask_values import UNLABELLED, WORKSPACE
from seg_core.data.dataset import Dataset, scan_dataset
from seg_core.data.imageio import read_image, read_raw
from seg_core.data.intensities import Intensities
from seg_core.data.sample import bundled_sample_dir
from seg_core.base.progress import Steps
from seg_core.runs.folder import FINISHED, Run, list_runs
from seg_core.workspace.importing.importer import Importer
from seg_core.workspace.importing.combine import combine_channels
from seg_core.workspace.importing.regroup import read_again
from seg_core.workspace.importing.report import REFUSED, FileResult, ImportReport
from seg_core.workspace.importing.sources import bytes_entries, path_entries
from seg_core.workspace.display import DisplaySettings, as_shown_as_stored, shown
from seg_core.workspace.layout import Layout
from seg_core.workspace.masks import MaskStore
from seg_core.workspace.proposals import Proposals
from seg_core.workspace.review_state import set_reviewed
from seg_core.workspace.trash import DIR as TRASH, move_to_trash, restore_from_trash

if TYPE_CHECKING:
    from seg_core.infer.evaluation import Evaluation

ENV_VAR = "SEGAPP_WORKSPACE"  # pins the app to one workspace folder (else it offers the projects: ``projects``)
LEGACY_ROOT = Path(__file__).resolve().parents[2] / "workspace"  # the app's one folder before projects
INITIALISED = ".initialised"  # in a workspace: whether to seed the sample was decided (never seeded twice)


def default_root() -> Path:
    """``Workspace()``'s folder: ``$SEGAPP_WORKSPACE``, else ./workspace beside app.py (which the projects
    adopt: ``projects.Projects.ensure``)."""
    return Path(os.environ.get(ENV_VAR, LEGACY_ROOT))


class Workspace(Layout):
    def __init__(self, root: Path | None = None, seed_sample: bool = True):
        super().__init__(Path(root) if root else default_root())
        self.masks = MaskStore(self)
        self.proposals = Proposals(self.masks)
        for d in (self.images_dir, self.masks_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        if seed_sample and not (self.root / INITIALISED).exists():
            if not any(self.images_dir.iterdir()):
                self.load_sample()
            self.mark_initialised()
        self.state_unlabelled()

    def mark_initialised(self) -> None:
        """From now on never seeded with the sample (``seed_sample``): it was, or it is meant to stay as it is."""
        (self.root / INITIALISED).write_text(time.strftime("%Y-%m-%d %H:%M:%S"))

    # -- items --------------------------------------------------------------------------------
    def scan(self) -> Dataset:
        """The data folder as training reads it: its masks hold class indices with 255 unlabelled."""
        return scan_dataset(self.data_dir, classes=self.classes(), ignore_index=UNLABELLED, mask_values="index",
                            require_masks=False, unlabelled_source=WORKSPACE)

    def evaluate(self, run: Run) -> Evaluation:
        """``run``'s scores on the workspace's labelled images, read as ``scan`` reads them (class indices,
        255 unlabelled): ``seg_core.infer.evaluation.evaluate_run``'s result (loads torch when called)."""
        from seg_core.infer.evaluation import evaluate_run

        return evaluate_run(run, self.data_dir, ignore_index=UNLABELLED, mask_values="index", require_masks=False,
                            unlabelled_source=WORKSPACE)

    def unlabelled_images(self) -> list[Path]:
        """Image files that have no mask yet (candidates to label next)."""
        return self._images(labelled=False)

    def labelled_images(self) -> list[Path]:
        """Image files that have a mask (what "label next" counts as covered, besides a run's own images)."""
        return self._images(labelled=True)

    def _images(self, labelled: bool) -> list[Path]:
        out = []
        for stem in self.stems():
            try:
                if self.mask_path(stem).exists() == labelled:
                    out.append(self.image_path(stem))
            except FileNotFoundError:  # removed meanwhile
                continue
        return out

    def read_image(self, stem: str, intensities: Intensities | None = None) -> np.ndarray:
        """The image as a model reads it; ``intensities``: a run's ranges for 16-bit and float images (None: each
        such image stretched by itself, as shown)."""
        return read_image(self.image_path(stem), intensities=intensities)

    @property
    def display(self) -> DisplaySettings:
        """How the images are shown (``display.json``): never what a model reads."""
        return DisplaySettings(self.root)

    def read_stored(self, stem: str) -> tuple[np.ndarray, list[str], bool]:
        """The image's values as stored (H, W, channels, alpha left out), its channels' names
        (``ImageHeader.names``: the file's own, else red, green, blue (then channel 4 ..) for an RGB file, gray,
        or channel 1 ..) and whether it is shown as it is (8-bit gray or RGB)."""
        raw, hdr = read_raw(self.image_path(stem))
        raw = raw[..., :-1] if hdr.alpha and raw.shape[-1] in (2, 4) else raw
        return raw, list(hdr.names), as_shown_as_stored(raw)

    def shown_image(self, stem: str) -> np.ndarray:
        """The image as shown on the pages (uint8 RGB): 8-bit gray or RGB as it is, others mixed from their
        channels by the project's display settings (``display``)."""
        raw, names, _ = self.read_stored(stem)
        return shown(raw, False, self.display, names)

    # -- masks (``MaskStore``) -----------------------------------------------------------------
    def read_mask(self, stem: str) -> np.ndarray | None:
        """Stored mask (class indices, 255 unlabelled) or None when the image has none yet."""
        return self.masks.read(stem)

    def save_mask(self, stem: str, mask: np.ndarray) -> None:
        """Write the mask at once as an index PNG (``MaskStore.save``: every value checked)."""
        self.masks.save(stem, mask)

    def clear_mask(self, stem: str) -> None:
        """Make every pixel of ``stem`` unlabelled again (removes its mask file). The Annotate page's Clear
        uses ``replace_mask(stem, None, ...)``, which keeps a backup. Drops its reviewed mark."""
        self.masks.clear(stem)

    def masks_stamp(self) -> tuple[tuple[str, int], ...]:
        """Names and modification times of the stored masks: changes whenever a mask is saved or removed."""
        return self.masks.stamp()

    def masks_changed_since(self, when: float) -> int:
        """How many masks were saved after ``when`` (seconds since the epoch)."""
        return self.masks.changed_since(when)

    def replace_mask(self, stem: str, mask: np.ndarray | None, reason: str, reviewed: bool = False) -> Path:
        """Replace the stem's mask (None: clear it) after backing the old one up, marked reviewed or not;
        returns the backup."""
        return self.masks.replace(stem, mask, reason, reviewed)

    def restore_mask(self, stem: str) -> Path:
        """Take the newest backup of the stem's mask back; returns the backup used."""
        return self.masks.restore(stem)

    def mask_backups(self, stem: str) -> list[Path]:
        return self.masks.backups(stem)

    # -- imports (``importing``) ----------------------------------------------------------------
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
        rep = Importer(self.masks, replace=replace, rename=False).run(bytes_entries([(name, data)]))
        r = rep.files[0]
        if r.status == "refused":
            raise ValueError(f"{Path(filename).name}: {r.reason}")
        return r.name

    # The imports take ``progress`` (a ``Count`` per file: "12/40 files") and ``cancel`` (an Event):
    # cancelled, they raise ``Cancelled`` (``seg_core.base.progress``) whose ``partial`` reports the files handled, which stay.
    def import_files(self, files: list[tuple[str, bytes]], replace: bool = False, progress=None,
                     cancel=None, annotations=None) -> ImportReport:
        """Add uploaded files by the import rules (``importing``): images, masks (``*_mask.*`` or files
        under masks/, after the images), ``classes.json``, annotation files and instance label images
        (``annotations``: an ``AnnotationChoices``); never overwriting unless ``replace``."""
        return Importer(self.masks, replace=replace, annotations=annotations).run(bytes_entries(files), progress,
                                                                                   cancel)

    def import_uploads(self, images: list[tuple[str, bytes]], masks: list[tuple[str, bytes]] = (),
                       replace: bool = False, progress=None, cancel=None,
                       axes: dict[str, str] | None = None, annotations=None) -> ImportReport:
        """The upload form's files: ``images`` (zips among them are read entry by entry) and ``masks``
        named like their image; ``axes``: the order of the axes chosen for files that name none, by file name.
        One report, a result per file."""
        files = list(images) + [(f"masks/{Path(name).name}", data) for name, data in masks]
        return Importer(self.masks, replace=replace, axes=axes, annotations=annotations).run(
            bytes_entries(files), progress, cancel)

    def import_combined(self, files: list[tuple[str, bytes]], name: str, replace: bool = False, progress=None,
                        cancel=None) -> ImportReport:
        """Files of one channel each joined into one image ``name`` of as many channels, in order
        (``importing.combine``), then imported by the rules. A refusal (sizes or pixel types that differ, a file
        of several channels) is the report's one result, naming the files."""
        shown = f"{name} (joined from {', '.join(Path(n).name for n, _ in files)})"
        try:
            data, _ = combine_channels(list(files))
        except ValueError as err:
            rep = ImportReport()
            rep.add(FileResult(shown, REFUSED, reason=str(err), kind="image"))
            return rep
        entry = bytes_entries([(f"{name}.tif", data)])[0]
        entry.display = shown
        return Importer(self.masks, replace=replace).run([entry], progress, cancel)

    def read_again(self, stem: str, axes: str) -> ImportReport:
        """Read the file whose axes were guessed at import (imported as ``stem``'s planes) again with ``axes``
        (``importing.regroup``; the guesses: ``importing.guesses.guesses``)."""
        return read_again(self, stem, axes)

    def import_zip(self, data: bytes, zip_name: str = "upload.zip", replace: bool = False, progress=None,
                   cancel=None) -> ImportReport:
        """A zip holding images (in ``images/`` or anywhere), masks (in ``masks/`` or ``*_mask.*``) and
        optionally ``classes.json``, read entry by entry within the limits (``limits.py``)."""
        return self.import_files([(zip_name, data)], replace=replace, progress=progress, cancel=cancel)

    def import_paths(self, paths: list[str | Path], replace: bool = False, progress=None,
                     cancel=None, axes: str | None = None, annotations=None) -> ImportReport:
        """Files and zips on disk (``python -m seg_core import``): what the Data page's upload does; ``axes``: the
        order of the axes of every TIFF among them (``--axes``), in place of the file's or the guess."""
        return Importer(self.masks, replace=replace, axes=axes, annotations=annotations).run(
            path_entries(paths), progress, cancel)

    def load_sample(self, progress=None, cancel=None) -> ImportReport:
        """Copy the bundled sample in (never overwriting an existing file, each copied whole) and adopt its
        classes; ``progress``/``cancel`` as for the imports (cancelled: the files copied stay)."""
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
        dest = self.weights_dir / Path(filename).name
        atomic_write_bytes(dest, data)
        return dest

    # -- removing (``trash``) -------------------------------------------------------------------
    def remove(self, stem: str) -> Path | None:
        """Move an image, its mask, its proposal and its instance label image (imported for object scores) to a
        fresh trash folder (``trash``; ``restore_removed`` puts them back) and drop its reviewed mark; returns that
        folder, or None when there was nothing left to remove (removed already, e.g. by a second click)."""
        with self.masks.lock():
            files = self.image_files(stem) + [p for p in (self.mask_path(stem), self.proposals.path(stem),
                                                          self.proposals.info_path(stem), self.instances_path(stem))
                                              if p.exists()]
            if not files:
                return None
            where = move_to_trash(self.root, stem, files)
            set_reviewed(self.root, stem, False)
            return where

    def removed_images(self) -> list[tuple[str, Path]]:
        """The images ``remove`` moved to the trash that ``restore_removed`` can put back (no image of their
        name is in the project now), newest first: (image name, its trash folder)."""
        found, present = [], set(self.stems())
        trash, images = self.root / TRASH, self.images_dir.relative_to(self.root)
        for folder in (sorted(trash.iterdir()) if trash.is_dir() else []):
            if (folder / images).is_dir():
                found += [(p.stem, folder) for p in sorted((folder / images).iterdir())
                          if p.is_file() and p.stem not in present]
        return sorted(found, key=lambda f: f[1].name, reverse=True)

    def restore_removed(self, where: Path) -> list[Path]:
        """Put back what ``remove`` moved to the trash folder ``where``: the image with its mask, proposal and
        instance label image, each at its place (not its reviewed mark); returns the files restored. Refused
        (ValueError, nothing moved) when an image of that name is in the workspace again (its mask would not be
        this one's)."""
        where = Path(where)
        files = sorted(p for p in where.rglob("*") if p.is_file())
        images = [p for p in files if p.parent == where / self.images_dir.relative_to(self.root)]
        with self.masks.lock():
            present = set(self.stems())
            for p in images:
                if p.stem in present:
                    raise ValueError(f"{where.name}: an image named '{p.stem}' is in the project again; remove or "
                                     "rename it first, then restore this one")
            targets = [self.root / p.relative_to(where) for p in files]
            for t in targets:
                t.parent.mkdir(parents=True, exist_ok=True)
            restore_from_trash(self.root, where, targets)
            return [t for t in targets if t.exists() and not (where / t.relative_to(self.root)).exists()]

    def remove_run(self, run: Run) -> Path:
        """Move a run folder to the trash (recoverable by moving it back); returns where it is now."""
        where = move_to_trash(self.root, run.name, [run.path])
        return where / run.path.relative_to(self.root)

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
        return [r for r in self.runs_to_continue() if r.state in FINISHED]

    def other_classes(self, run: Run) -> str | None:
        """A short note when ``run`` was trained on other classes than the workspace has now (renamed,
        removed, merged, added or reordered since): its masks would be mislabelled, so it is not offered for
        proposing masks nor for continuing (``runs_to_continue``). None when the classes match or cannot be read
        (a damaged run is reported elsewhere)."""
        try:
            theirs, ours = run.classes.names, self.classes().names
        except (OSError, ValueError):
            return None
        if theirs == ours:
            return None
        return (f"Trained on other classes ({', '.join(theirs)}) than this project has now ({', '.join(ours)}): "
                "not offered for proposing masks or for continuing training.")

    def new_run_dir(self, backbone: str) -> Path:
        return self.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}_{backbone}"
