"""The run folder is written by the recorder from the training events alone (the trainer writes no file)."""
import json

import pytest
import torch

from seg_core.base.classes import ClassList
from seg_core.runs.event_log import read_events
from seg_core.runs.events import End, Failed, Measured, Opened, Start, Status, Step, Validation
from seg_core.runs.folder import CANCEL, Run
from seg_core.training.recorder import Checkpoint, Recorder, display


def _validation(epoch: int, miou: float, best: bool) -> Validation:
    return Validation(epoch, epoch * 2, "all stages", epoch * 0.5, 0.7, 0.001, 8.0, 100, miou, miou, 0.9, best)


def _opened() -> Opened:
    classes = ClassList(["background", "cell"], [(0, 0, 0), (255, 0, 0)])
    return Opened({"arch": "unet", "num_classes": 2, "class_names": classes.names}, classes.to_json(), 1000.0, 1)


def test_the_recorder_writes_the_run_folder_from_the_events(tmp_path):
    net = torch.nn.Linear(2, 2)
    rec = Recorder(tmp_path / "r")
    rec(Status("checking the data set"))  # before the folder exists: kept for events.jsonl
    assert not (tmp_path / "r").exists()
    rec(_opened())
    run = Run(tmp_path / "r")
    assert run.config["num_classes"] == 2 and run.classes.names == ["background", "cell"]
    assert run.classes.colours[1] == (255, 0, 0)
    assert run.status["state"] == "running" and run.status["started"] == 1000.0 and "pid" in run.status
    rec(Start(100, 4, None, (64, 64), 4, 1))
    rec(Step(1, 1, 4, 0.9, 0.9, 0.001, 0.1, 0.25, 0.3, 8.0, "all stages"))
    rec(Checkpoint(net))  # the best so far: saved, before its validation
    rec(_validation(1, 0.5, best=True))
    assert run.has_checkpoint
    saved = run.checkpoint_mtime
    rec(_validation(2, 0.4, best=False))  # not the best: no Checkpoint came, nothing saved
    assert run.checkpoint_mtime == saved
    assert [r["val_miou"] for r in run.history()] == [0.5, 0.4] and run.best_val_miou == 0.5
    rec(Measured({"chosen": "plain", "crf": False, "tta": False}))
    assert run.postprocess["chosen"] == "plain"
    run.request_cancel()
    rec(End("cancelled", 2, 4, 1.0, 0.5, 8.0, 9.0, True))
    status = json.loads((run.path / "status.json").read_text())
    assert status["state"] == "cancelled" and status["steps"] == 4 and status["started"] == 1000.0
    assert not (run.path / CANCEL).exists()
    events, _ = read_events(run.path / "events.jsonl")
    assert [e.kind for e in events] == ["status", "opened", "start", "step", "validation", "validation", "measured",
                                        "end"]


def test_a_failure_after_the_folder_opened_reads_failed_and_before_writes_nothing(tmp_path):
    before = Recorder(tmp_path / "early")
    before(Failed("DatasetError: no images/ folder"))
    assert not (tmp_path / "early").exists()
    rec = Recorder(tmp_path / "r")
    rec(_opened())
    rec(Failed("OSError: No space left on device"))
    status = Run(tmp_path / "r").status
    assert status["state"] == "failed" and status["error"] == "OSError: No space left on device"


def test_a_display_that_fails_is_ignored_a_recorder_that_fails_is_not(tmp_path):
    def broken(event):
        raise RuntimeError("the display broke")

    display(broken)(Status("checking the data set"))  # swallowed: the training goes on
    seen = []
    display(seen.append)(Checkpoint(torch.nn.Linear(2, 2)))  # a display sees the training events only
    assert seen == []
    (tmp_path / "r").write_text("a file where the run folder should be")
    with pytest.raises(OSError):  # a run folder the recorder cannot write stops the training
        Recorder(tmp_path / "r")(_opened())
