"""Where each thing lives in a workspace folder, and the data folder's classes.

``<root>/data/{images,masks,classes.json}`` (all that training and ``validate`` read), ``<root>/runs/<run>``,
``<root>/proposals`` (``proposals``), ``<root>/backups`` (``masks``), ``<root>/trash`` (``trash``),
``<root>/exports``, ``<root>/weights``, ``<root>/objects.json`` (how objects are found),
``<root>/reviewed.json`` (``review_state``).
Masks store class indices; 255 marks pixels nobody labelled (ignored in training and scoring).
"""
from __future__ import annotations

from pathlib import Path

from seg_core.base.classes import ClassList
from seg_core.base.mask_values import UNLABELLED
from seg_core.data.imageio import IMAGE_EXTS


class Layout:
    """A workspace folder's paths (nothing is created here) and its ``data/classes.json``."""

    def __init__(self, root: Path):
        self.root = Path(root)

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
    def instances_dir(self) -> Path:
        """Instance label images imported with their masks (one id per object), for object scores."""
        return self.data_dir / "instances"

    def instances_path(self, stem: str) -> Path:
        """Image ``stem``'s instance label image (``instances_dir``), kept with its mask and trashed with it."""
        return self.instances_dir / f"{stem}.tif"

    @property
    def classes_file(self) -> Path:
        return self.data_dir / "classes.json"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def exports_dir(self) -> Path:
        """Zips and other files built for download (the Review page's masks zip, the Runs page's run zip)."""
        return self.root / "exports"

    @property
    def objects_file(self) -> Path:
        """How the Review page finds objects (``seg_core.objects.settings.ObjectSettings``)."""
        return self.root / "objects.json"

    @property
    def weights_dir(self) -> Path:
        return self.root / "weights"

    # -- images ---------------------------------------------------------------------------------
    def stems(self) -> list[str]:
        """The images' names; hidden files (``.x.png``: a temporary file left by a killed write) are not images."""
        return sorted(p.stem for p in self.images_dir.iterdir()
                      if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))

    def image_files(self, stem: str) -> list[Path]:
        """The image files whose stem is exactly ``stem`` (``s1`` is not ``s1.v2.png``)."""
        return sorted(p for p in self.images_dir.iterdir()
                      if p.stem == stem and p.is_file() and p.suffix.lower() in IMAGE_EXTS)

    def image_path(self, stem: str) -> Path:
        """The image file whose stem is exactly ``stem``; FileNotFoundError when there is none."""
        found = self.image_files(stem)
        if not found:
            raise FileNotFoundError(f"no image '{stem}' in the workspace")
        return found[0]

    def mask_path(self, stem: str) -> Path:
        return self.masks_dir / f"{stem}.png"

    # -- classes --------------------------------------------------------------------------------
    def classes(self) -> ClassList:
        """The data folder's classes (two default ones before any were saved), 255 unlabelled; ValueError
        naming the file when it is damaged."""
        f = self.classes_file
        cl = ClassList.load(f) if f.exists() else ClassList(["background", "foreground"])
        cl.ignore_index = UNLABELLED
        return cl

    def save_classes(self, classes: ClassList) -> None:
        """Write ``classes`` (checked first: ``ClassList.check``) with 255 as the unlabelled value."""
        classes.check()  # e.g. a colour [999, -5, 0] would break every mask save
        classes.ignore_index = UNLABELLED
        classes.save(self.classes_file)

    def state_unlabelled(self) -> None:
        """Make classes.json say that 255 marks unlabelled pixels when it does not (none yet, or one written
        before the value was recorded), so the data folder trains from the command line with no flags
        (``python -m seg_core train --data <workspace>/data``). A damaged classes.json is left as it is: the
        pages report it."""
        f = self.classes_file
        try:
            if not (f.exists() and ClassList.load(f).ignore_index == UNLABELLED):
                self.save_classes(self.classes())
        except (ValueError, OSError):
            pass
