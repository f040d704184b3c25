"""The labels a run learned from: a copy of its masks and a manifest, taken once when the training starts.

A training copies the mask files of its data folder (and of its validation folder) into ``RUN/labels/``
before it reads any (``LabelSnapshot``) and reads them from there only: a mask saved, cleared or removed
while it trains changes the next run, never this one. ``labels/manifest.json`` says which images the run
saw, whether each was held out, how many pixels of each class were labelled, and each mask file's digest,
so two runs' label sets can be compared (``LabelSet.compare``).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from seg_core.base.atomic import atomic_write_text
from seg_core.data.imageio import MASK_EXTS
from seg_core.data.stacks.files import file_suffix

LABELS = "labels"  # the run folder's copy of its masks
MANIFEST = "manifest.json"
PARTS = {False: "masks", True: "val_masks"}  # held out -> the snapshot's sub-folder for those masks


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


class LabelSnapshot:
    """The copy being taken for the run folder ``run_dir``: ``copy`` each mask folder first, then train on
    the copies and ``finish`` with what was used (or ``discard`` when the data was refused)."""

    def __init__(self, run_dir: str | Path):
        self.root = Path(run_dir) / LABELS
        shutil.rmtree(self.root, ignore_errors=True)  # a run folder trained into again: only this run's labels

    def copy(self, masks: Path, held_out: bool = False) -> Path | None:
        """Copy the mask files of ``masks`` (a data folder's ``masks/``); their copies' folder, or None when
        there is no such folder."""
        if not masks.is_dir():
            return None
        dest = self.root / PARTS[held_out]
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted(masks.iterdir()):
            if p.is_file() and not p.name.startswith(".") and file_suffix(p.name) in MASK_EXTS:  # .nii.gz too
                try:
                    shutil.copyfile(p, dest / p.name)
                except FileNotFoundError:  # removed while copying: the run does not see it
                    pass
        return dest

    def finish(self, used: list[tuple[object, bool, object]], class_names: list[str], sources: dict) -> None:
        """Keep the copies of the masks used and write the manifest. ``used``: (sample, held_out, pixels per
        class or None) for every image the run trains or validates on (samples whose ``mask`` is a copy)."""
        keep = {Path(s.mask).resolve() for s, _, _ in used}
        for part in PARTS.values():
            for p in (self.root / part).glob("*") if (self.root / part).is_dir() else ():
                if p.resolve() not in keep:
                    p.unlink()
        images = []
        for sample, held_out, pixels in used:
            counts = [int(v) for v in pixels] if pixels is not None else [0] * len(class_names)
            images.append({"image": sample.image.name, "stem": sample.stem,
                           "mask": Path(sample.mask).resolve().relative_to(self.root.resolve()).as_posix(), "held_out": held_out,
                           "labelled_pixels": sum(counts), "pixels_per_class": dict(zip(class_names, counts)),
                           "digest": _digest(Path(sample.mask))})
        manifest = {"classes": class_names, "sources": sources, "images": images}
        atomic_write_text(self.root / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.root.parent.rmdir()  # the run folder, when nothing else is in it yet
        except OSError:
            pass


@dataclass
class ImageLabels:
    image: str
    stem: str
    mask: str  # its copy, relative to the run's labels/ folder
    held_out: bool
    labelled_pixels: int
    pixels_per_class: dict[str, int]
    digest: str


@dataclass
class LabelChanges:
    """How run B's labels differ from run A's, by image (stem)."""

    added: list[str] = field(default_factory=list)  # labelled in B only
    removed: list[str] = field(default_factory=list)  # labelled in A only
    changed: list[str] = field(default_factory=list)  # in both, its mask differs
    unchanged: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # in both, held out in one and trained on in the other

    def text(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in (("added", self.added), ("removed", self.removed),
                                             ("changed", self.changed), ("unchanged", self.unchanged)) if v]
        return ", ".join(parts) or "no labelled images in either run"


@dataclass
class LabelSet:
    """A run's manifest, read back."""

    classes: list[str]
    images: list[ImageLabels]
    sources: dict

    @classmethod
    def of(cls, run_dir: str | Path) -> "LabelSet | None":
        """The run's label set; None for a run trained before runs kept their labels. ValueError naming the
        file when the manifest is damaged."""
        f = Path(run_dir) / LABELS / MANIFEST
        if not f.is_file():
            return None
        try:
            data = json.loads(f.read_text())
            images = [ImageLabels(**{k: row[k] for k in ImageLabels.__dataclass_fields__}) for row in data["images"]]
            return cls(list(data["classes"]), images, dict(data.get("sources") or {}))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{f}: not a valid label manifest ({err})") from None

    def trained(self) -> list[ImageLabels]:
        return [i for i in self.images if not i.held_out]

    def held_out(self) -> list[ImageLabels]:
        return [i for i in self.images if i.held_out]

    def summary(self) -> str:
        """``"trained on 8 images (52,310 labelled pixels); 2 held out (13,007)"``."""
        t, h = self.trained(), self.held_out()
        text = f"trained on {len(t)} image(s) ({sum(i.labelled_pixels for i in t):,} labelled pixels)"
        return text + (f"; {len(h)} held out ({sum(i.labelled_pixels for i in h):,})" if h else "; none held out")

    def compare(self, other: "LabelSet") -> LabelChanges:
        """What ``other`` (a later run, say) has that this one has not: images added, removed, changed."""
        a, b = {i.stem: i for i in self.images}, {i.stem: i for i in other.images}
        out = LabelChanges(sorted(set(b) - set(a)), sorted(set(a) - set(b)))
        for stem in sorted(set(a) & set(b)):
            (out.changed if a[stem].digest != b[stem].digest else out.unchanged).append(stem)
            if a[stem].held_out != b[stem].held_out:
                out.moved.append(stem)
        return out
