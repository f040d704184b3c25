"""Classes that change safely (``seg_core.workspace.class_edits``): every mask and proposal rewritten pixel by
pixel, by class name, no other class's pixels changed, a restore point per change, damaged masks named."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.base.classes import ClassesError
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace import class_edits as ce

U = UNLABELLED


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


@pytest.fixture
def ws(tmp_path):
    """Classes bg, cell, nucleus, fibre; two masks using all of them (and unlabelled), one proposal."""
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(ClassList(["bg", "cell", "nucleus", "fibre"]))
    for stem in ("a", "b"):
        (w.images_dir / f"{stem}.png").write_bytes(_png(np.zeros((2, 5, 3), np.uint8)))
    w.save_mask("a", np.array([[0, 1, 2, 3, U], [3, 2, 1, 0, 1]], np.uint8))
    w.save_mask("b", np.array([[0, 0, 3, 3, U], [U, U, 2, 2, 0]], np.uint8))  # no cell pixels
    w.proposals.dir.mkdir(exist_ok=True)
    from seg_core.data.imageio import write_index_mask
    write_index_mask(w.proposals.path("a"), np.array([[1, 1, 2, 3, 0], [0, 0, 0, 0, 0]], np.uint8), w.classes())
    return w


def _names(ws, stem, proposal=False):
    """Each pixel's class name ("-": unlabelled), as a user reads the mask."""
    m = ws.proposals.read(stem) if proposal else ws.read_mask(stem)
    names = ws.classes().names
    return [["-" if v == U else names[v] for v in row] for row in m]


def test_remove_to_unlabelled_shifts_the_later_classes_and_changes_no_other_pixel(ws):
    before = _names(ws, "a"), _names(ws, "b"), _names(ws, "a", proposal=True)
    change = ce.remove_class(ws, "cell", "unlabelled")
    assert ws.classes().names == ["bg", "nucleus", "fibre"]
    assert ws.read_mask("a").tolist() == [[0, U, 1, 2, U], [2, 1, U, 0, U]]  # nucleus 2->1, fibre 3->2
    for old, new in zip(before, (_names(ws, "a"), _names(ws, "b"), _names(ws, "a", proposal=True))):
        assert new == [["-" if n == "cell" else n for n in row] for row in old]
    assert change.masks == ["a", "b"] and change.proposals == ["a"]
    assert change.pixels_moved == 3  # the cell pixels of a's mask
    assert change.to_json()["masks_changed"] == 2 and change.restore_point.is_dir()


def test_merge_moves_the_class_pixels_into_the_other_only(ws):
    before = _names(ws, "a")
    change = ce.merge_class(ws, "nucleus", "cell")
    assert ws.classes().names == ["bg", "cell", "fibre"]
    assert _names(ws, "a") == [["cell" if n == "nucleus" else n for n in row] for row in before]
    assert ws.read_mask("b").tolist() == [[0, 0, 2, 2, U], [U, U, 1, 1, 0]]
    assert change.pixels_moved == 4 and change.what == "merge nucleus into cell"  # 2 in a, 2 in b


def test_remove_into_another_class_and_restore_brings_everything_back(ws):
    masks = {s: ws.read_mask(s).copy() for s in ("a", "b")}
    proposal = ws.proposals.read("a").copy()
    classes_json = ws.classes_file.read_text()
    ce.remove_class(ws, "bg", "fibre")
    assert _names(ws, "b")[0] == ["fibre", "fibre", "fibre", "fibre", "-"]
    point = ce.restore_class_change(ws)
    assert ws.classes_file.read_text() == classes_json
    assert all((ws.read_mask(s) == masks[s]).all() for s in masks)
    assert (ws.proposals.read("a") == proposal).all()
    assert "remove bg" in ce.describe(point)
    with pytest.raises(FileNotFoundError, match="no class change to undo"):
        ce.restore_class_change(ws)  # each restore point is used once


def test_undo_keeps_masks_saved_after_the_change_meaning_the_same_classes(ws):
    """After removing cell, nucleus is value 1; a mask painted then (new image c, and a stroke on b) still
    means nucleus and fibre after the undo, when nucleus is 2 again."""
    (ws.images_dir / "c.png").write_bytes(_png(np.zeros((2, 5, 3), np.uint8)))
    a = ws.read_mask("a").copy()
    ce.remove_class(ws, "cell", "unlabelled")
    ws.save_mask("c", np.array([[0, 1, 2, U, U], [1, 1, 1, 1, 1]], np.uint8))  # bg, nucleus, fibre
    b = ws.read_mask("b")
    b[1, :2] = 1  # a nucleus stroke on b
    ws.save_mask("b", b)
    ce.restore_class_change(ws)
    assert ws.classes().names == ["bg", "cell", "nucleus", "fibre"]
    assert _names(ws, "c") == [["bg", "nucleus", "fibre", "-", "-"], ["nucleus"] * 5]
    assert _names(ws, "b") == [["bg", "bg", "fibre", "fibre", "-"], ["nucleus", "nucleus", "nucleus", "nucleus", "bg"]]
    assert (ws.read_mask("a") == a).all()  # untouched since: back as it was, its cell pixels too


def test_rename_recolour_add_and_reorder(ws):
    a = ws.read_mask("a").copy()
    ce.rename_class(ws, "cell", "cytoplasm")
    ce.recolour_class(ws, "fibre", "1,2,3")
    ce.add_class(ws, "vessel", "#0a0b0c")
    assert ws.classes().names == ["bg", "cytoplasm", "nucleus", "fibre", "vessel"]
    assert ws.classes().colours[3:] == [(1, 2, 3), (10, 11, 12)]
    assert (ws.read_mask("a") == a).all()  # none of these moves a pixel
    before = _names(ws, "a")
    change = ce.move_class(ws, "fibre", 0)
    assert ws.classes().names == ["fibre", "bg", "cytoplasm", "nucleus", "vessel"]
    assert _names(ws, "a") == before and change.masks == ["a", "b"]  # values follow their class
    assert len(ce.restore_points(ws)) == 4  # one per operation


@pytest.mark.parametrize("call, message", [
    (lambda ws: ce.remove_class(ws, "cells", "unlabelled"), "no class named 'cells'"),
    (lambda ws: ce.remove_class(ws, "cell", "nuclei"), "no class named 'nuclei'"),
    (lambda ws: ce.rename_class(ws, "cell", "nucleus"), "class named 'nucleus' already"),
    (lambda ws: ce.add_class(ws, "fibre"), "class named 'fibre' already"),
    (lambda ws: ce.merge_class(ws, "cell", "cell"), "cannot merge 'cell' into 'cell': its pixels must go to"),
    (lambda ws: ce.add_class(ws, "x", "300,0,0"), "colour '300,0,0'"),
    (lambda ws: ce.add_class(ws, "x", "red"), "colour 'red'"),
])
def test_bad_changes_are_refused_by_name_and_change_nothing(ws, call, message):
    a = ws.read_mask("a").copy()
    with pytest.raises(ClassesError, match=message):
        call(ws)
    assert ws.classes().names == ["bg", "cell", "nucleus", "fibre"] and (ws.read_mask("a") == a).all()
    assert ce.restore_points(ws) == []


def test_the_last_two_classes_cannot_be_removed(ws):
    ce.remove_class(ws, "cell", "unlabelled")
    ce.merge_class(ws, "fibre", "nucleus")
    with pytest.raises(ClassesError, match="cannot remove 'bg': a workspace needs at least two classes"):
        ce.remove_class(ws, "bg", "unlabelled")


def test_a_damaged_mask_is_named_and_left_as_it_is(ws):
    (ws.images_dir / "c.png").write_bytes(_png(np.zeros((2, 5, 3), np.uint8)))
    ws.mask_path("c").write_bytes(b"not a png")
    change = ce.remove_class(ws, "cell", "unlabelled")
    assert any(u.startswith("data/masks/c.png: cannot be read") for u in change.unreadable)
    assert ws.mask_path("c").read_bytes() == b"not a png"
    assert change.masks == ["a", "b"]  # the others were rewritten
    manifest = json.loads((change.restore_point / "change.json").read_text())
    assert manifest["unreadable"] == change.unreadable


def _finished_run(ws, name, classes):
    """A run folder as training leaves it (done, with a checkpoint), trained on ``classes``."""
    d = ws.runs_dir / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"backbone": "resnet18", "arch": "unet"}))
    (d / "status.json").write_text(json.dumps({"state": "done"}))
    (d / "model.safetensors").write_bytes(b"x")
    ClassList(classes).save(d / "classes.json")
    return d


def test_a_run_on_other_classes_is_not_offered_and_says_why(ws):
    _finished_run(ws, "old", ["bg", "cell", "nucleus", "fibre"])
    assert [r.name for r in ws.runs_to_propose()] == ["old"]
    assert ws.other_classes(ws.runs()[0]) is None
    ce.merge_class(ws, "fibre", "bg")
    assert ws.runs_to_propose() == [] and ws.runs_to_continue() == []
    note = ws.other_classes(ws.runs()[0])
    assert note.startswith("Trained on other classes (bg, cell, nucleus, fibre) than this project has now "
                           "(bg, cell, nucleus)") and "not offered for proposing masks" in note
    ce.restore_class_change(ws)
    assert [r.name for r in ws.runs_to_propose()] == ["old"]  # the undo makes it usable again


def test_masks_are_rewritten_under_the_mask_lock(ws, monkeypatch):
    """Another writer (a tab saving a stroke) cannot get the lock while masks are rewritten, so its save
    comes before or after the change, never between a read and a write."""
    import threading

    from filelock import Timeout

    from seg_core.workspace.lock import mask_lock

    seen, write = [], ce.write_index_mask

    def probe():
        try:
            mask_lock(ws.root).acquire(timeout=0)
            mask_lock(ws.root).release()
            seen.append("free")
        except Timeout:
            seen.append("held")

    def writing(*a, **k):
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        write(*a, **k)

    monkeypatch.setattr(ce, "write_index_mask", writing)
    ce.remove_class(ws, "cell", "unlabelled")
    assert seen == ["held"] * 3  # masks a and b, proposal a
