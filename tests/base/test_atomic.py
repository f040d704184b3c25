"""Atomic writes are durable: the file is synced before the rename and its folder after it."""
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from seg_core import ClassList, Run, Workspace
from seg_core.base.atomic import atomic_write, atomic_write_bytes


@pytest.fixture
def synced(monkeypatch):
    """Record what each os.fsync call synced: ('file', name) or ('dir', path), in order, with the renames."""
    log = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        where = os.readlink(f"/proc/self/fd/{fd}")
        log.append(("dir" if stat.S_ISDIR(st.st_mode) else "file", where))
        return real_fsync(fd)

    def replace(src, dst):
        log.append(("rename", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def test_file_then_rename_then_folder(tmp_path, synced):
    target = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    kinds = [k for k, _ in synced]
    assert kinds == ["file", "rename", "dir"]
    assert Path(synced[0][1]).name.startswith(".a.")  # the temporary file, before it is renamed
    assert synced[1][1] == str(target) and synced[2][1] == str(target.parent)
    assert [p.name for p in target.parent.iterdir()] == ["a.bin"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, synced):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def broken(p):
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_masks_classes_and_run_files_are_synced(tmp_path, synced):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.save_classes(ClassList(["bg", "fg"]))
    (ws.images_dir / "a.png").write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    ws.save_mask("a", np.zeros((4, 4), np.uint8))
    run = Run(tmp_path / "run")
    run.write_config({"x": 1})
    run.write_status(state="done")
    synced_files = {Path(p).name for k, p in synced if k == "rename"}
    assert {"classes.json", "a.png", "config.json", "status.json"} <= synced_files
    for i, (kind, path) in enumerate(synced):
        if kind == "rename":
            assert synced[i - 1][0] == "file" and synced[i + 1] == ("dir", str(Path(path).parent))


def _png(arr):
    import io

    from PIL import Image

    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
