"""Which masks a person has checked: the "reviewed" marks of a workspace, in ``<root>/reviewed.json``.

The file is one JSON object, ``{"<stem>": {"at": "2026-11-25 14:03:10", "how": "accepted the proposal of run
X"}}``, changed under the workspace's mask lock (``lock.mask_lock``: two tabs, two servers) and written
atomically. A mark counts only while the image has a mask (``overview.image_state``). Marks are set by
accepting a proposal and by "Mark as reviewed"; they are dropped by "Mark as not reviewed", a Clear or any
other whole-mask replacement, erasing the mask away and removing the image. A mask taken back from a backup
(``MaskStore.restore``) gets back the mark it had when it was replaced (the backup's name records it).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from seg_core.base.atomic import atomic_write_text
from seg_core.workspace.lock import mask_lock

FILE = "reviewed.json"


def _path(root: Path) -> Path:
    return Path(root) / FILE


def review_marks(root: Path) -> dict[str, dict]:
    """The marks, by stem ({} when none was set yet); ValueError naming the file when it is damaged."""
    path = _path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err}); delete it to start the reviewed marks afresh") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected an object of {{image: {{\"at\", \"how\"}}}}; delete it to start the "
                         "reviewed marks afresh")
    return data


def set_reviewed(root: Path, stem: str, reviewed: bool, how: str = "marked as reviewed") -> bool:
    """Mark (or unmark) ``stem`` as reviewed; returns whether the file changed. Dropping a mark from a
    damaged file is a no-op (there is nothing to drop); setting one raises its ValueError."""
    with mask_lock(root):
        try:
            marks = review_marks(root)
        except ValueError:
            if not reviewed:
                return False
            raise
        if reviewed:
            marks[stem] = {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "how": how}
        elif stem not in marks:
            return False
        else:
            del marks[stem]
        atomic_write_text(_path(root), json.dumps(marks, ensure_ascii=False, indent=1, sort_keys=True))
    return True


def is_reviewed(root: Path, stem: str) -> bool:
    """``stem`` holds a mark (False when the file is damaged)."""
    try:
        return stem in review_marks(root)
    except ValueError:
        return False
