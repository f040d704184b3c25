"""Training in several processes under torchrun: who we are, and the few collectives training needs.

torchrun (``torch.distributed.run``) starts one process per GPU (or per CPU share) and tells each its
place through environment variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, ...);
``Comm.open`` joins them into a process group: NCCL between GPUs, gloo on CPUs. A plain
``python -m seg_core train`` has no such variables and gets a one-process ``Comm`` whose collectives
return their input, so the one-process path pays nothing.

What training agrees on through it: a stop (a cancel or a signal seen by any process stops all at the same
step), the end of a time budget (rank 0's clock decides), the loss and the validation confusion matrix
(summed over the processes), and rank 0's result of work only it does (taking the training lock, checking
the data set), shared with the others (its error too, so every process fails with the same message).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, TypeVar

import numpy as np
import torch

T = TypeVar("T")
TIMEOUT = timedelta(minutes=30)  # a process that waits longer than this for the others fails


class MainFailed(RuntimeError):
    """Work done for all processes by rank 0 failed there (rank 0 reports the error itself)."""


@dataclass(frozen=True)
class Place:
    """This process's place among the training processes (torchrun's environment variables)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes the run folder and reports progress."""
        return self.rank == 0

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Place":
        env = os.environ if env is None else env

        def num(name: str, default: int) -> int:
            try:
                return int(env.get(name, default))
            except ValueError:
                raise ValueError(f"environment variable {name} must be a whole number, got '{env.get(name)}'") \
                    from None
        world = num("WORLD_SIZE", 1)
        return cls(num("RANK", 0), world, num("LOCAL_RANK", 0), num("LOCAL_WORLD_SIZE", world))


class Comm:
    """The collectives of one training; with one process each returns its input (no process group)."""

    def __init__(self, place: Place, device: torch.device, backend: str | None = None):
        self.place, self.device, self.backend = place, device, backend

    @property
    def enabled(self) -> bool:
        return self.place.world > 1

    @property
    def main(self) -> bool:
        return self.place.main

    @classmethod
    def open(cls, device: torch.device, place: Place | None = None) -> "Comm":
        """Join torchrun's process group when there are several processes: NCCL on a GPU, gloo on CPU."""
        import torch.distributed as dist

        place = place or Place.from_env()
        if place.world <= 1:
            return cls(place, device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        if not dist.is_initialized():
            kw = {"device_id": device} if device.type == "cuda" else {}
            dist.init_process_group(backend, timeout=TIMEOUT, **kw)
        return cls(place, device, backend)

    def close(self) -> None:
        import torch.distributed as dist

        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()

    # -- collectives ---------------------------------------------------------------------------
    def _reduce(self, values: list[float], op) -> list[float]:
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in values], dtype=torch.float64,
                         device=self.device if self.backend == "nccl" else "cpu")
        dist.all_reduce(t, op=op)
        return t.tolist()

    def sum(self, values: list[float]) -> list[float]:
        """Each value summed over the processes."""
        if not self.enabled:
            return [float(v) for v in values]
        import torch.distributed as dist

        return self._reduce(values, dist.ReduceOp.SUM)

    def any(self, flags: list[bool]) -> list[bool]:
        """Each flag: set in at least one process."""
        return [v > 0 for v in self.sum([bool(f) for f in flags])]

    def sum_array(self, array: np.ndarray) -> np.ndarray:
        """An integer array (a confusion matrix) summed over the processes."""
        if not self.enabled:
            return array
        import torch.distributed as dist

        t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.int64))
        t = t.to(self.device) if self.backend == "nccl" else t
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.cpu().numpy()

    def from_main(self, work: Callable[[], T]) -> T:
        """``work()`` done by rank 0 only, its result (or the exception it raised) given to every process."""
        if not self.enabled:
            return work()
        import torch.distributed as dist

        box: list = [None]
        error = None
        if self.main:
            try:
                box[0] = ("ok", work())
            except Exception as err:  # every process fails with it; rank 0 raises the original
                error = err
                box[0] = ("error", f"{type(err).__name__}: {err}")
        dist.broadcast_object_list(box, src=0, device=self.device if self.backend == "nccl" else None)
        kind, value = box[0]
        if error is not None:
            raise error
        if kind == "error":
            raise MainFailed(f"rank 0 failed: {value}")
        return value

    def same_buffers(self, module: torch.nn.Module) -> None:
        """Rank 0's buffers (batch-norm running statistics) copied to every process, so that all validate
        the model rank 0 saves."""
        if not self.enabled:
            return
        import torch.distributed as dist

        for b in module.buffers():
            dist.broadcast(b.data, src=0)

    # -- stops from outside ----------------------------------------------------------------------
    @contextlib.contextmanager
    def stop_on_signals(self, stop: threading.Event):
        """Under torchrun, SIGTERM and SIGINT (Ctrl-C, or torchrun passing on its own stop) set ``stop``
        instead of killing the process: the processes agree on it at the next step and end together with
        the best checkpoint kept. The same signal a second time ends the process at once (Ctrl-C reaches
        torchrun too, which then sends SIGTERM: that one is not a second Ctrl-C)."""
        if not self.enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        seen: set[int] = set()

        def handler(signum, frame):
            if signum in seen:
                raise KeyboardInterrupt
            seen.add(signum)
            stop.set()

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
