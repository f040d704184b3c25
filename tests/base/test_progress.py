"""The one progress/cancel vocabulary: counts, Ctrl-C on the command line, the count printer."""
import os
import signal
import threading

import pytest

from seg_core.base.progress import Cancelled, Count, Steps, cancel_on_interrupt, count_printer

def test_count_says_done_of_total():
    assert Count(12, 40, "files").text() == "12/40 files"
    assert Count(7, 12, "masks", "zip", "tissue_03").text() == "zip: 7/12 masks · tissue_03"
    assert Count(7, 12, "masks", "zip", "tissue_03").text(stage=False) == "7/12 masks · tissue_03"  # a task's label names it
    assert Count(3, 12, "x").fraction == 0.25 and Count(0, 0, "x").fraction == 0.0


def test_steps_count_each_item_and_a_cancel_raises_with_what_was_done():
    counts, cancel = [], threading.Event()
    steps = Steps(counts.append, cancel, 3, "masks", "zip")
    steps.check("never said")
    steps.tick("a")
    cancel.set()
    with pytest.raises(Cancelled, match="^zip cancelled after 1$") as stop:
        steps.check(lambda: f"zip cancelled after {steps.done}", ["a"])
    assert stop.value.partial == ["a"] and [c.text() for c in counts] == ["zip: 1/3 masks · a"]


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
