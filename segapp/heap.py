"""The server's Python heap: what the libraries loaded is kept out of the cyclic garbage collector.

Streamlit collects garbage fully after every script run (its ``runner.postScriptGC``), fragment reruns
included. With torch and the model libraries loaded the server holds about half a million objects and each
full collection takes about 0.3 s of Python on a 2-core machine while holding the interpreter: once a second
while the Train page shows a training's progress, and a training on a thread of the server waits for it
(benchmarks/bench_ui.py measured a watched training at 0.11x of the same training unwatched).
``settle()`` moves the objects alive after a run that imported many modules into the collector's permanent
generation (``gc.freeze``), after collecting what was garbage; later collections scan only newer objects.
"""
from __future__ import annotations

import gc
import sys
import threading

NEW_MODULES = 25  # a run that imported at least this many modules is followed by a freeze
_lock = threading.Lock()
_modules_at_freeze = 0


def settle() -> bool:
    """Freeze the heap if many modules were imported since the last freeze; True when it did."""
    global _modules_at_freeze
    with _lock:
        if len(sys.modules) - _modules_at_freeze < NEW_MODULES:
            return False
        gc.collect()
        gc.freeze()
        _modules_at_freeze = len(sys.modules)
        return True
