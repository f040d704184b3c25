"""Who did what in a project: an append-only record, ``activity.jsonl`` in the project folder, one JSON object a
line: ``{"when": "2026-12-05T14:20:03+00:00", "who": "ana@lab.org", "action": "paint", "what": "cells_3"}``.

Lines are only ever appended (``O_APPEND``, flushed and synced before ``record`` returns), so the record
survives a crash and two writers never mix their lines. ``action`` is one of ``members.ACTIONS`` (imports,
mask saves, accepts, class edits, trainings, exports, removals, member changes); ``what`` says on what, in
words. A damaged line (a disk that filled up mid-line) is skipped when reading, never fatal.

A run's folder says who started its training: ``started_by.json`` (``record_starter``, ``starter``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from seg_core.base.atomic import atomic_write_text

FILE = "activity.jsonl"
STARTER = "started_by.json"  # in a run's folder: {"who", "when"}, who started the training


@dataclass(frozen=True)
class Entry:
    when: str  # ISO 8601, UTC
    who: str
    action: str
    what: str = ""

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.when)


def record(root: Path, who: str, action: str, what: str = "") -> Entry:
    """Append that ``who`` did ``action`` (on ``what``) now to the project ``root``'s record; the entry."""
    entry = Entry(_now(), who, action, what)
    line = json.dumps(entry.__dict__, ensure_ascii=False) + "\n"
    Path(root).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(root) / FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        if end and os.pread(fd, 1, end - 1) != b"\n":  # a line cut off (a crash, a full disk): this one apart
            line = "\n" + line
        os.write(fd, line.encode("utf-8"))  # one write of one line: appends never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def recent(root: Path, n: int = 20) -> list[Entry]:
    """The last ``n`` entries of the record, newest first (none: [])."""
    path = Path(root) / FILE
    if not path.is_file():
        return []
    with open(path, "rb") as f:  # the tail only: the record grows for the project's whole life
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 512 * (n + 1)))
        lines = f.read().decode("utf-8", "replace").splitlines()
    if size > 512 * (n + 1):
        lines = lines[1:]  # the first may be cut
    out = []
    for line in reversed(lines):
        try:
            data = json.loads(line)
            out.append(Entry(str(data["when"]), str(data["who"]), str(data["action"]), str(data.get("what", ""))))
        except (ValueError, KeyError, TypeError):
            continue
        if len(out) == n:
            break
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_starter(run_dir: Path, who: str) -> None:
    """Write into the run folder ``run_dir`` that ``who`` started its training (now)."""
    atomic_write_text(Path(run_dir) / STARTER, json.dumps({"who": who, "when": _now()}) + "\n")


def starter(run_dir: Path) -> str | None:
    """Who started the run in ``run_dir`` (None: not recorded, e.g. started from the command line)."""
    try:
        return str(json.loads((Path(run_dir) / STARTER).read_text(encoding="utf-8"))["who"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
