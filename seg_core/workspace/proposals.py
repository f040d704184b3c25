"""Proposals: a run's prediction for an image, kept on disk until a person accepts or rejects it.

A proposal is ``<root>/proposals/<stem>.png`` (an index mask like the masks, written atomically, so a reload
or a server restart keeps it and the corrections painted on it) with ``<stem>.json`` naming the run. It lives
outside ``<root>/data``, whose ``images/`` and ``masks/`` are all that training and ``validate`` read: a
proposal is never taken for a label. ``Proposals`` (``Workspace.proposals``) works under the mask store's lock:

- ``save``: the prediction, at once (a proposal there already goes to the trash first);
- ``save_patches``: canvas edits laid onto a fresh read of the proposal (as ``MaskStore.save_patches``);
- ``accept``: it becomes the mask through ``MaskStore.replace`` (the old mask backed up and restorable), the
  image is marked reviewed (``review_state``), the proposal removed;
- ``reject``: the proposal goes to the trash (``trash``), the mask untouched;
- ``best_run``: the run proposed by default (the highest best validation mIoU).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seg_core.base.atomic import atomic_write_text, fsync_dir
from seg_core.data.imageio import read_mask_raw, write_index_mask
from seg_core.workspace.label_patches import Patch, apply_patches, check_patch
from seg_core.workspace.masks import MaskStore, PatchSave, mask_version
from seg_core.workspace.trash import move_to_trash

if TYPE_CHECKING:
    from seg_core.runs.folder import Run

DIR = "proposals"


@dataclass
class Proposal:
    stem: str
    run: str  # the run that predicted it ("" when its .json is missing or damaged)
    created: str
    path: Path


class Proposals:
    """The proposals of the workspace whose masks ``masks`` stores."""

    def __init__(self, masks: MaskStore):
        self.masks = masks
        self.layout = masks.layout
        self.dir = self.layout.root / DIR

    def path(self, stem: str) -> Path:
        return self.dir / f"{stem}.png"

    def info_path(self, stem: str) -> Path:
        return self.dir / f"{stem}.json"

    def version(self, stem: str) -> tuple | None:
        return mask_version(self.path(stem))

    def stems(self) -> set[str]:
        """The images that have a proposal."""
        if not self.dir.is_dir():
            return set()
        return {p.stem for p in self.dir.iterdir() if p.suffix == ".png" and not p.name.startswith(".")}

    def get(self, stem: str) -> Proposal | None:
        """The stem's proposal (None: it has none)."""
        path = self.path(stem)
        if not path.exists():
            return None
        try:
            info = json.loads(self.info_path(stem).read_text(encoding="utf-8"))
            info = info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            info = {}
        return Proposal(stem, str(info.get("run", "")), str(info.get("created", "")), path)

    def read(self, stem: str) -> np.ndarray | None:
        """The proposal's labels (class indices, 255 unlabelled), or None when the stem has none."""
        path = self.path(stem)
        return read_mask_raw(path).astype(np.uint8) if path.exists() else None

    def save(self, stem: str, mask: np.ndarray, run: str) -> Proposal:
        """Store ``mask`` (a run's prediction, H x W like the image) as the stem's proposal."""
        self.layout.image_path(stem)  # the image must exist
        classes = self.layout.classes()
        mask = np.asarray(mask)
        bad = np.unique(mask[(mask >= len(classes)) & (mask != 255)]) if mask.dtype.kind in "iu" else [-1]
        if len(bad):
            raise ValueError(f"{stem}: the prediction holds values {list(map(int, bad))[:8]}, which are no "
                             f"classes (0..{len(classes) - 1})")
        with self.masks.lock():
            if self.path(stem).exists():
                self.reject(stem)
            created = time.strftime("%Y-%m-%d %H:%M:%S")
            atomic_write_text(self.info_path(stem), json.dumps({"run": run, "created": created}, ensure_ascii=False))
            write_index_mask(self.path(stem), mask.astype(np.uint8), classes)
        return Proposal(stem, run, created, self.path(stem))

    def save_patches(self, stem: str, patches: list[Patch], shape: tuple[int, int]) -> PatchSave:
        """Lay canvas edits onto the stem's proposal as it is now (a fresh read under the mask lock) and store
        it; an undo leaves pixels another tab changed since (as ``MaskStore.save_patches``, whose result and
        versions it returns). FileNotFoundError when the proposal is gone (accepted or rejected elsewhere)."""
        name = self.layout.image_path(stem).name
        classes = self.layout.classes()
        for p in patches:
            check_patch(p, shape, len(classes), name)
        with self.masks.lock():
            before = self.version(stem)
            current = self.read(stem)
            if current is None:
                raise FileNotFoundError(f"{name}: the proposal was accepted or rejected elsewhere; this edit went "
                                        "nowhere (paint on the mask now shown)")
            res = apply_patches(current, patches, keep_theirs="undo", shape=shape)
            if res.changed:
                write_index_mask(self.path(stem), res.mask, classes)
            return PatchSave(res.mask, res.changed, res.kept_theirs, bool(res.changed), before, self.version(stem))

    def accept(self, stem: str) -> Path:
        """Make the proposal the stem's mask (the old mask backed up: ``MaskStore.restore`` brings it back),
        mark the image reviewed and remove the proposal; returns the backup."""
        with self.masks.lock():
            found = self.get(stem)
            mask = self.read(stem)
            if found is None or mask is None:
                raise FileNotFoundError(f"{stem}: no proposal to accept (accepted or rejected elsewhere)")
            backup = self.masks.replace(stem, mask, f"proposal of {found.run or 'a run'}", reviewed=True)
            for path in (found.path, self.info_path(stem)):
                path.unlink(missing_ok=True)
            fsync_dir(self.dir)
        return backup

    def reject(self, stem: str) -> Path | None:
        """Move the stem's proposal to the trash (the mask is untouched); returns the trashed proposal, or None
        when there was none."""
        with self.masks.lock():
            png = self.path(stem)
            if not png.exists():
                return None
            files = [p for p in (png, self.info_path(stem)) if p.exists()]
            where = move_to_trash(self.layout.root, stem, files)
        return where / png.relative_to(self.layout.root)


def best_run(runs: list[Run]) -> Run | None:
    """The run to propose from by default: the highest best validation mIoU (runs without one last); among
    equals the first given (``Workspace.runs_to_propose`` lists the newest first)."""
    scored = [(-1.0 if (m := r.best_val_miou) is None else m, -i, r) for i, r in enumerate(runs)]
    return max(scored, key=lambda t: t[:2])[2] if scored else None
