"""Starting a training job: always in its own process (``python -m seg_core train --config <settings>``, the
command line's engine and events; torchrun for several processes), followed from the run folder.

``start_training`` is the one way the app starts a training: refused (``JobRefused``) while one runs here or
another process holds the runs folder's training lock; the training itself takes that lock (rank 0 under
torchrun), once.

The app writes the run's settings into the new run folder and starts ``python -m seg_core train --config
<settings>``, or for several processes ``python -m torch.distributed.run --standalone --nproc_per_node N -m
seg_core train --config <settings>`` (torchrun is the launcher; NCCL between GPUs, gloo on CPUs; the processes
train together and rank 0 writes the run folder). The training writes its events into the run folder
(``events.jsonl``, ``event_log.py``); ``follow`` turns that file back into the events a background job
shows, so the Train page displays the training while it runs in another process, and the server's
interpreter is not shared with it (a page's redraws do not slow it down). Cancel writes the run's cancel file
(the training, rank 0, checks it every step; every process stops at the same step), then, if the process is
still running after ``CANCEL_GRACE_S``, sends it (torchrun) SIGTERM, which torchrun passes on.

The process lives in its own session: a page reload or a server restart does not stop it, and ``reattach``
picks it up again from ``<runs>/.launched.json`` while its process (pid and start time recorded) still runs.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from seg_core.base.atomic import atomic_write_text
from seg_core.base.progress import Cancelled
from seg_core.runner.jobs import TRAIN, JobRefused
from seg_core.runs.event_log import read_events
from seg_core.runs.events import End
from seg_core.runs.folder import EVENTS, Run
from seg_core.runs.config import TrainConfig
from seg_core.base.locks import describe, holder, owner_alive, process_start

SETTINGS = "train_settings.json"  # in the run folder: the settings the app launched it with
LAUNCH = "launch.json"  # in the run folder: the training process (torchrun's), the processes, the command
LOG = "train.log"  # in the run folder: what the training process(es) printed (errors too)
CURRENT = ".launched.json"  # in the runs folder: the latest launch, to pick it up again
CPU_PROCESSES_ENV = "SEG_CORE_CPU_PROCESSES"  # without several GPUs: offer this many CPU processes (gloo)
CANCEL_GRACE_S = 30.0
POLL_S = 0.5


def available_processes() -> tuple[int, str]:
    """How many training processes the Train page may offer, and of what ("GPUs", "CPU processes"): the GPUs when there are several,
    else ``SEG_CORE_CPU_PROCESSES`` CPU processes (gloo; to try the torchrun path without GPUs), else 1."""
    import torch

    gpus = torch.cuda.device_count()
    if gpus > 1:
        return gpus, "GPUs"
    try:
        cpus = int(os.environ.get(CPU_PROCESSES_ENV, "1"))
    except ValueError:
        cpus = 1
    return max(1, cpus), "CPU processes"


def train_command(settings: Path, processes: int = 1) -> list[str]:
    """The command line training the settings in ``settings``: the command line's ``train --config`` in one
    process, or under torchrun with ``processes`` processes on this machine (``--standalone``: a rendezvous on a
    free local port)."""
    train = ["-m", "seg_core", "train", "--config", str(settings)]
    if processes <= 1:
        return [sys.executable, *train]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *train]


@dataclass
class Launched:
    """A training started by the app: its run folder and its process (torchrun's for several)."""

    run: str
    pid: int
    pid_start: int | None
    host: str
    processes: int
    label: str
    started: float
    command: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)  # when this process started it

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return owner_alive({"pid": self.pid, "pid_start": self.pid_start, "host": self.host}) is not False

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "proc"}, indent=2)

    @classmethod
    def from_file(cls, path: Path) -> "Launched | None":
        try:
            d = json.loads(Path(path).read_text())
            return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "proc"})
        except (OSError, ValueError, TypeError):
            return None


def start(cfg: TrainConfig, processes: int, label: str = "") -> Launched:
    """Start training ``cfg`` in ``processes`` processes (``train_command``), in its own session, its output in
    the run folder's train.log; record it in the run folder and as the runs folder's current launch."""
    from seg_core.base.cores import cpu_count

    cfg.validate()
    run = Path(cfg.out).absolute()
    run.mkdir(parents=True, exist_ok=True)
    settings = run / SETTINGS
    atomic_write_text(settings, json.dumps(cfg.to_dict(), indent=2, default=str))
    cmd = train_command(settings, processes)
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, cpu_count() // processes)), PYTHONUNBUFFERED="1")
    with open(run / LOG, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    try:
        launched = Launched(str(run), proc.pid, process_start(proc.pid), socket.gethostname(), processes,
                            label or f"{run.name} ({processes} process{'es' if processes > 1 else ''})",
                            time.time(), cmd, proc)
        atomic_write_text(run / LAUNCH, launched.to_json())
        atomic_write_text(run.parent / CURRENT, launched.to_json())
    except BaseException:  # not recorded, so nobody could follow or cancel it: stop it now
        proc.terminate()
        proc.wait()
        raise
    return launched


def current(runs_dir: Path) -> Launched | None:
    """The runs folder's latest launch while its process still runs, else None."""
    launched = Launched.from_file(Path(runs_dir) / CURRENT)
    return launched if launched is not None and launched.alive() else None


def log_error(run: Path, lines: int = 15) -> str:
    """Why the training in ``run`` failed, from its train.log: the error the command printed (``error: ...``
    and its indented lines), else the log's last lines."""
    try:
        text = (Path(run) / LOG).read_text(errors="replace").strip().splitlines()
    except OSError:
        return f"(no {LOG})"
    starts = [i for i, line in enumerate(text) if line.startswith("error: ")]
    if not starts:
        return "\n".join(text[-lines:])
    out = [text[starts[-1]]]
    for line in text[starts[-1] + 1:]:
        if not line.startswith((" ", "\t")):
            break
        out.append(line)
    return "\n".join(out)


def follow(launched: Launched, progress, cancel: threading.Event, poll_s: float = POLL_S,
           grace_s: float = CANCEL_GRACE_S) -> Run:
    """Pass the launched training's events to ``progress`` until its processes end; ``cancel`` cancels it
    (the cancel file, then SIGTERM to torchrun after ``grace_s``). Returns the run; raises Cancelled when
    it was cancelled before its first step, RuntimeError (with the end of its log) when it ended without
    finishing."""
    run = Run(launched.run)
    offset, end, cancelled_at = 0, None, None
    while True:
        if cancel.is_set() and cancelled_at is None:
            run.request_cancel()
            cancelled_at = time.time()
        alive = launched.alive()
        if alive and cancelled_at is not None and time.time() - cancelled_at > grace_s:
            try:
                os.kill(launched.pid, signal.SIGTERM)  # torchrun passes it on; the processes stop together
            except ProcessLookupError:
                pass
            cancelled_at = float("inf")
        events, offset = read_events(run.path / EVENTS, offset)
        for event in events:
            end = event if isinstance(event, End) else end
            progress(event)
        if not alive:
            break
        time.sleep(poll_s)
    if launched.proc is not None:
        launched.proc.wait()
    if end is not None:
        return run
    if cancel.is_set() or run.cancel_requested:
        raise Cancelled("cancelled before the first training step; nothing was saved")
    code = launched.returncode()
    several = launched.processes > 1
    raise RuntimeError((f"the {launched.processes} training processes" if several else "the training process")
                       + " ended without finishing"
                       + (f" ({'torchrun ' if several else ''}exit code {code})" if code is not None else "")
                       + f"; from {Path(launched.run) / LOG}:\n{log_error(Path(launched.run))}")


def start_training(registry, cfg: TrainConfig, label: str, processes: int = 1):
    """A training job of ``registry`` (Cancel cancels it): the training launched in its own process(es)
    (``start``) and followed from its run folder (``follow``). Refused (JobRefused) while a training runs here
    or another process holds the runs folder's training lock; the training takes that lock itself (rank 0's)."""
    cfg.validate()
    owner = holder(Path(cfg.out).parent) if registry.training() is None else None  # else the registry refuses
    if owner is not None:
        raise JobRefused(f"{describe(owner)}; wait for it or cancel it first")

    def target(progress, cancel):
        return follow(start(cfg, max(1, int(processes)), label), progress, cancel)

    return registry.start(TRAIN, label, target, output=str(Path(cfg.out).absolute()))


def reattach(registry, runs_dir: Path, poll_s: float = POLL_S):
    """Pick up a training started earlier (before a restart of the server) that still runs: a job
    following it, or None when there is none (or a training of this process already runs)."""
    if registry.training() is not None:
        return None
    launched = current(runs_dir)
    if launched is None:
        return None
    try:
        return registry.start(TRAIN, launched.label, lambda progress, cancel: follow(launched, progress, cancel, poll_s),
                              output=launched.run)
    except JobRefused:  # another page picked it up at the same moment
        return registry.training()
