"""A run's events in its folder (``events.jsonl``, one JSON object a line), so that a training in another
process (torchrun started by the app) can be followed, and picked up again after a restart, from the run
folder alone.

The training (rank 0) writes every event but ``Step``, which is written at most every ``STEP_EVERY_S``
seconds (and the last one before any other event), so a long run's file stays small. Events sent before
the run folder exists (checking the data set) are kept and written when it opens.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from seg_core.runs.events import Event, Step, from_dict, to_dict
from seg_core.runs.folder import EVENTS

STEP_EVERY_S = 0.25


class EventWriter:
    """A ``progress`` callback that appends the events to ``<run>/events.jsonl`` once ``open`` named it."""

    def __init__(self):
        self.path: Path | None = None
        self._pending: list[Event] = []
        self._held: Step | None = None  # the newest step not written yet
        self._last_step = 0.0

    def open(self, run_folder: Path) -> None:
        self.path = Path(run_folder) / EVENTS
        self.path.write_text("")
        self._write(self._pending)
        self._pending = []

    def __call__(self, event: Event) -> None:
        if self.path is None:
            self._pending.append(event)
            return
        if isinstance(event, Step):
            now = time.monotonic()
            if now - self._last_step < STEP_EVERY_S:
                self._held = event
                return
            self._last_step, self._held = now, None
            self._write([event])
            return
        held, self._held = self._held, None
        self._write(([held] if held is not None else []) + [event])

    def _write(self, events: list[Event]) -> None:
        if events:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(json.dumps(to_dict(e)) + "\n" for e in events))
                f.flush()


def read_events(path: Path, offset: int = 0) -> tuple[list[Event], int]:
    """The complete lines of ``path`` from byte ``offset`` on, as events, and the offset after them (a line
    still being written is left for the next read)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        if line.strip():
            try:
                events.append(from_dict(json.loads(line)))
            except ValueError:  # a damaged line: skip it, the next ones still count
                continue
    return events, offset + end
