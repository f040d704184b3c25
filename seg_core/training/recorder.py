"""The run folder, written from the training events: the trainer trains and emits, the recorder records.

``Recorder`` is an event sink (``seg_core.runs.events``) that rank 0's trainer sends every event to:
``Opened`` creates the folder with config.json, classes.json and a "running" status.json (this process's
pid: see ``Run.state``); ``Checkpoint`` (the best network so far, sent just before its ``Validation``)
saves the checkpoint; each ``Validation`` adds a row to history.csv; ``Measured`` writes postprocess.json;
``End`` writes the final status.json and clears a cancel request; ``Failed`` marks the run failed. Every
event also goes to events.jsonl (``EventWriter``), so a training in another process can be followed from
the folder alone.

A file the recorder cannot write stops the training (the error propagates); the event log does not: a
follower only misses a line.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from seg_core.base.classes import ClassList
from seg_core.base.locks import this_process
from seg_core.runs.event_log import EventWriter
from seg_core.runs.events import End, Event, Failed, Measured, Opened, Validation
from seg_core.runs.folder import CANCEL, CLASSES, Run

if TYPE_CHECKING:
    import torch


Sink = Callable[[Any], None]  # receives each event of a training (``Trainer``'s sinks)


@dataclass(frozen=True)
class Checkpoint:
    """The network to save as the run's checkpoint: the best so far, sent to the sinks just before the
    ``Validation`` that found it best. Within this process only: it is not a ``seg_core.runs.events`` event
    and is never logged."""

    network: torch.nn.Module


def display(sink: Sink) -> Sink:
    """``sink`` as a display (a progress printer, the app's job): it is sent the training events of
    ``seg_core.runs.events`` only (not the in-process ``Checkpoint``), and its errors are swallowed: a display
    must not stop the training, while the recorder's errors do (a file it cannot write)."""
    def call(event) -> None:
        if isinstance(event, Checkpoint):
            return
        try:
            sink(event)
        except Exception:
            pass
    return call


class Recorder:
    """Writes the run folder ``out`` from the training's events (a sink of the ``Trainer``)."""

    def __init__(self, out: str | Path):
        self.run = Run(out)
        self.log = EventWriter()
        self.history: list[Validation] = []
        self.opened: Opened | None = None

    def __call__(self, event: Event | Checkpoint) -> None:
        if isinstance(event, Checkpoint):
            self.run.save_checkpoint(event.network)
            return  # not a training event: never logged
        if isinstance(event, Opened):
            self._open(event)
        elif isinstance(event, Validation):
            self.history.append(event)
            self.run.write_history(self.history)
        elif isinstance(event, Measured):
            self.run.write_postprocess(event.postprocess)
        elif isinstance(event, End):
            self.run.write_status(**asdict(event), started=self.opened.started, processes=self.opened.processes)
            (self.run.path / CANCEL).unlink(missing_ok=True)
        elif isinstance(event, Failed) and self.opened is not None:
            self.run.write_status(state="failed", error=event.error)
        try:
            self.log(event)
        except Exception:  # the event log is for followers: a write it missed must not stop the training
            pass

    def _open(self, event: Opened) -> None:
        run = self.run
        run.path.mkdir(parents=True, exist_ok=True)
        ClassList.from_json(event.classes).save(run.path / CLASSES)
        run.write_config(event.config)
        run.write_status(state="running", started=event.started, processes=event.processes, **this_process())
        self.opened = event
        self.log.open(run.path)
