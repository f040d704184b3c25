"""The background runner: a training at a time, other tasks (imports, zips, exports) several at once but one
per kind and key; counts and training events kept for display, errors kept, cancel."""
import threading

import pytest

from seg_core import REGISTRY, JobRefused, TrainConfig, train
from seg_core.base.progress import Steps


def _counting(n: int, gate: threading.Event, what: str = "files"):
    """A task body that counts ``n`` items, waiting at the gate after the first, and stops when cancelled."""
    def target(progress, cancel):
        steps = Steps(progress, cancel, n, what)
        for i in range(n):
            steps.check(lambda: f"cancelled after {steps.done} of {n} {what}", list(range(steps.done)))
            steps.tick(f"item {i}")
            if i == 0:
                gate.wait(10)
        return f"all {n}"
    return target


def test_job_registry_refuses_a_second_job_and_reports_errors(tiny_data, tmp_path):
    gate = threading.Event()
    job = REGISTRY.start("train", "first", lambda progress, stop: gate.wait(10))
    with pytest.raises(JobRefused, match="'first' is still running"):
        REGISTRY.start("train", "second", lambda p, s: None)
    gate.set()
    job.wait(10)
    bad = REGISTRY.start("train", "broken", lambda p, s: train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "r")), p, s))
    bad.wait(30)
    snap = bad.snapshot()
    assert snap.state == "failed" and "DatasetError" in snap.error and "no images/ folder" in snap.error


def test_job_keeps_the_training_events_for_the_page(tiny_data, tmp_path):
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=2, img_size=(64, 64), val_interval_s=0)
    job = REGISTRY.start("train", "r", lambda progress, stop: train(cfg, progress, stop), output=cfg.out)
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.state == "done" and snap.fraction == 1.0 and snap.end.checkpoint
    assert snap.start.total_steps == 6 and [p["step"] for p in snap.curve] == [1, 2, 3, 4, 5, 6]
    assert snap.validations and snap.validations[-1].val_miou is not None
    assert snap.text().startswith("step 6 of 6 · round 2 · training error ")


def test_cancel_before_the_first_step_reads_cancelled_not_failed(tiny_data, tmp_path):
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=2, img_size=(64, 64))

    def target(progress, stop):
        stop.set()  # as if the user pressed Cancel while data and model load
        return train(cfg, progress, stop)

    job = REGISTRY.start("train", "early", target)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "cancelled" and snap.error is None and "nothing was saved" in snap.message


def test_tasks_of_different_kinds_run_at_once_and_the_same_one_is_refused():
    gate = threading.Event()
    a = REGISTRY.start("import", "import of 3 files", _counting(3, gate), key="/ws-a")
    b = REGISTRY.start("run_zip", "zip of r1", _counting(2, gate), key="/ws-a/runs/r1")
    try:
        with pytest.raises(JobRefused, match="'import of 3 files' is still running"):
            REGISTRY.start("import", "again", _counting(1, gate), key="/ws-a")
        c = REGISTRY.start("import", "another workspace", _counting(1, gate), key="/ws-b")  # another key: allowed
        assert {a.id, b.id, c.id} <= {t.id for t in REGISTRY.active()}  # three at once
        assert [t.id for t in REGISTRY.active("import", "/ws-a")] == [a.id]
        for _ in range(100):
            if a.snapshot().count is not None:
                break
            threading.Event().wait(0.02)
        snap = a.snapshot()
        assert snap.active and snap.text() == "import of 3 files: 1/3 files · item 0" and snap.fraction == 1 / 3
    finally:
        gate.set()
    assert a.wait(10) and b.wait(10) and c.wait(10)
    snap = a.snapshot()
    assert (snap.state, snap.result, snap.fraction, snap.count.text()) == ("done", "all 3", 1.0, "3/3 files · item 2")
    assert REGISTRY.get(a.id) is a and not REGISTRY.active(key="/ws-a")


def test_a_cancelled_task_keeps_what_was_done_and_says_so():
    gate = threading.Event()
    task = REGISTRY.start("predict", "predict 5", _counting(5, gate, "images predicted"), key="/ws-cancel")
    task.cancel()
    assert "cancelling after the current step" in task.snapshot().text()
    gate.set()
    assert task.wait(10)
    snap = task.snapshot()
    assert snap.state == "cancelled" and snap.message == "cancelled after 1 of 5 images predicted"
    assert snap.result == [0] and snap.error is None and not snap.active


def test_a_failing_task_keeps_its_error():
    def fails(progress, cancel):
        raise OSError("exports/r1.zip: No space left on device")

    task = REGISTRY.start("run_zip", "zip of r1", fails, key="/ws-fail")
    assert task.wait(10)
    snap = task.snapshot()
    assert snap.state == "failed" and snap.error == "OSError: exports/r1.zip: No space left on device"
    assert "Traceback" in snap.message


def test_a_task_runs_beside_a_training_and_a_training_beside_a_task():
    gate = threading.Event()
    training = REGISTRY.start("train", "a training", lambda progress, cancel: gate.wait(10))
    task = REGISTRY.start("import", "an import", _counting(2, gate), key="/ws-beside")
    try:
        assert REGISTRY.training() is training and [t.id for t in REGISTRY.active("import", "/ws-beside")] == [task.id]
        with pytest.raises(JobRefused, match="'a training' is still running"):  # but one training at a time
            REGISTRY.start("train", "another", lambda p, c: None, key="elsewhere")
    finally:
        gate.set()
    assert training.wait(10) and task.wait(10)
    assert training.snapshot().state == "done" and task.snapshot().state == "done"


def test_each_workspace_finds_its_own_training(tmp_path):
    """Two projects' Train pages in one server: each finds the training writing into its own runs folder (the
    newest, a running one first, or the one the page started), never the other's."""
    from seg_core.runner.jobs import JobRegistry

    reg = JobRegistry()
    runs_a, runs_b = tmp_path / "A" / "runs", tmp_path / "B" / "runs"
    done_a = reg.start("train", "a1", lambda progress, cancel: None, output=str(runs_a / "a1"))
    assert done_a.wait(10)
    release = threading.Event()
    running_b = reg.start("train", "b1", lambda progress, cancel: release.wait(60), output=str(runs_b / "b1"))
    try:
        assert reg.training_of(runs_a) is done_a and reg.training_of(runs_b) is running_b
        assert reg.training_of(tmp_path / "C" / "runs") is None
        assert reg.training_of(runs_b, done_a.id) is done_a  # the page's own, as it started it
    finally:
        release.set()
        running_b.wait(10)
