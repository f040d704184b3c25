"""A training started by the app runs in its own process (``python -m seg_core train --config``), as the
command line's: it outlives the app's session and server, the page follows it from the run folder, and Cancel
stops the process."""
import os
import signal
import subprocess
import sys
import time

import psutil

from seg_core import Run, TrainConfig
from seg_core.runner import launch
from seg_core.runner.jobs import JobRegistry


def _wait(what, timeout=600):
    t = time.time()
    while not what() and time.time() - t < timeout:
        time.sleep(0.2)
    return what()


APP = """
import sys, time
from seg_core import TrainConfig
from seg_core.runner import launch
from seg_core.runner.jobs import JobRegistry

cfg = TrainConfig(data=sys.argv[1], out=sys.argv[2], epochs=500, img_size=(64, 64), batch_size=2, device="cpu",
                  precision="fp32", val_interval_s=0)
job = launch.start_training(JobRegistry(), cfg, "r")
while job.snapshot().last_step is None and job.active:
    time.sleep(0.2)
print("stepping" if job.active else job.snapshot().error, flush=True)
time.sleep(600)
"""


def test_a_training_from_the_app_is_its_own_process_that_outlives_the_app_and_stops_on_cancel(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    out = runs / "r"
    app = subprocess.Popen([sys.executable, "-c", APP, str(tiny_data), str(out)], stdout=subprocess.PIPE, text=True)
    launched = None
    try:
        assert app.stdout.readline().strip() == "stepping"
        launched = launch.current(runs)
        assert launched is not None and launched.processes == 1
        proc = psutil.Process(launched.pid)
        assert proc.ppid() == app.pid and proc.cmdline()[1:] == ["-m", "seg_core", "train", "--config",
                                                                 str(out / launch.SETTINGS)]
        app.kill()  # the app's server goes away at once (its session, its follower thread, everything)
        app.wait(30)
        events = out / "events.jsonl"
        size = events.stat().st_size
        assert _wait(lambda: events.stat().st_size > size, 120)  # the training goes on, alone
        assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        again = launch.reattach(JobRegistry(), runs)  # the server restarted: the page finds it running again
        assert again is not None and again.label == "r" and again.active
        snap = _wait(lambda: (s := again.snapshot()).last_step is not None and s)
        assert snap.curve[0]["step"] == 1 and snap.text().startswith("step ")  # its events from the start
        t0 = time.time()
        again.cancel()
        assert again.wait(120) and _wait(lambda: not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE, 60)
        assert time.time() - t0 < launch.CANCEL_GRACE_S  # stopped by the cancel file, not by a signal
    finally:  # never leave a process running after a failed assertion
        app.kill()
        if launched is not None and psutil.pid_exists(launched.pid):
            os.kill(launched.pid, signal.SIGTERM)
    snap = again.snapshot()
    assert snap.state == "cancelled" and snap.error is None and snap.end.checkpoint
    run = Run(out)
    assert run.state == "cancelled" and run.has_checkpoint and not run.cancel_requested
    assert launch.current(runs) is None


def test_a_failing_training_process_shows_the_error_from_its_log(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = TrainConfig(data=str(tmp_path / "empty"), out=str(tmp_path / "runs" / "r"), epochs=1, device="cpu")
    job = launch.start_training(JobRegistry(), cfg, "r")
    assert job.wait(300)
    snap = job.snapshot()
    assert snap.state == "failed" and "the training process ended without finishing (exit code" in snap.error
    assert "no images/ folder" in snap.error


def test_a_training_whose_run_folder_is_removed_stops(tiny_data, tmp_path):
    """The project (or the run) deleted while its training goes on in its own process: the training stops
    instead of training on, unseen, with nothing left to write to."""
    import shutil

    out = tmp_path / "runs" / "r"
    cfg = TrainConfig(data=str(tiny_data), out=str(out), epochs=500, img_size=(64, 64), batch_size=2, device="cpu",
                      precision="fp32", val_interval_s=0)
    launched = launch.start(cfg, 1, "r")
    proc = psutil.Process(launched.pid)
    try:
        assert _wait(lambda: (out / "events.jsonl").exists() and "step" in (out / "events.jsonl").read_text(), 300)
        def removed_and_stopped():  # the training may write a file while the folder goes: remove it again
            shutil.rmtree(out, ignore_errors=True)
            return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE

        assert _wait(removed_and_stopped, 120)
    finally:
        if proc.is_running():
            proc.kill()
