"""The app's workspace: a folder on disk holding images, masks, classes and runs, written atomically.

Layout: ``<root>/data/{images,masks,classes.json}``, ``<root>/runs/<run>``, ``<root>/trash``.
Masks store class indices; 255 marks pixels nobody labelled (ignored in training and scoring).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .classes import ClassList
from .dataset import Dataset, scan_dataset
from .imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, read_image, read_mask_raw, write_index_mask
from .mask_values import UNLABELLED, is_binary_255
from .atomic import atomic_write_bytes
from .runs import Run, list_runs
from .sample import bundled_sample_dir

ENV_VAR = "SEGAPP_WORKSPACE"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR, Path(__file__).resolve().parent.parent / "workspace"))


def _safe_stem(name: str) -> str:
    stem = Path(name).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "image"


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each names its file


class Workspace:
    def __init__(self, root: Path | None = None, seed_sample: bool = True):
        self.root = Path(root) if root else default_root()
        for d in (self.images_dir, self.masks_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        if seed_sample and not (self.root / ".initialised").exists():
            if not any(self.images_dir.iterdir()):
                self.load_sample()
            (self.root / ".initialised").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))

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
        classes.ignore_index = UNLABELLED
        classes.save(self.data_dir / "classes.json")

    # -- items --------------------------------------------------------------------------------
    def scan(self) -> Dataset:
        return scan_dataset(self.data_dir, classes=self.classes(), require_masks=False)

    def stems(self) -> list[str]:
        return sorted(p.stem for p in self.images_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS)

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
        """Write the mask at once (atomically) as an index PNG."""
        self.image_path(stem)
        n = len(self.classes())
        bad = np.unique(mask[(mask >= n) & (mask != UNLABELLED)])
        if bad.size:
            raise ValueError(f"{stem}.png: values {bad.tolist()} are not classes 0..{n - 1} or {UNLABELLED}")
        write_index_mask(self.mask_path(stem), mask.astype(np.uint8), self.classes())

    def masks_stamp(self) -> tuple[tuple[str, int], ...]:
        """Names and modification times of the stored masks: changes whenever a mask is saved or removed."""
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.masks_dir.iterdir()
                            if p.is_file() and not p.name.startswith(".")))

    def clear_mask(self, stem: str) -> None:
        """Make every pixel of ``stem`` unlabelled again (removes its mask file)."""
        self.mask_path(stem).unlink(missing_ok=True)

    def add_image(self, filename: str, data: bytes) -> str:
        """Store an uploaded image after checking it decodes; returns its stem."""
        if Path(filename).suffix.lower() not in IMAGE_EXTS:
            raise ImageReadError(f"{filename}: not an image type we read ({', '.join(IMAGE_EXTS)})")
        read_image(Path(filename), data)
        stem = _safe_stem(filename)
        for old in _files_with_stem(self.images_dir, stem):
            if old.name != f"{stem}{Path(filename).suffix.lower()}":
                raise ValueError(f"{filename}: an image named '{stem}' already exists ({old.name}); rename one")
        atomic_write_bytes(self.images_dir / f"{stem}{Path(filename).suffix.lower()}", data)
        return stem

    def add_mask(self, filename: str, data: bytes) -> str:
        """Store an uploaded mask for the image of the same name, as an index PNG."""
        stem = _safe_stem(filename)
        if Path(filename).suffix.lower() not in MASK_EXTS:
            raise ImageReadError(f"{filename}: masks must be png, gif or tif class-index images")
        try:
            image = self.image_path(stem)
        except FileNotFoundError:
            raise ValueError(f"{filename}: no image named '{stem}' in the workspace; upload the image first") from None
        classes = self.classes()
        raw = read_mask_raw(Path(filename), classes, data)
        h, w = read_image(image).shape[:2]
        if raw.shape != (h, w):
            raise ValueError(f"{filename}: mask is {raw.shape[1]}x{raw.shape[0]} but {image.name} is {w}x{h}")
        if is_binary_255(raw, None) and len(classes) == 2:
            raw = (raw > 0).astype(np.int32)
        self.save_mask(stem, raw.astype(np.uint8) if raw.max() <= 255 else raw)
        return stem

    def import_files(self, files: list[tuple[str, bytes]]) -> ImportReport:
        """Add uploaded files: images first, then masks (``*_mask.*`` or files under masks/)."""
        rep = ImportReport()
        images, masks = [], []
        for name, data in files:
            parts = Path(name).parts
            is_mask = "masks" in parts or Path(name).stem.endswith("_mask")
            (masks if is_mask else images).append((name, data))
        for name, data in images:
            try:
                rep.added.append(self.add_image(Path(name).name, data))
            except (ValueError, OSError) as err:
                rep.problems.append(str(err))
        for name, data in masks:
            base = Path(name).name.replace("_mask.", ".")
            try:
                self.add_mask(base, data)
            except (ValueError, OSError) as err:
                rep.problems.append(str(err))
        return rep

    def import_uploads(self, images: list[tuple[str, bytes]], masks: list[tuple[str, bytes]] = ()) -> ImportReport:
        """The upload form's files: ``images`` (zips among them are read by ``import_zip``) and ``masks``
        named like their image."""
        is_zip = [name.lower().endswith(".zip") for name, _ in images]
        files = [f for f, z in zip(images, is_zip) if not z] + [(f"masks/{name}", data) for name, data in masks]
        rep = self.import_files(files) if files else ImportReport()
        for (name, data), z in zip(images, is_zip):
            if z:
                more = self.import_zip(data, name)
                rep.added += more.added
                rep.problems += more.problems
        return rep

    def import_zip(self, data: bytes, zip_name: str = "upload.zip") -> ImportReport:
        """A zip holding ``images/`` and ``masks/`` (at any depth), and optionally ``classes.json``."""
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return ImportReport(problems=[f"{zip_name}: not a zip file"])
        files = []
        with z:
            for info in z.infolist():
                p = Path(info.filename)
                if info.is_dir() or p.name.startswith(".") or "__MACOSX" in p.parts:
                    continue
                if p.name == "classes.json":
                    try:
                        self.save_classes(ClassList.from_json(__import__("json").loads(z.read(info))))
                    except (ValueError, KeyError) as err:
                        return ImportReport(problems=[f"{zip_name}/classes.json: {err}"])
                    continue
                if "images" in p.parts or "masks" in p.parts:
                    files.append((info.filename, z.read(info)))
        if not files:
            return ImportReport(problems=[f"{zip_name}: no images/ or masks/ folder inside"])
        rep = self.import_files(files)
        rep.problems = [f"{zip_name}: {p}" for p in rep.problems]
        return rep

    def remove(self, stem: str) -> None:
        """Move an image and its mask to ``trash/`` (recoverable by hand)."""
        trash = self.root / "trash" / f"{time.strftime('%Y%m%d-%H%M%S')}_{stem}"
        (trash / "images").mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.image_path(stem)), trash / "images")
        if self.mask_path(stem).exists():
            (trash / "masks").mkdir(exist_ok=True)
            shutil.move(str(self.mask_path(stem)), trash / "masks")

    def remove_run(self, run: Run) -> Path:
        """Move a run folder to ``trash/runs/`` (recoverable by moving it back); returns where."""
        dest = self.root / "trash" / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}_{run.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run.path), dest)
        return dest

    def load_sample(self) -> ImportReport:
        """Copy the bundled sample in (never overwriting an existing file) and adopt its classes."""
        src = bundled_sample_dir()
        rep = ImportReport()
        if not any(self.masks_dir.iterdir()):
            self.save_classes(ClassList.load(src / "classes.json"))
        for sub, dest in (("images", self.images_dir), ("new", self.images_dir), ("masks", self.masks_dir)):
            for p in sorted((src / sub).glob("*")):
                if not (dest / p.name).exists():
                    shutil.copy2(p, dest / p.name)
                    if sub != "masks":
                        rep.added.append(p.stem)
        return rep

    def save_weights_file(self, filename: str, data: bytes) -> Path:
        """Store an uploaded weights file in ``weights/`` (its own name, no folders); returns its path."""
        dest = self.root / "weights" / Path(filename).name
        atomic_write_bytes(dest, data)
        return dest

    # -- runs ---------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        return list_runs(self.runs_dir)

    def new_run_dir(self, backbone: str) -> Path:
        return self.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}_{backbone}"


def _files_with_stem(folder: Path, stem: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.stem == stem and p.is_file())
