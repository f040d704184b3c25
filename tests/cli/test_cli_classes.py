"""``python -m seg_core classes``: list, add, rename, remove, merge (masks rewritten by class name), restore,
and errors naming the class, through real subprocesses."""
import io
import json

import numpy as np
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.base.mask_values import UNLABELLED as U

from helpers import cli


def _ws(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.save_classes(ClassList(["bg", "cell", "nucleus"]))
    b = io.BytesIO()
    Image.fromarray(np.zeros((1, 4, 3), np.uint8)).save(b, format="PNG")
    (ws.images_dir / "a.png").write_bytes(b.getvalue())
    ws.save_mask("a", np.array([[0, 1, 2, U]], np.uint8))
    return ws


def _classes(tmp_path, *args):
    res = cli("classes", "--workspace", str(tmp_path / "ws"), *args)
    return res, (json.loads(res.stdout) if "--json" in args and res.returncode == 0 else None)


def test_cli_classes_list_change_and_restore(tmp_path):
    ws = _ws(tmp_path)
    res, out = _classes(tmp_path, "--json")
    assert res.returncode == 0, res.stderr
    assert [c["name"] for c in out["classes"]] == ["bg", "cell", "nucleus"]
    res, _ = _classes(tmp_path)
    assert "  1  cell" in res.stdout

    res, out = _classes(tmp_path, "add", "fibre", "--color", "1,2,3", "--json")
    assert out["classes"][-1] == {"name": "fibre", "color": [1, 2, 3]} and out["masks_changed"] == 0
    res, out = _classes(tmp_path, "rename", "cell", "cytoplasm", "--json")
    assert [c["name"] for c in out["classes"]] == ["bg", "cytoplasm", "nucleus", "fibre"]

    res, out = _classes(tmp_path, "remove", "cytoplasm", "--pixels-to", "unlabelled", "--json")
    assert res.returncode == 0, res.stderr
    assert ws.read_mask("a").tolist() == [[0, U, 1, U]]  # nucleus moved up from 2 to 1
    assert out["masks_changed"] == 1 and out["pixels_moved"] == 1 and out["masks"] == ["a"]
    assert (tmp_path / "ws" / "trash").is_dir() and out["restore_point"].startswith(str(tmp_path / "ws" / "trash"))

    res, out = _classes(tmp_path, "merge", "nucleus", "--into", "bg", "--json")
    assert ws.read_mask("a").tolist() == [[0, U, 0, U]] and [c["name"] for c in out["classes"]] == ["bg", "fibre"]

    res, _ = _classes(tmp_path, "restore")
    assert res.returncode == 0 and "undid: merge nucleus into bg" in res.stdout
    assert ws.read_mask("a").tolist() == [[0, U, 1, U]] and ws.classes().names == ["bg", "nucleus", "fibre"]


def test_cli_classes_errors_name_the_class(tmp_path):
    ws = _ws(tmp_path)
    for args, message in ((("remove", "cells", "--pixels-to", "unlabelled"), "no class named 'cells'"),
                          (("rename", "cell", "bg"), "a class named 'bg' already"),
                          (("merge", "cell", "--into", "cell"), "cannot merge 'cell' into 'cell': its pixels"),
                          (("add", "x", "--color", "1,2"), "colour '1,2'"),
                          (("remove", "cell", "--pixels-to", "nuclei"), "no class named 'nuclei'")):
        res, _ = _classes(tmp_path, *args)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)
    _classes(tmp_path, "remove", "cell", "--pixels-to", "unlabelled")
    res, _ = _classes(tmp_path, "remove", "bg", "--pixels-to", "unlabelled")
    assert res.returncode == 2 and "cannot remove 'bg': a workspace needs at least two classes" in res.stderr
    assert ws.classes().names == ["bg", "nucleus"]
    res = cli("classes", "--workspace", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "no such workspace folder" in res.stderr
