"""The app's torchrun path through the engine: launch 2 CPU processes (gloo), follow, re-attach, cancel."""
import re
import time
from pathlib import Path

import pytest

from seg_core import Run, TrainConfig

from seg_core.runner import launch
from seg_core.runner.jobs import JobRefused, JobRegistry


def _wait_for_a_step(job, timeout=900):
    t = time.time()
    while job.snapshot().last_step is None and job.active and time.time() - t < timeout:
        time.sleep(0.2)
    snap = job.snapshot()
    assert snap.last_step is not None, (snap.state, snap.error)
    return snap


def test_torchrun_job_is_followed_picked_up_again_and_cancelled_in_both_processes(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    cfg = TrainConfig(data=str(tiny_data), out=str(runs / "r"), epochs=500, img_size=(64, 64), batch_size=2,
                      device="cpu", precision="fp32", val_interval_s=0)
    first = JobRegistry()
    job = launch.start_training(first, cfg, "r (2 CPU processes)", 2)
    try:
        snap = _wait_for_a_step(job)
        assert snap.state == "running" and snap.start.processes == 2 and snap.start.device == "cpu"
        assert snap.text().endswith("· 2 processes")
        with pytest.raises(JobRefused, match="still running"):
            launch.start_training(first, cfg, "again", 2)
        with pytest.raises(JobRefused, match="'r' is training"):  # another server: rank 0 holds the lock
            launch.start_training(JobRegistry(), TrainConfig(data=str(tiny_data), out=str(runs / "s")), "s", 2)
        # the server restarts: a fresh registry finds the training still running and follows it again
        second = JobRegistry()
        again = launch.reattach(second, runs)
        assert again is not None and again.label == "r (2 CPU processes)" and again.active
        assert launch.reattach(second, runs) is None  # already followed
        snap = _wait_for_a_step(again)
        assert snap.curve[0]["step"] == 1  # the events from the start, read back from the run folder
        again.cancel()
        assert again.wait(600) and job.wait(600)
    finally:  # never leave the processes running after a failed assertion
        if job.active:
            Run(cfg.out).request_cancel()
            job.wait(600)
    snap = again.snapshot()
    assert snap.state == "cancelled" and snap.error is None and snap.end.checkpoint
    assert job.snapshot().state == "cancelled"  # the first follower saw the same end
    run = Run(cfg.out)
    assert run.state == "cancelled" and run.has_checkpoint and not run.cancel_requested
    log = (run.path / launch.LOG).read_text()
    stops = re.findall(r"rank (\d)/2: cancelled after step (\d+)", log)
    assert sorted(r for r, _ in stops) == ["0", "1"] and len({s for _, s in stops}) == 1, log[-2000:]
    assert launch.current(runs) is None and launch.reattach(JobRegistry(), runs) is None


def test_a_failing_torchrun_job_shows_the_error_from_its_log(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = TrainConfig(data=str(tmp_path / "empty"), out=str(tmp_path / "runs" / "r"), epochs=1, device="cpu")
    job = launch.start_training(JobRegistry(), cfg, "r", 2)
    assert job.wait(900)
    snap = job.snapshot()
    assert snap.state == "failed" and "ended without finishing (torchrun exit code" in snap.error
    assert "no images/ folder" in snap.error and snap.error.count("no images/ folder") == 1  # rank 0 says it once
    assert not Run(cfg.out).is_run


def test_the_processes_offered_and_the_command(monkeypatch):
    import torch

    monkeypatch.delenv(launch.CPU_PROCESSES_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert launch.available_processes() == (1, "CPU processes")
    monkeypatch.setenv(launch.CPU_PROCESSES_ENV, "2")
    assert launch.available_processes() == (2, "CPU processes")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert launch.available_processes() == (4, "GPUs")
    cmd = launch.train_command(Path("/x/s.json"), 4)
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert cmd[5:] == ["-m", "seg_core", "train", "--config", "/x/s.json"]
    assert launch.train_command(Path("/x/s.json"))[1:] == ["-m", "seg_core", "train", "--config", "/x/s.json"]
