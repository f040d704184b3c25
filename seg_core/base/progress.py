"""How long work reports progress and is cancelled, one way for all of it: training, imports, prediction,
ranking, exports.

- **Progress**: an operation takes ``progress``, a callable given one report a call: a ``Count`` ("12/40
  files", "zip: 7/12 masks") for counted work, or for a training the training events
  (``seg_core.runs.events``, which also have a ``kind``). A display keeps the latest; the background runner
  (``seg_core.runner.jobs``) keeps them for the app.
- **Cancel**: an operation takes ``cancel``, a ``threading.Event``. When it is set, the operation stops at
  its next item (file, image, stage, training step) and raises ``Cancelled``, whose message says what was
  kept and whose ``partial`` holds what was done (an import's report, the masks written): nothing is left
  half-written. ``Steps`` does both for a counted operation.
- **The command line**: ``cancel_on_interrupt`` turns Ctrl-C into the cancel event and ``count_printer``
  prints the counts.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator

Progress = Callable[[Any], None]
"""``progress(report)``: a ``Count``, or for a training one of its events (``seg_core.runs.events``)."""


@dataclass(frozen=True)
class Count:
    """How far an operation is: ``done`` of ``total`` ``what`` ("files", "images predicted", "masks"),
    optionally in a ``stage`` ("zip", "ONNX export") and naming the ``item`` just handled or the step running."""

    kind: ClassVar[str] = "count"
    done: int
    total: int
    what: str
    stage: str = ""
    item: str = ""

    @property
    def fraction(self) -> float:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else 0.0

    def text(self, stage: bool = True) -> str:
        """"zip: 7/12 masks · tissue_03"; ``stage=False`` leaves the stage out (a task's label names it)."""
        out = f"{self.stage}: " if self.stage and stage else ""
        out += f"{self.done}/{self.total} {self.what}"
        return out + (f" · {self.item}" if self.item else "")


class Cancelled(Exception):
    """The user cancelled; the message says what was kept, ``partial`` holds what was done (or None)."""

    def __init__(self, message: str, partial: Any = None):
        super().__init__(message)
        self.partial = partial


def cancelled(cancel: threading.Event | None) -> bool:
    """Whether a cancel was asked for (``cancel`` may be None: the work cannot be cancelled)."""
    return cancel is not None and cancel.is_set()


class Steps:
    """One operation's progress and cancel: ``tick`` after each item (or stage), ``check`` before the next."""

    def __init__(self, progress: Progress | None, cancel: threading.Event | None, total: int, what: str,
                 stage: str = ""):
        self.progress, self.cancel = progress, cancel
        self.total, self.what, self.stage = total, what, stage
        self.done = 0

    @property
    def cancelled(self) -> bool:
        return cancelled(self.cancel)

    def check(self, kept: str | Callable[[], str], partial: Any = None) -> None:
        """Raise Cancelled (``kept``: what was kept, said to the user) when cancel was asked for."""
        if self.cancelled:
            raise Cancelled(kept() if callable(kept) else kept, partial)

    def tick(self, item: str = "", n: int = 1) -> None:
        self.done += n
        self.show(item)

    def show(self, item: str = "") -> None:
        if self.progress is not None:
            self.progress(Count(self.done, self.total, self.what, self.stage, item))


# -- the command line -------------------------------------------------------------------------------
@contextmanager
def cancel_on_interrupt(say: Callable[[str], None] | None = None) -> Iterator[threading.Event]:
    """Within the block, Ctrl-C sets the returned event (the work stops at its next item and says what it
    kept); a second Ctrl-C interrupts at once (KeyboardInterrupt). Off the main thread: an event, no handler."""
    event = threading.Event()
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        say("cancelling after the current step (press Ctrl-C again to stop at once)")

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, old)


def count_printer(write: Callable[[str], None] | None = None, every_s: float = 0.5, steps: int = 20) -> Progress:
    """A progress callback printing ``Count.text()`` lines (to stderr): the first, the last (done == total),
    and between them one each ``every_s`` seconds or each 1/``steps`` of the total, whichever comes first."""
    write = write or (lambda text: print(text, file=sys.stderr, flush=True))
    last = [-every_s, None]  # when, and at which count, the last line was printed

    def show(count: Count) -> None:
        now = time.monotonic()
        if (last[1] is None or count.done >= count.total or now - last[0] >= every_s
                or (count.done - last[1]) * steps >= count.total):
            last[:] = [now, count.done]
            write(f"  {count.text()}")
    return show
