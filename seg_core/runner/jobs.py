"""The background runner: long work on a thread of the server process, its progress kept for display, Cancel.

``REGISTRY.start(kind, label, target, key=...)`` runs ``target(progress, cancel)`` on a new thread: the
engine's own vocabulary (``seg_core.base.progress``): ``progress`` is given a ``Count`` ("12/40 files") or,
for a training, the training events (``seg_core.runs.events``); ``cancel`` is a ``threading.Event`` that
Cancel sets. The job keeps what it was sent: the latest count; for a training its start, last step, loss
curve, validations and end. A page polls ``Job.snapshot()`` (one consistent copy) and a Cancel button calls
``Job.cancel()``.

The rules: a training (kind ``TRAIN``) runs one at a time in this process; other work (imports, folder
predictions, zips, exports) runs at once with anything else, one at a time per kind and key (the same
workspace, the same run). A refused start raises ``JobRefused`` naming the job that runs. The registry lives
in the server process (not in a browser session), so a reloaded page or a second tab finds its running job
again (``active``, ``training``). Starting a training (in this process or torchrun's) is ``launch.py``'s.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from seg_core.base.progress import Cancelled, Count, Progress
from seg_core.runs.events import End, Start, Status, Step, Unfreeze, Validation

TRAIN = "train"  # the kind of a training job
MAX_POINTS = 5000  # loss-curve points kept per training
KEEP_FINISHED = 50  # finished jobs kept for display (the oldest are forgotten)
ACTIVE = ("starting", "running")
CANCELLING = {TRAIN: "cancelling: stopping after the current step and keeping the best checkpoint"}

Target = Callable[[Progress, threading.Event], Any]


class JobRefused(RuntimeError):
    """A job that may not run beside it is running; the message says which."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, for display on any thread."""

    id: str
    kind: str
    key: str
    label: str
    state: str  # starting, running, done, cancelled, failed
    started: float
    ended: float | None
    message: str  # what it is doing (a training's status), cancelled: what was kept; failed: the traceback
    error: str | None
    result: Any  # the target's return value; when cancelled, what was done (Cancelled.partial)
    cancel_requested: bool
    count: Count | None  # counted work: the latest count
    start: Start | None  # a training: its events
    last_step: Step | None
    curve: list[dict]  # {"step", "loss", "elapsed"} points for the live loss curve
    validations: list[Validation]
    end: End | None
    first_progress_s: float | None  # seconds from start to the first progress (a count, a training step)
    last_step_at: float | None = None  # time.time() when ``last_step`` arrived

    def _since_step(self) -> float:
        """Seconds since the last step arrived, while the job runs (validation, measuring: no steps come)."""
        return max(0.0, time.time() - self.last_step_at) if self.active and self.last_step_at else 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float:
        """0..1 of the work done."""
        if self.state == "done":
            return 1.0
        if self.last_step is not None:
            s, st = self.last_step, self.start
            frac = s.progress
            if st is not None and st.time_budget:  # the budget's clock runs on between steps
                frac += self._since_step() / st.time_budget
            return min(max(frac, 0.0), 1.0)
        return self.count.fraction if self.count is not None else 0.0

    def text(self, clock: bool = True) -> str:
        """One line for a progress bar, in a domain expert's words. A training: step (of total), round (epoch),
        training error (loss), speed and (``clock``) the
        seconds of the budget and the ETA. Other work: its label and count (or "starting"), and a pending
        cancel."""
        if self.kind == TRAIN:
            return self._training_text(clock)
        now = self.count.text(stage=False) if self.count else "starting"
        if self.cancel_requested and self.active:
            now += " · cancelling after the current step"
        return f"{self.label}: {now}"

    def clock(self) -> dict | None:
        """A training's clock, for a display that ticks by itself between two updates: ``elapsed`` seconds of
        the run, its ``budget`` (None: epochs decide) and the seconds left, ``eta`` (None: unknown or ended)."""
        s, st = self.last_step, self.start
        if self.kind != TRAIN or s is None:
            return None
        since = self._since_step()
        return {"elapsed": s.elapsed + since, "budget": st.time_budget if st is not None else None,
                "eta": max(0.0, s.eta - since) if self.active and s.eta is not None else None}

    def _training_text(self, clock: bool) -> str:
        s = self.last_step
        if s is None:
            return "preparing data and model" if self.active else self.state
        st, c = self.start, self.clock()
        text = f"step {s.step}" + (f" of {s.total_steps}" if s.total_steps else "")
        if clock and c["budget"]:
            text += f" · {c['elapsed']:.0f} of {c['budget']:.0f} s"
        text += f" · round {s.epoch} · training error {s.loss_avg:.3f}"
        if clock and c["eta"] is not None:
            text += f" · about {c['eta']:.0f} s left"
        text += f" · {s.images_per_s:.1f} images a second"
        if st is not None and st.processes > 1:
            text += f" · {st.processes} processes"
        if s.skipped:
            text += f" · {s.skipped} step(s) without labelled pixels skipped"
        return text


@dataclass
class Job:
    id: str
    kind: str
    label: str
    key: str = ""
    output: str | None = None  # the folder the job writes (a run), if any
    state: str = "starting"  # starting, running, done, cancelled, failed
    started: float = field(default_factory=time.time)
    ended: float | None = None
    message: str = ""
    error: str | None = None
    result: Any = None
    count: Count | None = None
    start: Start | None = None
    last_step: Step | None = None
    curve: list[dict] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    end: End | None = None
    first_progress_s: float | None = None
    last_step_at: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def report(self, report) -> None:
        """The progress callback handed to the target (called on the job's thread): a Count or a training
        event; anything else is ignored."""
        with self._lock:
            if isinstance(report, (Count, Step)):
                if self.first_progress_s is None:
                    self.first_progress_s = time.time() - self.started
                self.state = "running"
            if isinstance(report, Count):
                self.count = report
            elif isinstance(report, Step):
                self.last_step, self.last_step_at = report, time.time()
                if len(self.curve) < MAX_POINTS:
                    self.curve.append({"step": report.step, "loss": report.loss, "elapsed": report.elapsed})
            elif isinstance(report, Validation):
                self.validations.append(report)
            elif isinstance(report, Status):
                self.message = report.message
            elif isinstance(report, Start):
                self.start = report
            elif isinstance(report, Unfreeze):
                self.message = f"unfroze the encoder at epoch {report.epoch}"
            elif isinstance(report, End):
                self.end = report

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(self.id, self.kind, self.key, self.label, self.state, self.started, self.ended,
                               self.message, self.error, self.result, self.cancel_event.is_set(), self.count,
                               self.start, self.last_step, list(self.curve), list(self.validations), self.end,
                               self.first_progress_s, self.last_step_at)

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            if self.kind in CANCELLING:
                self.message = CANCELLING[self.kind]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active

    def _run(self, target: Target) -> None:
        state, result, message, error = "done", None, None, None
        try:
            result = target(self.report, self.cancel_event)
        except Cancelled as err:
            state, result, message = "cancelled", err.partial, str(err)
        except BaseException as err:  # shown to the user, not lost in a log
            state, error, message = "failed", f"{type(err).__name__}: {err}", traceback.format_exc(limit=6)
        with self._lock:
            if state == "done" and self.end is not None:  # a training says how it ended (a cancel may also
                state = self.end.state  # come from another process)
            elif state == "done" and self.kind == TRAIN and self.cancel_event.is_set():
                state = "cancelled"
            self.state, self.result, self.error, self.ended = state, result, error, time.time()
            if message is not None:
                self.message = message


class JobRegistry:
    """The jobs of this process: one training at a time, other work one at a time per kind and key."""

    def __init__(self):
        self._lock = threading.Lock()
        self.jobs: dict[str, Job] = {}

    def get(self, job_id: str | None) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id) if job_id else None

    def active(self, kind: str | None = None, key: str | None = None) -> list[Job]:
        """Running jobs, of ``kind`` and ``key`` when given (oldest first)."""
        with self._lock:
            return sorted((j for j in self.jobs.values() if j.active and kind in (None, j.kind) and key in (None, j.key)),
                          key=lambda j: j.started)

    def training(self) -> Job | None:
        """The training running in this process, if any."""
        return next(iter(self.active(TRAIN)), None)

    def latest(self, kind: str = TRAIN) -> Job | None:
        """The newest job of ``kind`` (running or ended)."""
        with self._lock:
            return max((j for j in self.jobs.values() if j.kind == kind), key=lambda j: j.started, default=None)

    def training_of(self, runs_dir, job_id: str | None = None) -> Job | None:
        """The training of ``runs_dir`` (one workspace's runs) to show: training ``job_id`` (the one a page
        started itself), else the one writing there that runs, else the newest; None when no training of this
        process writes there (another workspace's, another project's in another tab, is not this one's)."""
        runs_dir = Path(runs_dir).absolute()
        with self._lock:
            own = self.jobs.get(job_id) if job_id else None
            if own is not None and own.kind == TRAIN:
                return own
            mine = sorted((j for j in self.jobs.values() if j.kind == TRAIN and j.output is not None
                           and Path(j.output).absolute().parent == runs_dir), key=lambda j: j.started, reverse=True)
        return next((j for j in mine if j.active), None) or next(iter(mine), None)

    def writing(self, folder) -> Job | None:
        """The active job that writes ``folder`` (a run being trained), if any."""
        folder = Path(folder).absolute()
        return next((j for j in self.active() if j.output is not None and Path(j.output).absolute() == folder), None)

    def start(self, kind: str, label: str, target: Target, key: str = "", output: str | None = None) -> Job:
        """Run ``target(progress, cancel)`` on a new thread; refuse (JobRefused) while a training runs (for a
        training) or a job of the same kind and key runs. The target must not use objects that a page may
        free meanwhile (copy uploads first)."""
        with self._lock:
            running = next((j for j in self.jobs.values() if j.active and j.kind == kind
                            and (kind == TRAIN or j.key == key)), None)
            if running is not None:
                raise JobRefused(f"'{running.label}' is still running; wait for it or cancel it first")
            finished = sorted((j for j in self.jobs.values() if not j.active), key=lambda j: j.started)
            for old in finished[:max(0, len(finished) - KEEP_FINISHED + 1)]:
                del self.jobs[old.id]
            job = Job(id=uuid.uuid4().hex[:8], kind=kind, label=label, key=key, output=output)
            self.jobs[job.id] = job
        job.thread = threading.Thread(target=job._run, args=(target,), name=f"job-{kind}-{job.id}", daemon=True)
        job.thread.start()
        return job


REGISTRY = JobRegistry()
