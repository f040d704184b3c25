"""Background training jobs: a thread per job, lock-protected progress, cancel, one job at a time.

The registry lives in the server process (not in a browser session), so a reloaded page or a
second tab finds the running job again by asking the registry.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable

MAX_POINTS = 5000


class JobRefused(RuntimeError):
    """A job is already running; the message says which."""


@dataclass
class Job:
    id: str
    kind: str
    label: str
    output: str | None = None  # the folder the job writes (a run), if any
    state: str = "starting"  # starting, running, done, cancelled, failed
    started: float = field(default_factory=time.time)
    first_progress_s: float | None = None  # seconds from start to the first training step
    latest: dict = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)  # (step, loss) points for the live curve
    validations: list[dict] = field(default_factory=list)
    message: str = ""
    error: str | None = None
    result: object = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def report(self, info: dict) -> None:
        """Progress callback for the engine (called on the job's thread)."""
        with self._lock:
            ev = info.get("event")
            if ev == "step":
                if self.first_progress_s is None:
                    self.first_progress_s = time.time() - self.started
                self.state = "running"
                self.latest = self.latest | info  # keeps the start event's time_budget, total_steps
                if len(self.steps) < MAX_POINTS:
                    self.steps.append({"step": info["step"], "loss": info["loss"], "elapsed": info["elapsed"]})
            elif ev == "validation":
                self.validations.append(dict(info))
            elif ev == "status":
                self.message = info.get("message", "")
            elif ev in ("start", "unfreeze"):
                self.latest = self.latest | {k: v for k, v in info.items() if k != "event"}
                if ev == "unfreeze":
                    self.message = f"unfroze the encoder at epoch {info.get('epoch')}"

    def snapshot(self) -> dict:
        """A consistent copy for display (any thread)."""
        with self._lock:
            return {"id": self.id, "kind": self.kind, "label": self.label, "state": self.state,
                    "started": self.started, "latest": dict(self.latest), "steps": list(self.steps),
                    "validations": list(self.validations), "message": self.message, "error": self.error,
                    "first_progress_s": self.first_progress_s, "cancel_requested": self.stop_event.is_set()}

    def cancel(self) -> None:
        self.stop_event.set()
        with self._lock:
            self.message = "cancelling: stopping after the current step and keeping the best checkpoint"

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running")

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active


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

    def get(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def start(self, kind: str, label: str, target: Callable[[Callable[[dict], None], threading.Event], object],
              output: str | None = None) -> Job:
        """Run ``target(progress, stop_event)`` on a new thread; refuse if a job is running."""
        with self._lock:
            running = next((j for j in self.jobs.values() if j.active), None)
            if running is not None:
                raise JobRefused(f"'{running.label}' is still running; wait for it or cancel it first")
            job = Job(id=uuid.uuid4().hex[:8], kind=kind, label=label, output=output)
            self.jobs[job.id] = job

        def body():
            try:
                job.result = target(job.report, job.stop_event)
                with job._lock:
                    job.state = "cancelled" if job.stop_event.is_set() else "done"
            except BaseException as err:  # shown to the user, not lost in a log
                with job._lock:
                    job.state = "failed"
                    job.error = f"{type(err).__name__}: {err}"
                    job.message = traceback.format_exc(limit=6)

        job.thread = threading.Thread(target=body, name=f"job-{job.id}", daemon=True)
        job.thread.start()
        return job


REGISTRY = JobRegistry()
