"""Editing a workspace's masks without losing anyone's work: a lock around read-modify-write, the file's
version, and replacing a mask only with a backup that can be restored.

- ``mask_lock(root)``: held while a mask is read, changed and written (an OS lock on ``<root>/.masks.lock``,
  so two tabs, which are two threads of one server, and two servers exclude each other); re-entrant
  within a thread. Canvas edits are laid onto a fresh read of the file under it
  (``label_patches.save_patches``).
- ``mask_version(path)``: changes whenever the file is replaced; the Annotate page shows the file again
  when it changed elsewhere.
- ``replace_mask`` / ``restore_mask``: a whole new mask (an accepted proposal, a Clear) goes in only after the
  old one is copied to ``<root>/backups/<stem>/`` (its name records whether it was reviewed); restoring
  takes the newest backup back with that reviewed mark (the mask it replaces goes to the trash, so nothing
  is ever lost).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seg_core.base.atomic import fsync_dir
from seg_core.data.imageio import write_index_mask
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.review_state import is_reviewed, set_reviewed

if TYPE_CHECKING:
    from seg_core.workspace.workspace import Workspace

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

LOCK_NAME = ".masks.lock"
NO_MASK = ".none"  # a backup saying "there was no mask"
REVIEWED = ".reviewed"  # in a backup's name (before ".png"): the mask was marked reviewed when replaced

_local = threading.local()
_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@contextlib.contextmanager
def mask_lock(root: Path):
    """Hold the workspace's mask lock (re-entrant within a thread)."""
    key = str(Path(root).resolve())
    depth = getattr(_local, "depth", {})
    _local.depth = depth
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    with _guard:
        tlock = _thread_locks.setdefault(key, threading.Lock())
    with tlock:  # threads of this process (flock also works between them; this is cheaper and portable)
        fd = None
        if fcntl is not None:
            Path(root).mkdir(parents=True, exist_ok=True)
            fd = os.open(Path(root) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)  # other processes (a second server, the command line)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def mask_version(path: Path) -> tuple | None:
    """A stamp that changes whenever the file is replaced (atomic writes make a new file): None when absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _write(ws: Workspace, stem: str, mask: np.ndarray, before: np.ndarray | None) -> None:
    """Store ``mask``: through ``Workspace.save_mask`` (which checks every value), except that values the
    file held already and that are no classes now (a class removed while masks used it) are kept as they
    are rather than refusing the stroke; the Data page reports them."""
    classes = ws.classes()
    valid = np.zeros(256, bool)
    valid[: len(classes)] = True
    valid[UNLABELLED] = True
    stale = ~valid[mask]
    if stale.any() and before is not None and (before[stale] == mask[stale]).all():
        write_index_mask(ws.mask_path(stem), mask, classes)
    else:
        ws.save_mask(stem, mask)


# -- whole-mask replacements, with backups --------------------------------------------------------------
def backups_dir(ws: Workspace, stem: str) -> Path:
    return ws.root / "backups" / stem


def mask_backups(ws: Workspace, stem: str) -> list[Path]:
    """The stem's backups, newest first (``<time>_<reason>.png``, or ``.none``: there was no mask)."""
    folder = backups_dir(ws, stem)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                  key=lambda p: p.name, reverse=True)


def _slug(reason: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", reason).strip("-")[:40] or "replaced"


def backup_reason(backup: Path) -> str:
    """What replaced the mask a backup holds, from its name (``20261125-140310-123456789_clear.png``: clear)."""
    name = backup.name.split("_", 1)[-1]
    for suffix in (".png", NO_MASK, REVIEWED):
        name = name.removesuffix(suffix)
    return name


def replace_mask(ws: Workspace, stem: str, mask: np.ndarray | None, reason: str, reviewed: bool = False) -> Path:
    """Put ``mask`` in place of the stem's mask (None: no mask, all unlabelled), after copying the old one
    to ``backups/<stem>/``; returns the backup (restorable with ``restore_mask``). The image is then marked
    reviewed or not as ``reviewed`` says (``review_state``); the backup's name records the old mark."""
    ws.image_path(stem)  # the image must exist
    folder = backups_dir(ws, stem)
    folder.mkdir(parents=True, exist_ok=True)
    with mask_lock(ws.root):
        src = ws.mask_path(stem)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}_{_slug(reason)}"
        if src.exists():
            backup = folder / f"{name}{REVIEWED if is_reviewed(ws.root, stem) else ''}.png"
            shutil.copy2(src, backup)
            with open(backup, "rb+") as f:
                os.fsync(f.fileno())
        else:
            backup = folder / f"{name}{NO_MASK}"
            backup.write_bytes(b"")
        fsync_dir(folder)
        if mask is None:
            ws.clear_mask(stem)
        else:
            ws.save_mask(stem, mask)
        set_reviewed(ws.root, stem, reviewed, f"accepted {reason}" if reviewed else "")
    return backup


def restore_mask(ws: Workspace, stem: str) -> Path:
    """Take the newest backup of the stem's mask back, with the reviewed mark it had (the mask it replaces
    goes to the trash); returns the backup used. FileNotFoundError when there is none."""
    with mask_lock(ws.root):
        backups = mask_backups(ws, stem)
        if not backups:
            raise FileNotFoundError(f"no earlier version of {stem}'s mask to restore")
        newest = backups[0]
        current = ws.mask_path(stem)
        if current.exists():
            trash = ws.root / "trash" / "masks"
            trash.mkdir(parents=True, exist_ok=True)
            shutil.move(str(current), trash / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}_"
                                              f"{stem}.png")
        if newest.name.endswith(NO_MASK):
            newest.unlink()
        else:
            os.replace(newest, current)  # same file system: atomic
        fsync_dir(current.parent)
        fsync_dir(newest.parent)
        set_reviewed(ws.root, stem, newest.name.endswith(f"{REVIEWED}.png"), "restored with its reviewed mark")
    return newest
