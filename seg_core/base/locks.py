"""One training at a time per runs folder, across processes: a lock file naming its owner.

The lock is ``<runs folder>/.train.lock``: a ``filelock.FileLock`` held on it for the whole training (the
trainer takes it, rank 0 under torchrun: ``seg_core.training.loop``), and, inside, who holds it: pid, host, the
process's start time, the run and when it started. The OS drops the lock the moment its process dies
(killed, crashed, the machine restarted), so a lock file left behind by a dead process is stale and the
next training simply takes it over. A live owner's lock refuses with a message naming the run, the pid and
the host; so does a second hold in the same process.

Also here: whether a recorded process (pid + start time, as written in a run's ``status.json``) is still
alive (``psutil``), which is how a run left "running" by a dead process reads as "interrupted".
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import psutil
from filelock import FileLock, Timeout

LOCK_NAME = ".train.lock"
WAIT_S = 0.5  # how long to wait for a lock held without a live owner recorded (a probe, an owner writing)
SAME_START_S = 0.01  # start times within this are the same process (a reused pid starts later)


class TrainingBusy(RuntimeError):
    """Another training holds the runs folder's lock; the message names it (run, pid, host)."""

    def __init__(self, message: str, owner: dict | None = None):
        super().__init__(message)
        self.owner = owner or {}


# -- processes ---------------------------------------------------------------------------------------
def process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), None if unknown."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError, TypeError):
        return None


def process_alive(pid: int | None, start: float | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie) and, when ``start`` is given, is the same process that
    was recorded (a reused pid has another start time)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return start is None or abs(proc.create_time() - float(start)) <= SAME_START_S
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # alive, someone else's
        return True
    except (TypeError, ValueError):  # a damaged record
        return False


def this_process() -> dict:
    """Who we are, as recorded in lock files and a run's status: pid, host, process start time."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_start": process_start(os.getpid())}


def owner_alive(owner: dict) -> bool | None:
    """Whether the process recorded in ``owner`` (pid, host, pid_start) still runs; None when it cannot be
    told from here (another host, or no pid recorded)."""
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return None
    if owner.get("host") not in (None, socket.gethostname()):
        return None
    return process_alive(pid, owner.get("pid_start"))


# -- the lock ------------------------------------------------------------------------------------------
_held: dict[str, tuple[FileLock, str]] = {}  # lock path -> this process's lock on it and the run it trains
_held_guard = threading.Lock()


def lock_path(runs_dir: Path) -> Path:
    return Path(runs_dir) / LOCK_NAME


def read_owner(runs_dir: Path) -> dict | None:
    """What the lock file says (pid, host, pid_start, run, started), or None (no file, unreadable)."""
    try:
        data = json.loads(lock_path(runs_dir).read_text() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def holder(runs_dir: Path) -> dict | None:
    """The live owner of the lock (what its file says), or None when nobody holds it."""
    path = lock_path(runs_dir)
    with _held_guard:
        mine = _held.get(str(path))
        if mine is not None:
            return read_owner(runs_dir) or {**this_process(), "run": mine[1]}
    if not path.exists():
        return None
    probe = FileLock(path, timeout=0, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        return read_owner(runs_dir) or {"run": None}
    except OSError:  # cannot be opened (permissions): nothing to tell
        return None
    probe.release()
    return None


def describe(owner: dict) -> str:
    run = Path(str(owner.get("run") or "?")).name
    since = owner.get("started")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else ""
    return f"'{run}' is training (process {owner.get('pid', '?')} on {owner.get('host', '?')}{when})"


def _busy(owner: dict | None) -> TrainingBusy:
    return TrainingBusy(f"{describe(owner or {})}; wait for it or cancel it first", owner)


def acquire(runs_dir: Path, run: str) -> None:
    """Take the runs folder's training lock for ``run`` (a run folder's path or name); raise TrainingBusy
    if another training (in this process or another) holds it."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(runs_dir)
    run = os.path.abspath(str(run))
    with _held_guard:
        mine = _held.get(str(path))
        if mine is not None:
            raise _busy(read_owner(runs_dir) or {**this_process(), "run": mine[1]})
        record = json.dumps({**this_process(), "run": run, "started": time.time()}).encode()

        def write_owner(fd: int) -> None:  # a file left by a dead owner is simply overwritten
            os.ftruncate(fd, 0)
            os.pwrite(fd, record, 0)
            os.fsync(fd)

        lock = FileLock(path, thread_local=False, on_acquired=write_owner)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = read_owner(runs_dir)
            if owner is not None and owner_alive(owner) is not False:
                raise _busy(owner) from None
            try:  # someone probing, or an owner still writing its record: look again shortly
                lock.acquire(timeout=WAIT_S)
            except Timeout:
                raise _busy(read_owner(runs_dir)) from None
        _held[str(path)] = (lock, run)


def release(runs_dir: Path, run: str) -> None:
    """Give back the lock taken for ``run``: the file is removed and the OS lock dropped."""
    path = lock_path(Path(runs_dir))
    with _held_guard:
        mine = _held.get(str(path))
        if mine is None or mine[1] != os.path.abspath(str(run)):
            return
        del _held[str(path)]
        try:
            path.unlink(missing_ok=True)  # still holding the lock: nobody else owns this file
        finally:
            mine[0].release()


class training_lock:
    """``with training_lock(runs_dir, run):`` acquire then release."""

    def __init__(self, runs_dir: Path, run: str):
        self.runs_dir, self.run = Path(runs_dir), str(run)

    def __enter__(self):
        acquire(self.runs_dir, self.run)
        return self

    def __exit__(self, *exc):
        release(self.runs_dir, self.run)
        return False
