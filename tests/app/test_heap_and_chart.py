"""The server keeps the libraries out of Streamlit's per-rerun garbage collection, and the live chart sends
few points however long the training."""
import gc
import subprocess
import sys

from segapp.live_panel import MAX_POINTS, thin


def test_settle_freezes_what_a_page_imported_once_and_what_a_thread_loaded_later():
    code = ("import gc, threading\n"
            "from segapp import heap\n"
            "import torch, seg_core.training.loop\n"  # what the Train page loads
            "assert heap.settle() and gc.get_freeze_count() > 100_000\n"
            "assert not heap.settle()\n"  # nothing new: no second freeze
            # what a full collection still scans after each rerun: a small part of the heap
            "assert len(gc.get_objects()) < gc.get_freeze_count() / 20, (len(gc.get_objects()), gc.get_freeze_count())\n"
            # a background thread (the suggestion worker) loads more after the page's run; a fragment's run that
            # ends afterwards (heap.settled) freezes that too
            "kept = []\n"
            "t = threading.Thread(target=lambda: kept.append([[i] for i in range(2 * heap.GROWN)])); t.start(); t.join()\n"
            "before = gc.get_freeze_count()\n"
            "gc.collect(2)\n"  # what Streamlit runs after a script run: the new objects reach the oldest generation
            "ran = []\n"
            "fragment = heap.settled(lambda: ran.append(1) or 'shown')\n"
            "assert fragment() == 'shown' and ran == [1]\n"
            "assert gc.get_freeze_count() > before + heap.GROWN, (before, gc.get_freeze_count())\n"
            "assert len(gc.get_objects()) < heap.GROWN, len(gc.get_objects())\n"
            # what a freeze kept and then became garbage (a cycle: refcounts never free it) goes at the next one
            "import weakref\n"
            "class Model: pass\n"
            "m = Model(); m.me = m; gone = weakref.ref(m)\n"
            "gc.collect(2); kept.append([[i] for i in range(2 * heap.GROWN)]); gc.collect(2)\n"
            "assert heap.settle() and gone() is not None\n"  # frozen while alive
            "del m; gc.collect(2)\n"
            "assert gone() is not None\n"  # a frozen cycle: the collector after each run does not see it
            "kept.append([[i] for i in range(2 * heap.GROWN)]); gc.collect(2)\n"
            "assert heap.settle() and gone() is None\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_chart_keeps_few_points_first_and_last_included():
    points = [(i, 1.0 / (i + 1)) for i in range(5000)]
    kept = thin(points)
    assert len(kept) == MAX_POINTS and kept[0] == [0.0, 1.0] and kept[-1] == [4999.0, 1.0 / 5000]
    assert [x for x, _ in kept] == sorted(x for x, _ in kept)
    assert thin(points[:10]) == [[float(x), y] for x, y in points[:10]]
    assert gc.isenabled()  # nothing here turned the collector off
