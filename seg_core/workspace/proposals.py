"""Proposals: a run's prediction for an image, kept on disk until a person accepts or rejects it.

A proposal is ``<root>/proposals/<stem>.png`` (an index mask like the masks, written atomically, so a reload
or a server restart keeps it and the corrections painted on it) with ``<stem>.json`` naming the run. It lives
outside ``<root>/data``, whose ``images/`` and ``masks/`` are all that training and ``validate`` read: a
proposal is never taken for a label.

- ``save_proposal``: the prediction, at once (a proposal there already goes to the trash first);
- ``save_proposal_patches``: canvas edits laid onto a fresh read of the proposal, under the mask lock;
- ``accept_proposal``: it becomes the mask through ``mask_edits.replace_mask`` (the old mask backed up and
  restorable), the image is marked reviewed (``review_state``), the proposal removed;
- ``reject_proposal``: the proposal goes to ``<root>/trash/proposals/``, the mask untouched;
- ``best_run``: the run proposed by default (the highest best validation mIoU).
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seg_core.base.atomic import atomic_write_text, fsync_dir
from seg_core.data.imageio import read_mask_raw, write_index_mask
from seg_core.workspace.label_patches import Applied, Patch, apply_patches, check_patch
from seg_core.workspace.mask_edits import mask_lock, replace_mask

if TYPE_CHECKING:
    from seg_core.runs.folder import Run
    from seg_core.workspace.workspace import Workspace

DIR = "proposals"


@dataclass
class Proposal:
    stem: str
    run: str  # the run that predicted it ("" when its .json is missing or damaged)
    created: str
    path: Path


def proposals_dir(ws: Workspace) -> Path:
    return ws.root / DIR


def proposal_path(ws: Workspace, stem: str) -> Path:
    return proposals_dir(ws) / f"{stem}.png"


def _info_path(ws: Workspace, stem: str) -> Path:
    return proposals_dir(ws) / f"{stem}.json"


def proposed_stems(ws: Workspace) -> set[str]:
    """The images that have a proposal."""
    folder = proposals_dir(ws)
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.iterdir() if p.suffix == ".png" and not p.name.startswith(".")}


def proposal(ws: Workspace, stem: str) -> Proposal | None:
    """The stem's proposal (None: it has none)."""
    path = proposal_path(ws, stem)
    if not path.exists():
        return None
    try:
        info = json.loads(_info_path(ws, stem).read_text(encoding="utf-8"))
        info = info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        info = {}
    return Proposal(stem, str(info.get("run", "")), str(info.get("created", "")), path)


def read_proposal(ws: Workspace, stem: str) -> np.ndarray | None:
    """The proposal's labels (class indices, 255 unlabelled), or None when the stem has none."""
    path = proposal_path(ws, stem)
    return read_mask_raw(path).astype(np.uint8) if path.exists() else None


def save_proposal(ws: Workspace, stem: str, mask: np.ndarray, run: str) -> Proposal:
    """Store ``mask`` (a run's prediction, H x W like the image) as the stem's proposal."""
    ws.image_path(stem)  # the image must exist
    classes = ws.classes()
    mask = np.asarray(mask)
    bad = np.unique(mask[(mask >= len(classes)) & (mask != 255)]) if mask.dtype.kind in "iu" else [-1]
    if len(bad):
        raise ValueError(f"{stem}: the prediction holds values {list(map(int, bad))[:8]}, which are no classes "
                         f"(0..{len(classes) - 1})")
    with mask_lock(ws.root):
        if proposal_path(ws, stem).exists():
            reject_proposal(ws, stem)
        created = time.strftime("%Y-%m-%d %H:%M:%S")
        atomic_write_text(_info_path(ws, stem), json.dumps({"run": run, "created": created}, ensure_ascii=False))
        write_index_mask(proposal_path(ws, stem), mask.astype(np.uint8), classes)
    return Proposal(stem, run, created, proposal_path(ws, stem))


def save_proposal_patches(ws: Workspace, stem: str, patches: list[Patch], shape: tuple[int, int]) -> Applied:
    """Lay canvas edits onto the stem's proposal as it is now (a fresh read under the mask lock) and store it;
    an undo leaves pixels another tab changed since (as ``label_patches.save_patches``). FileNotFoundError
    when the proposal is gone (accepted or rejected elsewhere)."""
    name = ws.image_path(stem).name
    classes = ws.classes()
    for p in patches:
        check_patch(p, shape, len(classes), name)
    with mask_lock(ws.root):
        current = read_proposal(ws, stem)
        if current is None:
            raise FileNotFoundError(f"{name}: the proposal was accepted or rejected elsewhere; this edit went "
                                    "nowhere (paint on the mask now shown)")
        res = apply_patches(current, patches, keep_theirs="undo", shape=shape)
        if res.changed:
            write_index_mask(proposal_path(ws, stem), res.mask, classes)
    return res


def accept_proposal(ws: Workspace, stem: str) -> Path:
    """Make the proposal the stem's mask (the old mask backed up: ``restore_mask`` brings it back), mark the
    image reviewed and remove the proposal; returns the backup."""
    with mask_lock(ws.root):
        found = proposal(ws, stem)
        mask = read_proposal(ws, stem)
        if found is None or mask is None:
            raise FileNotFoundError(f"{stem}: no proposal to accept (accepted or rejected elsewhere)")
        backup = replace_mask(ws, stem, mask, f"proposal of {found.run or 'a run'}", reviewed=True)
        for path in (found.path, _info_path(ws, stem)):
            path.unlink(missing_ok=True)
        fsync_dir(proposals_dir(ws))
    return backup


def reject_proposal(ws: Workspace, stem: str) -> Path | None:
    """Move the stem's proposal to ``<root>/trash/proposals/`` (the mask is untouched); returns where, or None
    when there was none."""
    with mask_lock(ws.root):
        if not proposal_path(ws, stem).exists():
            return None
        trash = ws.root / "trash" / DIR
        trash.mkdir(parents=True, exist_ok=True)
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}_{stem}"
        for path in (proposal_path(ws, stem), _info_path(ws, stem)):
            if path.exists():
                shutil.move(str(path), trash / f"{base}{path.suffix}")
        fsync_dir(proposals_dir(ws))
        fsync_dir(trash)
    return trash / f"{base}.png"


def best_run(runs: list[Run]) -> Run | None:
    """The run to propose from by default: the highest best validation mIoU (runs without one last); among
    equals the first given (``Workspace.runs_to_propose`` lists the newest first)."""
    scored = [(-1.0 if (m := r.best_val_miou) is None else m, -i, r) for i, r in enumerate(runs)]
    return max(scored, key=lambda t: t[:2])[2] if scored else None
