"""The workspace's trash: whatever a person removes or replaces (an image, a mask, a proposal, classes.json,
a run) is moved here, never deleted, by ``move_to_trash`` alone.

One naming scheme: each removal is a fresh folder ``<root>/trash/<YYYYmmdd-HHMMSS>_<what>/`` (``-2``, ``-3``
… when that name is taken) holding the files at their paths within the workspace (``data/masks/a.png``,
``proposals/a.png``, ``runs/<run>``), so moving one back is moving it to the same path under ``<root>``.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from seg_core.base.atomic import fsync_dir

DIR = "trash"


def move_to_trash(root: Path, what: str, paths: list[Path]) -> Path:
    """Move ``paths`` (files or folders inside the workspace ``root``) to a fresh trash folder named after
    ``what`` (an image's name, a run's, "classes"); returns that folder."""
    root = Path(root)
    base = root / DIR / f"{time.strftime('%Y%m%d-%H%M%S')}_{what}"
    dest, n = base, 1
    while True:
        try:
            dest.mkdir(parents=True)
            break
        except FileExistsError:
            n += 1
            dest = base.with_name(f"{base.name}-{n}")
    for p in paths:
        target = dest / Path(p).relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(p), target)
        fsync_dir(Path(p).parent)
    return dest


def restore_from_trash(root: Path, where: Path, paths: list[Path]) -> None:
    """Move ``paths`` back from the trash folder ``where`` (``move_to_trash``'s), each only where nothing
    took its place meanwhile."""
    for p in paths:
        src = Path(where) / Path(p).relative_to(root)
        if src.exists() and not Path(p).exists():
            shutil.move(str(src), p)
