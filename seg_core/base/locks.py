"""One training at a time per runs folder, across processes: a lock file naming its owner.

The lock is ``<runs folder>/.train.lock``: an OS lock (``flock``) held on it for the whole training,
and, inside, who holds it: pid, host, the process's start time, the run and when it started. The OS
drops the lock the moment its process dies (killed, crashed, the machine restarted), so a lock file
left behind by a dead process is stale and the next training simply takes it over. A live owner's
lock refuses with a message naming the run, the pid and the host.

Within one process the lock is re-entrant for the same run (the app's job registry takes it before
starting the thread, the training takes it again), so nothing deadlocks on itself.

Also here: whether a recorded process (pid + start time, as written in a run's ``status.json``) is
still alive, which is how a run left "running" by a dead process reads as "interrupted".
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

LOCK_NAME = ".train.lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: the in-process registry is the only guard
    fcntl = None


class TrainingBusy(RuntimeError):
    """Another training holds the runs folder's lock; the message names it (run, pid, host)."""

    def __init__(self, message: str, owner: dict | None = None):
        super().__init__(message)
        self.owner = owner or {}


# -- processes ---------------------------------------------------------------------------------------
def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(")") + 2:].split()[19])  # field 22, after "pid (comm) "
    except (ValueError, IndexError):
        return None


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] in "ZX"
    except (OSError, ValueError, IndexError):
        return False


def process_alive(pid: int | None, start: int | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie) and, when ``start`` is given, is the same process that
    was recorded (a reused pid has another start time)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    if _zombie(pid):
        return False
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


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
_held: dict[str, "_Held"] = {}  # lock path -> this process's hold on it
_held_guard = threading.Lock()


class _Held:
    def __init__(self, fd: int, run: str):
        self.fd, self.run, self.count = fd, run, 1


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
            return read_owner(runs_dir) or {**this_process(), "run": mine.run}
    if not path.exists():
        return None
    if fcntl is None:
        owner = read_owner(runs_dir)
        return owner if owner and owner_alive(owner) is not False else None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_owner(runs_dir) or {"run": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe(owner: dict) -> str:
    run = Path(str(owner.get("run") or "?")).name
    since = owner.get("started")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else ""
    return f"'{run}' is training (process {owner.get('pid', '?')} on {owner.get('host', '?')}{when})"


def acquire(runs_dir: Path, run: str, retries: int = 20) -> None:
    """Take the runs folder's training lock for ``run`` (a run folder's path or name); raise TrainingBusy
    if another training holds it. Re-entrant for the same run within this process."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(runs_dir)
    run = os.path.abspath(str(run))
    with _held_guard:
        mine = _held.get(str(path))
        if mine is not None:
            if mine.run != run:
                raise TrainingBusy(f"{describe(read_owner(runs_dir) or {**this_process(), 'run': mine.run})}; "
                                   "wait for it or cancel it first", read_owner(runs_dir))
            mine.count += 1
            return
        if fcntl is None:  # pragma: no cover
            _held[str(path)] = _Held(-1, run)
            return
        for attempt in range(retries):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                owner = read_owner(runs_dir)
                if (owner is None or owner_alive(owner) is False) and attempt < retries - 1:
                    # someone probing, just writing, or a dead owner's file being taken over: look again
                    time.sleep(0.01)
                    continue
                raise TrainingBusy(f"{describe(owner or {})}; wait for it or cancel it first", owner) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous owner removed the file as we opened it: take the new one
                os.close(fd)
                continue
            # a file left by a dead owner is simply overwritten: the stale lock is recovered
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({**this_process(), "run": run, "started": time.time()}).encode())
            os.fsync(fd)
            _held[str(path)] = _Held(fd, run)
            return
        raise TrainingBusy(f"{path}: could not take the training lock")  # pragma: no cover


def release(runs_dir: Path, run: str) -> None:
    """Give back one hold of the lock for ``run``; the last one removes the file and drops the OS lock."""
    path = lock_path(Path(runs_dir))
    with _held_guard:
        mine = _held.get(str(path))
        if mine is None or mine.run != os.path.abspath(str(run)):
            return
        mine.count -= 1
        if mine.count > 0:
            return
        del _held[str(path)]
        try:
            path.unlink(missing_ok=True)  # still holding the OS lock: nobody else owns this file
        finally:
            if mine.fd >= 0:
                os.close(mine.fd)


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
