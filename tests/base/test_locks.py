"""Jobs across processes and restarts: the runs folder's training lock, and a killed training that reads
"interrupted" (Run.state, `python -m seg_core runs`)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seg_core import REGISTRY, JobRefused, Run, TrainConfig, train
from seg_core.base import locks as train_lock
from seg_core.base.locks import TrainingBusy
from seg_core.runner.launch import start_training

from conftest import ROOT


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)


def test_a_lock_held_by_another_process_refuses_until_that_process_dies(tmp_path):
    runs = tmp_path / "runs"
    other = _python(f"""
        import time
        from seg_core.base import locks as train_lock
        train_lock.acquire({str(runs)!r}, {str(runs / 'theirs')!r})
        print("held", flush=True)
        time.sleep(120)
    """)
    try:
        assert other.stdout.readline().strip() == "held"
        owner = train_lock.holder(runs)
        assert owner["pid"] == other.pid and Path(owner["run"]).name == "theirs"
        with pytest.raises(TrainingBusy, match=f"'theirs' is training \\(process {other.pid} on "):
            train_lock.acquire(runs, runs / "mine")
        # the app's job registry refuses too, before starting a thread
        with pytest.raises(JobRefused, match=f"process {other.pid}"):
            start_training(REGISTRY, TrainConfig(data=str(tmp_path / "nowhere"), out=str(runs / "mine")), "mine")
        assert REGISTRY.training() is None
        # and so does the engine itself (the command line), before reading any data
        with pytest.raises(TrainingBusy, match="'theirs' is training"):
            train(TrainConfig(data=str(tmp_path / "nowhere"), out=str(runs / "mine")))
    finally:
        _kill(other)
    assert train_lock.holder(runs) is None  # the OS dropped the dead process's lock; its file is stale
    with train_lock.training_lock(runs, runs / "mine"):
        owner = train_lock.holder(runs)
        assert owner["pid"] == os.getpid() and Path(owner["run"]).name == "mine"
    assert not (runs / train_lock.LOCK_NAME).exists() and train_lock.holder(runs) is None


def test_a_stale_lock_file_naming_a_dead_process_is_taken_over(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    dead = _python("print('bye')")
    dead.wait(30)
    (runs / train_lock.LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename,
                                                          "run": str(runs / "old"), "started": time.time()}))
    assert train_lock.holder(runs) is None
    train_lock.acquire(runs, runs / "new")
    try:
        assert json.loads((runs / train_lock.LOCK_NAME).read_text())["pid"] == os.getpid()
    finally:
        train_lock.release(runs, runs / "new")
    (runs / train_lock.LOCK_NAME).write_text("{garbage")  # a half-written file from a crash: also stale
    with train_lock.training_lock(runs, runs / "new"):
        pass


def test_the_lock_is_taken_once_a_second_hold_in_the_same_process_is_refused(tmp_path):
    runs = tmp_path / "runs"
    with train_lock.training_lock(runs, runs / "a"):
        with pytest.raises(TrainingBusy, match="'a' is training"):  # the same run: taken once per training
            train_lock.acquire(runs, runs / "a")
        assert train_lock.holder(runs) is not None  # still held by the first hold
        with pytest.raises(TrainingBusy, match="'a' is training"):
            train_lock.acquire(runs, runs / "b")
    assert train_lock.holder(runs) is None


def test_process_alive_knows_dead_zombie_and_reused_pids():
    assert train_lock.process_alive(os.getpid(), train_lock.process_start(os.getpid()))
    assert not train_lock.process_alive(os.getpid(), (train_lock.process_start(os.getpid()) or 0) + 1)  # reused
    zombie = _python("print('x')")
    zombie.stdout.read()
    time.sleep(0.5)  # exited but not yet reaped
    assert not train_lock.process_alive(zombie.pid)
    zombie.wait()
    assert not train_lock.process_alive(zombie.pid) and not train_lock.process_alive(None)


def test_a_killed_training_reads_interrupted_with_its_best_checkpoint_usable(tiny_data, tmp_path):
    ws = tmp_path / "ws"
    run = Run(ws / "runs" / "killed")
    proc = subprocess.Popen([sys.executable, "-m", "seg_core", "train", "--data", str(tiny_data), "--out",
                             str(run.path), "--epochs", "1000", "--img-size", "64x64", "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (run.status.get("state") == "running" and run.has_checkpoint):
            time.sleep(0.5)
        assert run.state == "running" and run.status["pid"] == proc.pid, run.status
        assert run.has_checkpoint, "no checkpoint within 180 s"
        listed = json.loads(cli("runs", "--workspace", str(ws), "--json").stdout)
        assert listed["training"]["pid"] == proc.pid
        assert [(r["run"], r["state"]) for r in listed["runs"]] == [("killed", "running")]
        with pytest.raises(TrainingBusy, match="'killed' is training"):  # one training at a time
            train(TrainConfig(data=str(tiny_data), out=str(ws / "runs" / "second"), epochs=1))
    finally:
        _kill(proc)  # as a server stopped mid-training: no chance to write anything
    assert json.loads((run.path / "status.json").read_text())["state"] == "running"  # what the file still says …
    assert run.state == "interrupted" and run.status["state"] == "interrupted"  # … is not believed
    assert run.status["recorded_state"] == "running"
    assert run.best_val_miou is not None and run.load_model() is not None  # its best checkpoint is usable
    res = cli("runs", "--workspace", str(ws), "--json")
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    assert listed["training"] is None
    row = listed["runs"][0]
    assert row["run"] == "killed" and row["state"] == "interrupted" and row["has_checkpoint"] is True
    assert isinstance(row["best_val_miou"], float) and row["problems"] == []
    text = cli("runs", "--workspace", str(ws))
    assert text.returncode == 0 and "killed" in text.stdout and "interrupted" in text.stdout
    with train_lock.training_lock(ws / "runs", ws / "runs" / "next"):  # the lock is free again
        pass


def test_runs_command_names_damaged_files_and_a_missing_workspace(tiny_run, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_run.path, ws / "runs" / "good")
    shutil.copytree(tiny_run.path, ws / "runs" / "bad")
    (ws / "runs" / "bad" / "config.json").write_text("{not json")
    (ws / "runs" / "bad" / "history.csv").write_bytes(b"epoch,val_miou\n1,0.5\n2,0.6,7,8\n")
    res = cli("runs", "--workspace", str(ws), "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["run"]: r for r in json.loads(res.stdout)["runs"]}
    assert rows["good"]["state"] == "done" and rows["good"]["problems"] == []
    assert rows["good"]["best_val_miou"] == pytest.approx(tiny_run.status["best_val_miou"])
    assert any("bad/config.json: not valid JSON" in p for p in rows["bad"]["problems"])
    assert any("bad/history.csv: cannot be read" in p for p in rows["bad"]["problems"])
    res = cli("runs", "--workspace", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such workspace folder" in res.stderr


def test_a_training_job_holds_the_lock_for_its_whole_life(tiny_data, tmp_path):
    import threading

    from seg_core.runs.events import Step

    runs = tmp_path / "runs"
    gate, stepped = threading.Event(), threading.Event()
    cfg = TrainConfig(data=str(tiny_data), out=str(runs / "held"), epochs=2, img_size=(64, 64))

    def gated(progress):  # the training waits at its first step until the probe is done
        def report(event):
            progress(event)
            if isinstance(event, Step) and not gate.is_set():
                stepped.set()
                gate.wait(60)
        return report

    job = REGISTRY.start("train", "held", lambda progress, cancel: train(cfg, gated(progress), cancel), output=cfg.out)
    try:
        assert stepped.wait(120), job.snapshot().error
        owner = train_lock.holder(runs)
        assert owner["pid"] == os.getpid() and Path(owner["run"]).name == "held"
        probe = _python(f"""
            from seg_core.base import locks as train_lock
            try:
                train_lock.acquire({str(runs)!r}, {str(runs / 'other')!r})
                print("taken")
            except train_lock.TrainingBusy as err:
                print("refused:", err)
        """)
        out = probe.communicate(timeout=60)[0]
        assert out.startswith("refused: 'held' is training"), out
    finally:
        gate.set()
        assert job.wait(120) and job.snapshot().state == "done", job.snapshot().error
    assert train_lock.holder(runs) is None and not (runs / train_lock.LOCK_NAME).exists()
