"""The workspace's masks, stored so that nobody's work is lost: ``MaskStore`` owns the mask files, the mask
lock, each file's version, the backups of replaced masks and sending old masks to the trash.

- Every change happens under the mask lock (``lock.mask_lock``): a save, a clear, a replacement, canvas
  edits (laid onto a fresh read of the file, so another tab's edits are kept: ``save_patches``).
- ``version(stem)`` changes whenever the file is replaced; ``save_patches`` returns the version before and
  after the edit, so the Annotate page shows the file again when it changed elsewhere.
- ``replace`` / ``restore``: a whole new mask (an accepted proposal, a Clear) goes in only after the old
  one is copied to ``<root>/backups/<stem>/`` (its name records whether it was reviewed); restoring takes
  the newest backup back with that reviewed mark (the mask it replaces goes to the trash, so nothing is ever
  lost).
"""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seg_core.base.atomic import fsync_dir
from seg_core.base.mask_values import UNLABELLED, workspace_reading
from seg_core.data.imageio import image_size, read_mask_raw, write_index_mask
from seg_core.workspace.label_patches import Patch, PatchError, apply_patches, check_patch
from seg_core.workspace.layout import Layout
from seg_core.workspace.lock import mask_lock
from seg_core.workspace.review_state import is_reviewed, set_reviewed
from seg_core.workspace.trash import move_to_trash

BACKUPS = "backups"
NO_MASK = ".none"  # a backup saying "there was no mask"
REVIEWED = ".reviewed"  # in a backup's name (before ".png"): the mask was marked reviewed when replaced


def mask_version(path: Path) -> tuple | None:
    """A stamp that changes whenever the file is replaced (atomic writes make a new file): None when absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class PatchSave:
    """The outcome of laying canvas edits onto a stored file (``MaskStore.save_patches``,
    ``Proposals.save_patches``)."""

    mask: np.ndarray | None  # the labels as stored now (None: no mask file, everything unlabelled)
    changed: int  # pixels changed in the file
    kept_theirs: int  # pixels left as another writer had changed them (``keep_theirs``)
    wrote: bool  # the file was written (or removed)
    before: tuple | None = None  # the file's version (``mask_version``) just before the edits, under the lock
    after: tuple | None = None  # and just after


def backup_reason(backup: Path) -> str:
    """What replaced the mask a backup holds, from its name (``20261125-140310-123456789_clear.png``: clear)."""
    name = backup.name.split("_", 1)[-1]
    for suffix in (".png", NO_MASK, REVIEWED):
        name = name.removesuffix(suffix)
    return name


def _slug(reason: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", reason).strip("-")[:40] or "replaced"


class MaskStore:
    """The masks of the workspace at ``layout`` (``data/masks/<stem>.png``, class indices, 255 unlabelled)."""

    def __init__(self, layout: Layout):
        self.layout = layout

    def lock(self):
        """The workspace's mask lock (``with store.lock(): ...``; re-entrant within a thread)."""
        return mask_lock(self.layout.root)

    def path(self, stem: str) -> Path:
        return self.layout.mask_path(stem)

    def version(self, stem: str) -> tuple | None:
        return mask_version(self.path(stem))

    def read(self, stem: str) -> np.ndarray | None:
        """Stored mask (class indices, 255 unlabelled) or None when the image has none yet."""
        p = self.path(stem)
        return read_mask_raw(p).astype(np.uint8) if p.exists() else None

    def save(self, stem: str, mask: np.ndarray) -> None:
        """Write the mask at once (atomically) as an index PNG: class indices and 255 for unlabelled; any
        other value (negative, too large, fractional) is refused naming the file and the values. The data
        folder's classes.json is made to say 255 is unlabelled first (``Layout.state_unlabelled``)."""
        self.layout.image_path(stem)  # the image must exist
        classes = self.layout.classes()
        if np.asarray(mask).dtype.kind == "f" and not np.all(np.mod(mask, 1) == 0):
            raise ValueError(f"{stem}.png: mask holds fractional values or NaN; expected class indices")
        labels = workspace_reading(len(classes), classes.names).labels(np.asarray(mask), f"{stem}.png")
        self.layout.state_unlabelled()
        with self.lock():  # never between another writer's read and write
            write_index_mask(self.path(stem), labels, classes)

    def clear(self, stem: str) -> None:
        """Make every pixel of ``stem`` unlabelled again (removes its mask file, no backup: ``replace`` keeps
        one) and drop its reviewed mark."""
        with self.lock():
            self.path(stem).unlink(missing_ok=True)
            fsync_dir(self.layout.masks_dir)
            set_reviewed(self.layout.root, stem, False)

    def stamp(self) -> tuple[tuple[str, int], ...]:
        """Names and modification times of the stored masks: changes whenever a mask is saved or removed."""
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.layout.masks_dir.iterdir()
                            if p.is_file() and not p.name.startswith(".")))

    def changed_since(self, when: float) -> int:
        """How many masks were saved after ``when`` (seconds since the epoch)."""
        return sum(1 for p in self.layout.masks_dir.glob("*.png")
                   if not p.name.startswith(".") and p.stat().st_mtime > when)

    # -- canvas edits ---------------------------------------------------------------------------
    def save_patches(self, stem: str, patches: list[Patch], *, keep_theirs: bool | str = "undo",
                     shape: tuple[int, int] | None = None) -> PatchSave:
        """Lay ``patches`` onto the stem's mask file as it is now (a fresh read, under the mask lock) and
        store it; a mask left all unlabelled removes the file. ``keep_theirs`` as for
        ``label_patches.apply_patch`` (default ``"undo"``: an undo leaves pixels another tab changed since).
        Each patch is checked against the image's size (``shape`` = (H, W) when the caller knows it, else
        read from the file) and the classes first (``PatchError`` naming the image: nothing is written).
        The result carries the file's version before and after (``PatchSave``)."""
        name = self.layout.image_path(stem).name
        h, w = shape if shape is not None else image_size(self.layout.image_path(stem))
        classes = self.layout.classes()
        for p in patches:
            check_patch(p, (h, w), len(classes), name)
        with self.lock():
            before = self.version(stem)
            current = self.read(stem)
            if current is not None and current.shape != (h, w):
                raise PatchError(f"{self.path(stem).name}: the mask is {current.shape[1]}x{current.shape[0]} but "
                                 f"the image is {w}x{h}; fix or remove the mask on the Data page")
            res = apply_patches(current, patches, keep_theirs=keep_theirs, shape=(h, w))
            if not res.changed:
                return PatchSave(current, 0, res.kept_theirs, False, before, before)
            if (res.mask == UNLABELLED).all():
                self.clear(stem)
                return PatchSave(None, res.changed, res.kept_theirs, True, before, self.version(stem))
            self._write_keeping_stale(stem, res.mask, current)
            return PatchSave(res.mask, res.changed, res.kept_theirs, True, before, self.version(stem))

    def _write_keeping_stale(self, stem: str, mask: np.ndarray, before: np.ndarray | None) -> None:
        """Store ``mask`` through ``save`` (which checks every value), except that values the file held
        already and that are no classes now (a class removed while masks used it) are kept as they are
        rather than refusing the stroke; the Data page reports them."""
        classes = self.layout.classes()
        valid = np.zeros(256, bool)
        valid[: len(classes)] = True
        valid[UNLABELLED] = True
        stale = ~valid[mask]
        if stale.any() and before is not None and (before[stale] == mask[stale]).all():
            write_index_mask(self.path(stem), mask, classes)
        else:
            self.save(stem, mask)

    # -- whole-mask replacements, with backups --------------------------------------------------
    def backups_dir(self, stem: str) -> Path:
        return self.layout.root / BACKUPS / stem

    def backups(self, stem: str) -> list[Path]:
        """The stem's backups, newest first (``<time>_<reason>.png``, or ``.none``: there was no mask)."""
        folder = self.backups_dir(stem)
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                      key=lambda p: p.name, reverse=True)

    def replace(self, stem: str, mask: np.ndarray | None, reason: str, reviewed: bool = False) -> Path:
        """Put ``mask`` in place of the stem's mask (None: no mask, all unlabelled), after copying the old one
        to ``backups/<stem>/``; returns the backup (restorable with ``restore``). The image is then marked
        reviewed or not as ``reviewed`` says (``review_state``); the backup's name records the old mark."""
        root = self.layout.root
        self.layout.image_path(stem)  # the image must exist
        folder = self.backups_dir(stem)
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock():
            src = self.path(stem)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}_{_slug(reason)}"
            if src.exists():
                backup = folder / f"{name}{REVIEWED if is_reviewed(root, stem) else ''}.png"
                shutil.copy2(src, backup)
                with open(backup, "rb+") as f:
                    os.fsync(f.fileno())
            else:
                backup = folder / f"{name}{NO_MASK}"
                backup.write_bytes(b"")
            fsync_dir(folder)
            if mask is None:
                self.clear(stem)
            else:
                self.save(stem, mask)
            set_reviewed(root, stem, reviewed, f"accepted {reason}" if reviewed else "")
        return backup

    def restore(self, stem: str) -> Path:
        """Take the newest backup of the stem's mask back, with the reviewed mark it had (the mask it replaces
        goes to the trash); returns the backup used. FileNotFoundError when there is none."""
        with self.lock():
            backups = self.backups(stem)
            if not backups:
                raise FileNotFoundError(f"no earlier version of {stem}'s mask to restore")
            newest = backups[0]
            current = self.path(stem)
            if current.exists():
                move_to_trash(self.layout.root, stem, [current])
            if newest.name.endswith(NO_MASK):
                newest.unlink()
            else:
                os.replace(newest, current)  # same file system: atomic
            fsync_dir(current.parent)
            fsync_dir(newest.parent)
            set_reviewed(self.layout.root, stem, newest.name.endswith(f"{REVIEWED}.png"),
                         "restored with its reviewed mark")
        return newest
