"""A run's events.jsonl: written by the training, read back as the same events by whoever follows it."""
import json

from seg_core.runs.event_log import EventWriter, read_events
from seg_core.runs.events import End, Start, Status, Step, Validation


def _step(n):
    return Step(1, n, 10, 1.0 / n, 1.0, 0.002, n * 0.1, n / 10, 1.0, 4.0, "all stages")


def test_events_come_back_as_written_and_a_half_written_line_waits(tmp_path):
    w = EventWriter()
    w(Status("checking the data set"))  # before the run folder exists: kept
    w.open(tmp_path)
    start = Start(100, 10, None, (64, 64), 5, 1, 2, "cpu", "fp32")
    w(start)
    w(_step(1))
    w(_step(2))  # within STEP_EVERY_S of step 1: held back ...
    val = Validation(1, 2, "all stages", 0.2, 0.9, 0.002, 4.0, 100, val_miou=0.5)
    w(val)  # ... and written before the next other event
    w(End("done", 1, 2, 0.3, 0.5, 4.0, 5.0, True))
    events, offset = read_events(tmp_path / "events.jsonl")
    assert [e.kind for e in events] == ["status", "start", "step", "step", "validation", "end"]
    assert events[1] == start and events[1].img_size == (64, 64) and events[4] == val
    assert [e.step for e in events if isinstance(e, Step)] == [1, 2]
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write(json.dumps({"kind": "status", "message": "half"})[:10])  # the training is writing this line
    more, offset2 = read_events(tmp_path / "events.jsonl", offset)
    assert more == [] and offset2 == offset
    assert read_events(tmp_path / "missing.jsonl", 7) == ([], 7)
