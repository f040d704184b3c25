"""Training in two processes under torchrun (gloo on CPU) against one process with the same global batch."""
import os
import subprocess
import sys

import pytest
import torch

from seg_core import Run, TrainConfig, evaluate_run, list_runs, train
from seg_core.training.distributed import Comm, MainFailed, Place


def test_one_process_place_and_collectives_return_their_input():
    assert Place.from_env({}) == Place(0, 1, 0, 1) and Place.from_env({}).main
    p = Place.from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert (p.rank, p.world, p.local_rank, p.local_world, p.main) == (1, 4, 1, 2, False)
    with pytest.raises(ValueError, match="WORLD_SIZE must be a whole number, got 'two'"):
        Place.from_env({"WORLD_SIZE": "two"})
    comm = Comm.open(torch.device("cpu"), Place())
    assert not comm.enabled and comm.sum([1, True, 2.5]) == [1.0, 1.0, 2.5] and comm.any([0, 1]) == [False, True]
    assert comm.from_main(lambda: 42) == 42
    with pytest.raises(KeyError):
        comm.from_main(lambda: {}["x"])  # one process: the error itself
    assert issubclass(MainFailed, RuntimeError)


def test_two_processes_train_one_run_scoring_like_one_process(tiny_data, tmp_path):
    """torchrun --nproc_per_node 2 (gloo): batches of 2 per process = a global batch of 4; the same 8 steps
    as one process with batches of 4. One run is written (by rank 0), it loads and predicts, and its mIoU is
    within 0.05 of the one-process run's."""
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "seg_core",
           "train", "--data", str(tiny_data), "--out", str(runs / "two"), "--epochs", "4", "--img-size", "64x64",
           "--batch-size", "2", "--precision", "fp32", "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout + done.stderr
    assert out.count("run saved to") == 1 and out.count("training 5 images") == 1  # rank 0 alone reports
    assert "rank 0/2: done after step 8" in out and "rank 1/2: done after step 8" in out
    assert [r.name for r in list_runs(runs)] == ["two"] and not (runs / ".train.lock").exists()
    two = Run(runs / "two")
    assert two.state == "done" and two.status["steps"] == 8 and two.config["processes"] == 2
    assert two.config["global_batch_size"] == 4
    one = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "one_runs" / "one"), epochs=4, img_size=(64, 64),
                            batch_size=4, precision="fp32", device="cpu"))
    assert one.status["steps"] == 8
    m_two, m_one = evaluate_run(two, tiny_data).miou, evaluate_run(one, tiny_data).miou
    assert abs(m_two - m_one) <= 0.05, (m_two, m_one)
    assert two.load_model()(torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_sync_batchnorm_checkpoint_loads_into_the_plain_network():
    """On GPUs the network trains with SyncBatchNorm (timm's converter keeps its fused norm + activation
    layers); the checkpoint it saves has the plain network's keys and shapes, so the run loads anywhere."""
    from timm.layers import convert_sync_batchnorm

    from seg_core.model.network import ModelSpec, build_model

    plain = build_model(ModelSpec("unet", "efficientnet_lite0", 3))
    synced = convert_sync_batchnorm(build_model(ModelSpec("unet", "efficientnet_lite0", 3)))
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.modules())
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in plain.modules())
    a, b = plain.state_dict(), synced.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    plain.load_state_dict(b)
    assert synced.freeze(3) == plain.freeze(3)  # freezing finds the same stages and norm layers


def test_ctrl_c_stops_both_processes_at_the_same_step_keeping_the_checkpoint(tiny_data, tmp_path):
    """Ctrl-C in a terminal reaches torchrun and both processes (their process group): they agree on the stop
    at the next step, and rank 0 records the run as cancelled with its best checkpoint."""
    import re
    import signal
    import time

    out = tmp_path / "runs" / "r"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "seg_core",
           "train", "--data", str(tiny_data), "--out", str(out), "--epochs", "500", "--img-size", "64x64",
           "--batch-size", "2", "--device", "cpu", "--precision", "fp32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        t = time.time()
        while not ((out / "events.jsonl").exists() and '"kind": "step"' in (out / "events.jsonl").read_text()):
            assert proc.poll() is None and time.time() - t < 300, proc.stdout.read()[-3000:]
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        log, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    stops = re.findall(r"rank (\d)/2: cancelled after step (\d+)", log)
    assert sorted(r for r, _ in stops) == ["0", "1"] and len({s for _, s in stops}) == 1, log[-3000:]
    run = Run(out)
    assert run.state == "cancelled" and run.has_checkpoint and run.status["steps"] == int(stops[0][1])
