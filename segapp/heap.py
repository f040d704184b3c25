"""The server's Python heap: what the libraries loaded is kept out of the cyclic garbage collector.

Streamlit collects garbage fully after every script run (its ``runner.postScriptGC``), fragment reruns
included. With torch and the model libraries loaded the server holds about half a million objects and each
full collection takes about 0.3 s of Python on a 2-core machine while holding the interpreter. Every thread
of the server waits for it: a training on a thread of the server (benchmarks/bench_ui.py measured a watched
training at 0.11x of the same training unwatched), and the Annotate page's suggestion worker, whose update
took 2 s instead of 0.25 s while the canvas's short runs asked for it a few times a second.

``settle()`` moves the objects alive into the collector's permanent generation (``gc.freeze``), after
collecting what was garbage, when the oldest generation (what every full collection scans) has grown by
``GROWN`` objects since: after a run that imported libraries, and after a background thread did (the
suggestion worker loads torch and the pretrained network on its own). Later collections scan only newer
objects. It is cheap when nothing grew (it counts the oldest generation's objects). A freeze collects the whole
heap first, frozen part included, so what a freeze kept and later became garbage (in a reference cycle) is
freed at the next one. The app calls it after every page run (app.py) and at the end of every fragment
(``settled``).
"""
from __future__ import annotations

import functools
import gc
import threading

GROWN = 50_000  # objects in the oldest generation that make the next settle() freeze
_lock = threading.Lock()


def settle() -> bool:
    """Freeze the heap if the collector's oldest generation grew by ``GROWN`` objects; True when it did."""
    with _lock:
        if len(gc.get_objects(generation=2)) < GROWN:
            return False
        gc.unfreeze()  # what was frozen before and is garbage now (a finished training's model) goes too
        gc.collect()
        gc.freeze()
        return True


def settled(fragment):
    """A fragment's function that settles the heap when it returns (fragment runs skip app.py's ``settle()``,
    and Streamlit collects after them too)."""
    @functools.wraps(fragment)
    def run(*args, **kwargs):
        try:
            return fragment(*args, **kwargs)
        finally:
            settle()
    return run
