"""Long work other than training (imports, folder predictions, zips, exports): progress counts, cancel, and
background tasks.

The engine side: an operation takes ``progress`` (called with a ``Count``: "12/40 files") and ``cancel`` (a
``threading.Event``); ``Steps`` does both for it. When the event is set, the operation stops at its next
file (or stage) boundary and raises ``Cancelled``, whose message says what was kept and whose ``partial``
holds what was done (an import's report, the masks written): nothing is left half-written.

The app side: ``TASKS`` runs ``target(progress, cancel)`` on a thread and keeps its latest count, so a page
polls ``Task.snapshot()`` and a Cancel button calls ``Task.cancel()``. Tasks of different kinds run at once;
a second task of the same kind and key (the same workspace, the same run) is refused while one runs. The
registry lives in the server process, so a reloaded page finds its running task again (``active``). Training
keeps its own registry (``jobs.py``: its events, loss curve and the cross-process training lock).

The command line's side: ``cancel_on_interrupt`` turns Ctrl-C into the cancel event.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from seg_core.runner.jobs import ACTIVE, JobRefused

KEEP_FINISHED = 50  # finished tasks kept for display (the oldest are forgotten)


@dataclass(frozen=True)
class Count:
    """How far an operation is: ``done`` of ``total`` ``what`` ("files", "images predicted", "masks"),
    optionally in a ``stage`` ("zip", "ONNX export") and naming the ``item`` just handled or the step running."""

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


Progress = Callable[[Count], None]


class Steps:
    """One operation's progress and cancel: ``tick`` after each item (or stage), ``check`` before the next."""

    def __init__(self, progress: Progress | None, cancel: threading.Event | None, total: int, what: str,
                 stage: str = ""):
        self.progress, self.cancel = progress, cancel
        self.total, self.what, self.stage = total, what, stage
        self.done = 0

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

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


# -- background tasks -------------------------------------------------------------------------------
class _State:
    state: str

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass(frozen=True)
class TaskSnapshot(_State):
    """A consistent copy of a task, for display on any thread."""

    id: str
    kind: str
    key: str
    label: str
    state: str  # running, done, cancelled, failed
    count: Count | None
    message: str  # cancelled: what was kept; failed: the traceback
    result: Any  # the target's return value; when cancelled, what was done (Cancelled.partial)
    error: str | None
    started: float
    ended: float | None
    cancel_requested: bool

    @property
    def fraction(self) -> float:
        return 1.0 if self.state == "done" else (self.count.fraction if self.count else 0.0)

    def text(self) -> str:
        """One line for a progress bar: the count, or what the task is doing before its first count."""
        now = self.count.text(stage=False) if self.count else "starting"
        if self.cancel_requested and self.active:
            now += " · cancelling after the current step"
        return f"{self.label}: {now}"


@dataclass
class Task(_State):
    id: str
    kind: str
    key: str
    label: str
    state: str = "running"
    count: Count | None = None
    message: str = ""
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def report(self, count: Count) -> None:
        """The engine's progress callback (called on the task's thread)."""
        with self._lock:
            self.count = count

    def snapshot(self) -> TaskSnapshot:
        with self._lock:
            return TaskSnapshot(self.id, self.kind, self.key, self.label, self.state, self.count, self.message,
                                self.result, self.error, self.started, self.ended, self.cancel_event.is_set())

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active

    def _run(self, target: Callable[[Progress, threading.Event], Any]) -> None:
        state, result, message, error = "done", None, "", None
        try:
            result = target(self.report, self.cancel_event)
        except Cancelled as err:
            state, result, message = "cancelled", err.partial, str(err)
        except BaseException as err:  # shown to the user, not lost in a log
            state, error, message = "failed", f"{type(err).__name__}: {err}", traceback.format_exc(limit=6)
        with self._lock:
            self.state, self.result, self.message, self.error, self.ended = state, result, message, error, time.time()


class TaskRegistry:
    """The tasks of this process: any number at once, at most one active per (kind, key)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.tasks: dict[str, Task] = {}

    def get(self, task_id: str | None) -> Task | None:
        with self._lock:
            return self.tasks.get(task_id) if task_id else None

    def active(self, kind: str | None = None, key: str | None = None) -> list[Task]:
        """Running tasks, of ``kind`` and ``key`` when given (oldest first)."""
        with self._lock:
            return [t for t in self.tasks.values() if t.active and kind in (None, t.kind) and key in (None, t.key)]

    def start(self, kind: str, label: str, target: Callable[[Progress, threading.Event], Any], key: str = "") -> Task:
        """Run ``target(progress, cancel)`` on a new thread; refuse (JobRefused) while a task of the same kind
        and key runs. The target must not use objects that the page may free meanwhile (copy uploads first)."""
        with self._lock:
            running = next((t for t in self.tasks.values() if t.active and (t.kind, t.key) == (kind, key)), None)
            if running is not None:
                raise JobRefused(f"'{running.label}' is still running; wait for it or cancel it first")
            finished = sorted((t for t in self.tasks.values() if not t.active), key=lambda t: t.started)
            for old in finished[:max(0, len(finished) - KEEP_FINISHED + 1)]:
                del self.tasks[old.id]
            task = Task(id=uuid.uuid4().hex[:8], kind=kind, key=key, label=label)
            self.tasks[task.id] = task
        task.thread = threading.Thread(target=task._run, args=(target,), name=f"task-{kind}-{task.id}", daemon=True)
        task.thread.start()
        return task


TASKS = TaskRegistry()


# -- the command line -------------------------------------------------------------------------------
@contextmanager
def cancel_on_interrupt(say: Callable[[str], None] | None = None) -> Iterator[threading.Event]:
    """Within the block, Ctrl-C sets the returned event (the work stops at its next file and says what it
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
