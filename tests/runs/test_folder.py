"""A run folder: its checkpoint's time stamp (the cached predictor's key)."""
import os

from seg_core.runs.folder import CHECKPOINT, Run


def test_cached_predictor_key_follows_the_checkpoint(tmp_path):
    run = Run(tmp_path / "run")
    run.path.mkdir()
    assert run.checkpoint_mtime == 0.0  # nothing trained yet
    (run.path / CHECKPOINT).write_bytes(b"weights")
    os.utime(run.path / CHECKPOINT, (1000, 1000))
    assert run.checkpoint_mtime == 1000
    os.utime(run.path / CHECKPOINT, (2000, 2000))  # training saved a better checkpoint
    assert run.checkpoint_mtime == 2000
