"""How many CPU cores this process may use (without loading torch: the app's first page needs none)."""
from __future__ import annotations

import os


def cpu_count() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
