"""Masks and images in the workspace are never lost: locked read-modify-write, canvas saves onto the file
as it is now, replacements kept as restorable backups, hidden temporary files, removing twice."""
import io
import threading

import numpy as np
import pytest
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.annotation import NOT_PAINTED, CanvasEdits
from seg_core.mask_edits import mask_lock, mask_version, save_canvas
from seg_core.mask_values import UNLABELLED


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(ClassList(["bg", "a", "b"]))
    (w.images_dir / "s1.png").write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    return w


def _labels(rows, value, size=(4, 4)):
    out = np.full(size, NOT_PAINTED, np.int16)
    out[rows] = value
    return out


def test_two_tabs_saving_strokes_lose_nothing(ws):
    a = CanvasEdits.start((4, 4), mask_version(ws.mask_path("s1")))
    b = CanvasEdits.start((4, 4), mask_version(ws.mask_path("s1")))
    sa = save_canvas(ws, "s1", a, _labels(0, 1), (4, 4))
    assert sa.wrote and not sa.changed_elsewhere
    sb = save_canvas(ws, "s1", b, _labels(3, 2), (4, 4))
    assert sb.changed_elsewhere  # B opened before A saved: said, and B's stroke goes onto A's version
    m = ws.read_mask("s1")
    assert (m[0] == 1).all() and (m[3] == 2).all()
    sa = save_canvas(ws, "s1", sa.result.edits, _labels(0, 1) + 0, (4, 4))  # A's canvas unchanged: no write
    assert not sa.wrote and sa.changed_elsewhere
    sa = save_canvas(ws, "s1", sa.result.edits, None, (4, 4))  # A resets its canvas
    m = ws.read_mask("s1")
    assert (m[0] == UNLABELLED).all() and (m[3] == 2).all()  # only A's stroke went


def test_concurrent_saves_from_many_threads_keep_every_stroke(ws):
    size = (8, 8)
    (ws.images_dir / "big.png").write_bytes(_png(np.zeros((8, 8, 3), np.uint8)))
    errors = []

    def paint(row):
        try:
            edits = CanvasEdits.start(size, None)
            labels = np.full(size, NOT_PAINTED, np.int16)
            labels[row] = 1 + row % 2
            save_canvas(ws, "big", edits, labels, size)
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=paint, args=(r,)) for r in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    m = ws.read_mask("big")
    assert [int(m[r, 0]) for r in range(8)] == [1 + r % 2 for r in range(8)]


def test_a_stroke_on_a_mask_holding_a_removed_class_saves_and_keeps_those_pixels(ws):
    m = np.full((4, 4), UNLABELLED, np.uint8)
    m[0] = 2
    ws.save_mask("s1", m)
    ws.save_classes(ClassList(["bg", "a"]))  # class 2 removed while s1.png uses it
    s = save_canvas(ws, "s1", CanvasEdits.start((4, 4), mask_version(ws.mask_path("s1"))), _labels(1, 1), (4, 4))
    assert s.wrote
    m = ws.read_mask("s1")
    assert (m[0] == 2).all() and (m[1] == 1).all()  # the stale values are kept (reported on the Data page)


def test_replacing_a_mask_keeps_a_backup_that_restores(ws):
    hand = np.full((4, 4), UNLABELLED, np.uint8)
    hand[0, 0] = 1
    ws.save_mask("s1", hand)
    backup = ws.replace_mask("s1", np.zeros((4, 4), np.uint8), "prediction of run r1")
    assert backup.parent == ws.root / "backups" / "s1" and "prediction-of-run-r1" in backup.name
    assert (ws.read_mask("s1") == 0).all()
    ws.replace_mask("s1", None, "clear")  # Clear keeps a backup too
    assert ws.read_mask("s1") is None and len(ws.mask_backups("s1")) == 2
    ws.restore_mask("s1")  # undoes the clear
    assert (ws.read_mask("s1") == 0).all()
    ws.restore_mask("s1")  # undoes the prediction
    assert np.array_equal(ws.read_mask("s1"), hand)
    assert ws.mask_backups("s1") == []
    with pytest.raises(FileNotFoundError, match="no earlier version"):
        ws.restore_mask("s1")
    assert len(list((ws.root / "trash" / "masks").iterdir())) == 1  # the mask the 2nd restore replaced: kept


def test_a_proposal_on_an_image_without_mask_restores_to_no_mask(ws):
    ws.replace_mask("s1", np.ones((4, 4), np.uint8), "prediction")
    ws.restore_mask("s1")
    assert ws.read_mask("s1") is None


def test_hidden_temporary_files_are_not_images(ws):
    (ws.images_dir / ".s1.k2j3h4.png").write_bytes(b"half a png")  # left by a killed atomic write
    (ws.masks_dir / ".s1.k2j3h4.png").write_bytes(b"half a png")
    assert ws.stems() == ["s1"]
    assert ws.masks_stamp() == ()


def test_removing_the_same_image_twice_is_harmless(ws):
    ws.save_mask("s1", np.zeros((4, 4), np.uint8))
    first = ws.remove("s1")
    assert (first / "images" / "s1.png").is_file() and (first / "masks" / "s1.png").is_file()
    assert ws.remove("s1") is None  # a second click within the same second: nothing left, no crash
    (ws.images_dir / "s1.png").write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    again = ws.remove("s1")  # the same name removed again within a second: a trash folder of its own
    assert again != first and (again / "images" / "s1.png").is_file() and (first / "images" / "s1.png").is_file()


def test_the_mask_lock_is_reentrant_and_excludes_other_threads(ws):
    order = []
    with mask_lock(ws.root):
        with mask_lock(ws.root):
            t = threading.Thread(target=lambda: (mask_lock(ws.root).__enter__(), order.append("other")))
            t.start()
            t.join(0.3)
            order.append("me")
    t.join(5)
    assert order == ["me", "other"]


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
