"""Background training jobs: a thread per job, lock-protected progress, cancel, one job at a time.

The registry lives in the server process (not in a browser session), so a reloaded page or a
second tab finds the running job again by asking the registry. A job keeps the training events
(``seg_core.runs.events``) it was sent; ``snapshot()`` copies them for display.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable

from seg_core.runs.events import End, Event, Start, Status, Step, Unfreeze, Validation

MAX_POINTS = 5000  # loss-curve points kept per job
ACTIVE = ("starting", "running")


class JobRefused(RuntimeError):
    """A job is already running; the message says which."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, for display on any thread."""

    id: str
    kind: str
    label: str
    state: str  # starting, running, done, cancelled, failed
    started: float
    start: Start | None
    last_step: Step | None
    curve: list[dict]  # {"step", "loss", "elapsed"} points for the live loss curve
    validations: list[Validation]
    end: End | None
    message: str
    error: str | None
    first_progress_s: float | None
    cancel_requested: bool

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float:
        """0..1 of the run done."""
        if self.state == "done":
            return 1.0
        return min(max(self.last_step.progress if self.last_step else 0.0, 0.0), 1.0)

    def summary(self) -> str:
        """One line: step (of total, or seconds of the budget), epoch, loss, ETA, speed."""
        s, st = self.last_step, self.start
        if s is None:
            return "preparing data and model" if self.active else self.state
        text = f"step {s.step}" + (f"/{s.total_steps}" if s.total_steps else "")
        if st is not None and st.time_budget:
            text += f" · {s.elapsed:.0f}/{st.time_budget:.0f} s"
        text += f" · epoch {s.epoch} · loss {s.loss_avg:.4f}"
        if self.active and s.eta is not None:
            text += f" · ETA {s.eta:.0f} s"
        text += f" · {s.images_per_s:.1f} img/s"
        if st is not None and st.processes > 1:
            text += f" · {st.processes} processes"
        if s.skipped:
            text += f" · {s.skipped} batch(es) without labels skipped"
        return text


@dataclass
class Job:
    id: str
    kind: str
    label: str
    output: str | None = None  # the folder the job writes (a run), if any
    state: str = "starting"  # starting, running, done, cancelled, failed
    started: float = field(default_factory=time.time)
    first_progress_s: float | None = None  # seconds from start to the first training step
    start: Start | None = None
    last_step: Step | None = None
    curve: list[dict] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    end: End | None = None
    message: str = ""
    error: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def report(self, event: Event) -> None:
        """Progress callback for the engine (called on the job's thread)."""
        with self._lock:
            if isinstance(event, Step):
                if self.first_progress_s is None:
                    self.first_progress_s = time.time() - self.started
                self.state = "running"
                self.last_step = event
                if len(self.curve) < MAX_POINTS:
                    self.curve.append({"step": event.step, "loss": event.loss, "elapsed": event.elapsed})
            elif isinstance(event, Validation):
                self.validations.append(event)
            elif isinstance(event, Status):
                self.message = event.message
            elif isinstance(event, Start):
                self.start = event
            elif isinstance(event, Unfreeze):
                self.message = f"unfroze the encoder at epoch {event.epoch}"
            elif isinstance(event, End):
                self.end = event

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(self.id, self.kind, self.label, self.state, self.started, self.start,
                               self.last_step, list(self.curve), list(self.validations), self.end, self.message,
                               self.error, self.first_progress_s, self.stop_event.is_set())

    def cancel(self) -> None:
        self.stop_event.set()
        with self._lock:
            self.message = "cancelling: stopping after the current step and keeping the best checkpoint"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active

    def _body(self, target: Callable[[Callable[[Event], None], threading.Event], object],
              release: Callable[[], None] | None = None) -> None:
        try:
            self._run_target(target)
        finally:
            if release is not None:
                release()

    def _run_target(self, target: Callable[[Callable[[Event], None], threading.Event], object]) -> None:
        from seg_core.train.loop import Cancelled

        try:
            target(self.report, self.stop_event)
            with self._lock:  # a training says how it ended (a cancel may also come from another process)
                self.state = self.end.state if self.end is not None else \
                    "cancelled" if self.stop_event.is_set() else "done"
        except Cancelled as err:
            with self._lock:
                self.state, self.message = "cancelled", str(err)
        except BaseException as err:  # shown to the user, not lost in a log
            with self._lock:
                self.state = "failed"
                self.error = f"{type(err).__name__}: {err}"
                self.message = traceback.format_exc(limit=6)


class JobRegistry:
    """All jobs of this process; at most one active at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self.jobs: dict[str, Job] = {}

    def active(self) -> Job | None:
        with self._lock:
            return next((j for j in self.jobs.values() if j.active), None)

    def latest(self) -> Job | None:
        with self._lock:
            return max(self.jobs.values(), key=lambda j: j.started, default=None)

    def writing(self, folder) -> Job | None:
        """The active job that writes ``folder`` (a run being trained), if any."""
        from pathlib import Path

        job = self.active()
        return job if job is not None and job.output is not None and Path(job.output) == Path(folder) else None

    def get(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def start(self, kind: str, label: str, target: Callable[[Callable[[Event], None], threading.Event], object],
              output: str | None = None, lock: bool = True) -> Job:
        """Run ``target(progress, stop_event)`` on a new thread; refuse if a job is running. A training job
        (kind "train" with an ``output`` run folder) also takes that runs folder's training lock
        (``train_lock``) for its whole life, so a training in another process refuses it too; not with
        ``lock=False``: a job that follows a training in other processes (``launch.py``), which lock it."""
        with self._lock:
            running = next((j for j in self.jobs.values() if j.active), None)
            if running is not None:
                raise JobRefused(f"'{running.label}' is still running; wait for it or cancel it first")
            release = None
            if kind == "train" and output is not None and lock:
                from pathlib import Path

                from seg_core.base import locks as train_lock
                try:
                    train_lock.acquire(Path(output).parent, output)
                except train_lock.TrainingBusy as err:
                    raise JobRefused(str(err)) from None
                release = lambda: train_lock.release(Path(output).parent, output)  # noqa: E731
            job = Job(id=uuid.uuid4().hex[:8], kind=kind, label=label, output=output)
            self.jobs[job.id] = job
        job.thread = threading.Thread(target=job._body, args=(target, release), name=f"job-{job.id}", daemon=True)
        job.thread.start()
        return job


REGISTRY = JobRegistry()
