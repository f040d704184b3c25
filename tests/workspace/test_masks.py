"""Masks and images in the workspace are never lost (``seg_core.workspace.masks``): locked read-modify-write,
canvas edits laid onto the file as it is now, replacements kept as restorable backups (with their reviewed
mark), hidden temporary files, removing twice."""
import io
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.workspace.label_patches import make_patch
from seg_core.workspace.lock import mask_lock
from seg_core.workspace.masks import backup_reason, mask_version
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.review_state import is_reviewed, set_reviewed


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(ClassList(["bg", "a", "b"]))
    (w.images_dir / "s1.png").write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    return w


def _row(row, value, sid, seq, size=(4, 4), before=UNLABELLED, kind="brush"):
    """One tab's edit: image row ``row`` set to ``value`` (what that tab showed there: ``before``)."""
    return make_patch(0, row, np.full((1, size[1]), value, np.uint8), before=np.full((1, size[1]), before, np.uint8),
                      kind=kind, sid=sid, seq=seq)


def test_two_tabs_saving_edits_lose_nothing(ws):
    a1 = _row(0, 1, "a", 1)
    ws.masks.save_patches("s1", [a1])  # tab A paints row 0
    ws.masks.save_patches("s1", [_row(3, 2, "b", 1)])  # tab B, whose canvas opened before A's edit, paints row 3
    m = ws.read_mask("s1")
    assert (m[0] == 1).all() and (m[3] == 2).all()  # each save went onto a fresh read: both rows kept
    ws.masks.save_patches("s1", [_row(0, 0, "b", 2, before=UNLABELLED)])  # B (still showing row 0 empty) paints it
    ws.masks.save_patches("s1", [a1.inverse()])  # A's undo of its row 0: B's later paint there is kept
    m = ws.read_mask("s1")
    assert (m[0] == 0).all() and (m[3] == 2).all()


def test_concurrent_saves_from_many_threads_keep_every_edit(ws):
    (ws.images_dir / "big.png").write_bytes(_png(np.zeros((8, 8, 3), np.uint8)))
    errors = []

    def paint(row):
        try:
            ws.masks.save_patches("big", [_row(row, 1 + row % 2, f"t{row}", 1, size=(8, 8))])
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


def test_an_edit_on_a_mask_holding_a_removed_class_saves_and_keeps_those_pixels(ws):
    m = np.full((4, 4), UNLABELLED, np.uint8)
    m[0] = 2
    ws.save_mask("s1", m)
    ws.save_classes(ClassList(["bg", "a"]))  # class 2 removed while s1.png uses it
    assert ws.masks.save_patches("s1", [_row(1, 1, "a", 1)]).wrote
    m = ws.read_mask("s1")
    assert (m[0] == 2).all() and (m[1] == 1).all()  # the stale values are kept (reported on the Data page)


def test_the_mask_version_changes_whenever_the_file_is_replaced(ws):
    path = ws.mask_path("s1")
    assert mask_version(path) is None
    ws.masks.save_patches("s1", [_row(0, 1, "a", 1)])
    v1 = mask_version(path)
    ws.masks.save_patches("s1", [_row(1, 1, "a", 2)])
    v2 = mask_version(path)
    assert None not in (v1, v2) and v1 != v2
    ws.replace_mask("s1", None, "clear")
    assert mask_version(path) is None
    ws.restore_mask("s1")
    assert mask_version(path) not in (None, v1)


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
    assert len(list((ws.root / "trash").glob("*_s1/data/masks/s1.png"))) == 1  # the mask the 2nd restore replaced: kept


def test_a_replacement_records_the_reviewed_mark_and_restore_brings_it_back(ws):
    ws.save_mask("s1", np.zeros((4, 4), np.uint8))
    set_reviewed(ws.root, "s1", True)
    backup = ws.replace_mask("s1", np.ones((4, 4), np.uint8), "proposal of run r2", reviewed=True)
    assert backup.name.endswith(".reviewed.png") and backup_reason(backup) == "proposal-of-run-r2"
    assert is_reviewed(ws.root, "s1")  # the accepted proposal is marked reviewed
    ws.replace_mask("s1", None, "clear")  # a Clear drops the mark
    assert not is_reviewed(ws.root, "s1") and backup_reason(ws.mask_backups("s1")[0]) == "clear"
    ws.restore_mask("s1")  # back to the accepted mask, reviewed again
    assert (ws.read_mask("s1") == 1).all() and is_reviewed(ws.root, "s1")
    set_reviewed(ws.root, "s1", False)
    ws.restore_mask("s1")  # back to the first mask, reviewed as it was when replaced
    assert (ws.read_mask("s1") == 0).all() and is_reviewed(ws.root, "s1")


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
    assert (first / "data/images/s1.png").is_file() and (first / "data/masks/s1.png").is_file()
    assert ws.remove("s1") is None  # a second click within the same second: nothing left, no crash
    (ws.images_dir / "s1.png").write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    again = ws.remove("s1")  # the same name removed again within a second: a trash folder of its own
    assert again != first and (again / "data/images/s1.png").is_file() and (first / "data/images/s1.png").is_file()


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


def test_the_mask_lock_excludes_another_process(ws):
    probe = ("import sys; from filelock import Timeout; from seg_core.workspace.lock import mask_lock\n"
             "try:\n    mask_lock(sys.argv[1]).acquire(timeout=0.2)\nexcept Timeout:\n    sys.exit(3)\n")
    with mask_lock(ws.root):
        held = subprocess.run([sys.executable, "-c", probe, str(ws.root)], timeout=60)
    free = subprocess.run([sys.executable, "-c", probe, str(ws.root)], timeout=60)
    assert (held.returncode, free.returncode) == (3, 0)


def test_saving_patches_says_the_files_version_before_and_after(ws):
    first = ws.masks.save_patches("s1", [_row(0, 1, "a", 1)])
    assert first.before is None and first.after == ws.masks.version("s1") is not None
    ws.save_mask("s1", np.zeros((4, 4), np.uint8))  # another tab replaces the file
    second = ws.masks.save_patches("s1", [_row(1, 2, "a", 2, before=0)])
    assert second.before not in (None, first.after) and second.after == ws.masks.version("s1")
    unchanged = ws.masks.save_patches("s1", [_row(1, 2, "a", 3, before=0)])  # the same paint again: no write
    assert not unchanged.wrote and unchanged.before == unchanged.after == second.after


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
