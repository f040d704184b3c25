"""Background jobs: one at a time, errors kept for display, cancel."""
import threading

import pytest

from seg_core import REGISTRY, JobRefused, TrainConfig, train


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
    assert snap.start.total_steps == 4 and [p["step"] for p in snap.curve] == [1, 2, 3, 4]
    assert snap.validations and snap.validations[-1].val_miou is not None
    assert snap.summary().startswith("step 4/4 · epoch 2 · loss ")


def test_cancel_before_the_first_step_reads_cancelled_not_failed(tiny_data, tmp_path):
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=2, img_size=(64, 64))

    def target(progress, stop):
        stop.set()  # as if the user pressed Cancel while data and model load
        return train(cfg, progress, stop)

    job = REGISTRY.start("train", "early", target)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "cancelled" and snap.error is None and "nothing was saved" in snap.message
