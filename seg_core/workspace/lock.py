"""The workspace's mask lock: held while a mask, a proposal or the reviewed marks are read, changed and
written, so two tabs (two threads of one server), two servers and the command line exclude each other.

An OS lock on ``<root>/.masks.lock`` (``filelock``), re-entrant within a thread.
"""
from __future__ import annotations

from pathlib import Path

from filelock import FileLock

LOCK_NAME = ".masks.lock"


def mask_lock(root: Path) -> FileLock:
    """The workspace's mask lock, to hold with ``with``: one lock object per workspace (``is_singleton``),
    counted per thread (re-entrant within one, exclusive between threads and processes)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return FileLock(root / LOCK_NAME, is_singleton=True, preserve_lock_file=True, poll_interval=0.01)
