"""Background tasks (imports, zips, exports): counts, several kinds at once, cancel, errors; Ctrl-C on the CLI."""
import os
import signal
import threading

import pytest

from seg_core import JobRefused
from seg_core.runner.tasks import TASKS, Cancelled, Count, Steps, cancel_on_interrupt, count_printer


def _counting(n: int, gate: threading.Event, what: str = "files"):
    """A task body that counts ``n`` items, waiting at the gate after the first, and stops when cancelled."""
    def target(progress, cancel):
        steps = Steps(progress, cancel, n, what)
        for i in range(n):
            steps.check(lambda: f"cancelled after {steps.done} of {n} {what}", list(range(steps.done)))
            steps.tick(f"item {i}")
            if i == 0:
                gate.wait(10)
        return f"all {n}"
    return target


def test_count_says_done_of_total():
    assert Count(12, 40, "files").text() == "12/40 files"
    assert Count(7, 12, "masks", "zip", "tissue_03").text() == "zip: 7/12 masks · tissue_03"
    assert Count(7, 12, "masks", "zip", "tissue_03").text(stage=False) == "7/12 masks · tissue_03"  # a task's label names it
    assert Count(3, 12, "x").fraction == 0.25 and Count(0, 0, "x").fraction == 0.0


def test_tasks_of_different_kinds_run_at_once_and_the_same_one_is_refused():
    gate = threading.Event()
    a = TASKS.start("import", "import of 3 files", _counting(3, gate), key="/ws-a")
    b = TASKS.start("run_zip", "zip of r1", _counting(2, gate), key="/ws-a/runs/r1")
    try:
        with pytest.raises(JobRefused, match="'import of 3 files' is still running"):
            TASKS.start("import", "again", _counting(1, gate), key="/ws-a")
        c = TASKS.start("import", "another workspace", _counting(1, gate), key="/ws-b")  # another key: allowed
        assert {a.id, b.id, c.id} <= {t.id for t in TASKS.active()}  # three at once
        assert [t.id for t in TASKS.active("import", "/ws-a")] == [a.id]
        for _ in range(100):
            if a.snapshot().count is not None:
                break
            threading.Event().wait(0.02)
        snap = a.snapshot()
        assert snap.active and snap.text() == "import of 3 files: 1/3 files · item 0" and snap.fraction == 1 / 3
    finally:
        gate.set()
    assert a.wait(10) and b.wait(10) and c.wait(10)
    snap = a.snapshot()
    assert (snap.state, snap.result, snap.fraction, snap.count.text()) == ("done", "all 3", 1.0, "3/3 files · item 2")
    assert TASKS.get(a.id) is a and not TASKS.active(key="/ws-a")


def test_a_cancelled_task_keeps_what_was_done_and_says_so():
    gate = threading.Event()
    task = TASKS.start("predict", "predict 5", _counting(5, gate, "images predicted"), key="/ws-cancel")
    task.cancel()
    assert "cancelling after the current step" in task.snapshot().text()
    gate.set()
    assert task.wait(10)
    snap = task.snapshot()
    assert snap.state == "cancelled" and snap.message == "cancelled after 1 of 5 images predicted"
    assert snap.result == [0] and snap.error is None and not snap.active


def test_a_failing_task_keeps_its_error():
    def fails(progress, cancel):
        raise OSError("exports/r1.zip: No space left on device")

    task = TASKS.start("run_zip", "zip of r1", fails, key="/ws-fail")
    assert task.wait(10)
    snap = task.snapshot()
    assert snap.state == "failed" and snap.error == "OSError: exports/r1.zip: No space left on device"
    assert "Traceback" in snap.message


def test_ctrl_c_sets_the_cancel_event_and_a_second_one_interrupts():
    said = []
    before = signal.getsignal(signal.SIGINT)  # pytest's default, or SIG_IGN when started in the background
    with cancel_on_interrupt(said.append) as cancel:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):
            if cancel.is_set():
                break
            threading.Event().wait(0.01)
        assert cancel.is_set() and said == ["cancelling after the current step (press Ctrl-C again to stop at once)"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(1)
    assert signal.getsignal(signal.SIGINT) is before  # put back


def test_the_printer_shows_the_first_and_last_count_and_some_between():
    lines = []
    show = count_printer(lines.append, every_s=3600, steps=4)
    for i in range(0, 101):
        show(Count(i, 100, "files"))
    assert lines == ["  0/100 files", "  25/100 files", "  50/100 files", "  75/100 files", "  100/100 files"]
