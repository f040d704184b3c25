"""Label patches (seg_core.workspace.label_patches): the wire format, checks naming the image, applying onto a mask,
saving onto the mask file as it is now."""
import base64
import zlib

import numpy as np
import pytest
from PIL import Image

from seg_core.base.classes import ClassList
from seg_core.workspace.label_patches import (Patch, PatchError, apply_patch, apply_patches, check_patch, decode_patch,
                                    diff_patch, encode_patch, make_patch)
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.workspace import Workspace


def _wire(x, y, touched, values, before=None, **kw):
    """A patch as the browser sends it."""
    touched = np.asarray(touched, np.uint8)
    values = np.asarray(values, np.uint8)
    before = np.full(values.shape, UNLABELLED, np.uint8) if before is None else np.asarray(before, np.uint8)
    raw = touched.tobytes() + values.tobytes() + before.tobytes()
    h, w = values.shape
    return {"sid": "s1", "seq": 1, "kind": "brush", "x": x, "y": y, "w": w, "h": h,
            "data": base64.b64encode(zlib.compress(raw)).decode(), **kw}


def test_round_trip_through_the_wire_format():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, (5, 7)).astype(np.uint8)
    touched = rng.random((5, 7)) > 0.5
    before = np.full((5, 7), UNLABELLED, np.uint8)
    p = make_patch(3, 4, values, touched, before, kind="fill", seq=9, sid="abc")
    q = decode_patch(encode_patch(p), "a.png")
    assert (q.x, q.y, q.w, q.h, q.kind, q.seq, q.sid) == (3, 4, 7, 5, "fill", 9, "abc")
    assert np.array_equal(q.values, values) and np.array_equal(q.touched, touched)
    assert np.array_equal(q.before, before)
    assert q.pixels == int(touched.sum())


def test_a_patch_moves_only_its_box():
    """A short stroke on a 4000x4000 image: the wire patch is a few hundred bytes, not the image."""
    touched = np.zeros((12, 40), np.uint8)
    touched[4:8] = 1
    wire = _wire(1000, 2000, touched, touched * 2)
    assert len(wire["data"]) < 300
    mask = np.full((4000, 4000), UNLABELLED, np.uint8)
    out = apply_patch(mask, decode_patch(wire, "big.png"))
    assert (out[2004:2008, 1000:1040] == 2).all()
    assert (out != UNLABELLED).sum() == 160
    assert (mask == UNLABELLED).all()  # the input is not changed


def test_untouched_pixels_keep_their_value_whatever_the_values_plane_says():
    mask = np.zeros((4, 4), np.uint8)
    touched = np.array([[1, 0], [0, 1]], np.uint8)
    out = apply_patch(mask, decode_patch(_wire(1, 1, touched, [[2, 2], [2, UNLABELLED]]), "a.png"))
    assert out.tolist() == [[0, 0, 0, 0], [0, 2, 0, 0], [0, 0, 255, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("change, message", [
    (dict(x=-1), "outside the 10x8 image"),
    (dict(x=8), "outside the 10x8 image"),
    (dict(y=7), "outside the 10x8 image"),
])
def test_a_patch_outside_the_image_is_refused_naming_it(change, message):
    p = decode_patch({**_wire(0, 0, np.ones((2, 3)), np.zeros((2, 3))), **change}, "cells.png")
    with pytest.raises(PatchError, match=message) as err:
        check_patch(p, (8, 10), 3, "cells.png")
    assert str(err.value).startswith("cells.png: ")


def test_values_that_are_no_class_are_refused_naming_the_image():
    p = decode_patch(_wire(0, 0, [[1, 1, 0]], [[1, 5, 7]]), "cells.png")
    with pytest.raises(PatchError, match=r"cells.png: the patch sets values \[5\], which are no classes \(0..2\)"):
        check_patch(p, (8, 10), 3, "cells.png")
    check_patch(decode_patch(_wire(0, 0, [[1, 1]], [[2, UNLABELLED]]), "c"), (8, 10), 3, "c")  # 255 is fine


@pytest.mark.parametrize("payload, message", [
    ("nope", "must be an object"),
    ({"x": 0, "y": 0, "w": 2, "h": 1}, "no 'data'"),
    ({"x": 0, "y": 0, "w": 0, "h": 1, "data": ""}, "at least 1x1"),
    ({"x": "a", "y": 0, "w": 2, "h": 1, "data": ""}, "'x' is 'a'"),
    ({"x": 0, "y": 0, "w": 2, "h": 1, "data": "!!!"}, "not base64"),
    ({"x": 0, "y": 0, "w": 2, "h": 1, "data": base64.b64encode(b"raw").decode()}, "not zlib"),
    ({"x": 0, "y": 0, "w": 2, "h": 1, "data": base64.b64encode(zlib.compress(b"12345")).decode()}, "needs 6"),
    ({"x": 0, "y": 0, "w": 2, "h": 1, "data": base64.b64encode(zlib.compress(bytes(10**6))).decode()}, "needs 6"),
    ({"x": 0, "y": 0, "w": 2, "h": 1, "kind": "smudge", "data": ""}, "unknown patch kind"),
    ({"x": 0, "y": 0, "w": 1, "h": 1, "data": base64.b64encode(zlib.compress(bytes([7, 0, 0]))).decode()},
     "other than 0 and 1"),
])
def test_malformed_patches_are_refused_naming_the_image(payload, message):
    with pytest.raises(PatchError, match=message) as err:
        decode_patch(payload, "cells.png")
    assert str(err.value).startswith("cells.png: ")


def test_undo_is_the_inverse_patch():
    mask = np.full((6, 6), UNLABELLED, np.uint8)
    mask[0, 0] = 1
    new = mask.copy()
    new[1:3, 1:4] = 2
    p = diff_patch(mask, new, kind="brush")
    assert p.box == (1, 1, 4, 3)
    assert np.array_equal(apply_patch(mask, p), new)
    assert np.array_equal(apply_patch(new, p.inverse()), mask)
    assert diff_patch(mask, mask) is None


def test_keep_theirs_leaves_pixels_someone_else_changed_since():
    before = np.full((1, 3), UNLABELLED, np.uint8)
    p = make_patch(0, 0, np.array([[1, 1, 1]]), before=before)
    file_now = np.array([[255, 2, 255]], np.uint8)  # another tab painted the middle pixel meanwhile
    res = apply_patches(file_now, [p], keep_theirs=True)
    assert res.mask.tolist() == [[1, 2, 1]] and res.changed == 2 and res.kept_theirs == 1
    assert apply_patch(file_now, p).tolist() == [[1, 1, 1]]  # without keep_theirs the edit wins


def test_by_default_only_an_undo_keeps_their_later_changes(ws):
    """A stroke, then another tab paints over part of it, then the stroke is undone: their pixel stays."""
    stroke = make_patch(0, 0, np.array([[1, 1, 1]]), before=np.full((1, 3), UNLABELLED, np.uint8), kind="brush")
    ws.masks.save_patches("cells", [stroke])
    theirs = ws.read_mask("cells")
    theirs[0, 1] = 2
    ws.save_mask("cells", theirs)
    out = ws.masks.save_patches("cells", [stroke.inverse()])
    assert ws.read_mask("cells")[0, :3].tolist() == [255, 2, 255] and out.kept_theirs == 1
    # a redo (or any stroke) paints over whatever is there
    ws.masks.save_patches("cells", [make_patch(0, 0, np.array([[1, 1, 1]]), before=np.full((1, 3), 255, np.uint8),
                                          kind="redo")])
    assert ws.read_mask("cells")[0, :3].tolist() == [1, 1, 1]


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(ClassList(["background", "cell", "nucleus"]))
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(w.images_dir / "cells.png")
    return w


def test_save_patches_lays_patches_onto_the_file_as_it_is_now(ws):
    stroke = decode_patch(_wire(2, 3, np.ones((2, 4)), np.ones((2, 4))), "cells.png")
    out = ws.masks.save_patches("cells", [stroke])
    assert out.wrote and out.changed == 8
    saved = ws.read_mask("cells")
    assert saved.shape == (20, 30) and (saved[3:5, 2:6] == 1).all() and (saved == 1).sum() == 8
    # someone else changes another part of the file; the next patch keeps their change
    other = saved.copy()
    other[10, 10] = 2
    ws.save_mask("cells", other)
    second = decode_patch(_wire(20, 15, np.ones((1, 2)), np.zeros((1, 2))), "cells.png")
    ws.masks.save_patches("cells", [second])
    saved = ws.read_mask("cells")
    assert saved[10, 10] == 2 and (saved[15, 20:22] == 0).all() and (saved[3:5, 2:6] == 1).all()
    # the inverses (undo) take both edits back; nothing labelled is left but the other change
    ws.masks.save_patches("cells", [second.inverse(), stroke.inverse()])
    saved = ws.read_mask("cells")
    assert (saved == UNLABELLED).sum() == saved.size - 1


def test_save_patches_removes_a_mask_left_all_unlabelled(ws):
    stroke = decode_patch(_wire(0, 0, np.ones((1, 1)), np.zeros((1, 1))), "cells.png")
    ws.masks.save_patches("cells", [stroke])
    assert ws.mask_path("cells").exists()
    out = ws.masks.save_patches("cells", [stroke.inverse()])
    assert out.wrote and out.mask is None and not ws.mask_path("cells").exists()


def test_save_patches_checks_every_patch_before_writing(ws):
    good = decode_patch(_wire(0, 0, np.ones((1, 1)), np.ones((1, 1))), "cells.png")
    outside = decode_patch(_wire(29, 19, np.ones((2, 2)), np.ones((2, 2))), "cells.png")
    with pytest.raises(PatchError, match="cells.png: the patch covers x 29..30, y 19..20, outside the 30x20"):
        ws.masks.save_patches("cells", [good, outside])
    assert not ws.mask_path("cells").exists()
    bad_value = decode_patch(_wire(0, 0, np.ones((1, 1)), np.full((1, 1), 3)), "cells.png")
    with pytest.raises(PatchError, match=r"values \[3\]"):
        ws.masks.save_patches("cells", [bad_value])


def test_a_patch_of_a_whole_4000x4000_fill_stays_small():
    p = make_patch(0, 0, np.ones((4000, 4000), np.uint8), before=np.full((4000, 4000), UNLABELLED, np.uint8))
    wire = encode_patch(p)
    assert len(wire["data"]) < 200_000
    assert isinstance(decode_patch(wire, "big.png"), Patch)


def test_a_box_outside_the_image_is_refused_before_its_data_is_decompressed(monkeypatch):
    """A crafted message declaring a huge box around a zip bomb costs nothing: the box is checked against the
    image first, and zlib is never asked to inflate it."""
    import seg_core.workspace.label_patches as lp

    bomb = base64.b64encode(zlib.compress(bytes(50_000_000), 9)).decode()  # 50 MB of zeros, ~50 kB sent
    payload = {"sid": "s", "seq": 1, "kind": "fill", "x": 0, "y": 0, "w": 100_000, "h": 100_000, "data": bomb}
    called = []
    real = zlib.decompressobj
    monkeypatch.setattr(lp.zlib, "decompressobj", lambda *a, **k: called.append(1) or real(*a, **k))
    with pytest.raises(PatchError, match=r"^cells.png: the patch covers x 0..99999, y 0..99999, outside the 60x40"):
        decode_patch(payload, "cells.png", (40, 60))
    assert called == []
    ok = _wire(1, 2, np.ones((2, 3)), np.ones((2, 3)))  # one that fits is decoded as before
    assert decode_patch(ok, "cells.png", (40, 60)).box == (1, 2, 4, 4) and called == [1]


def test_the_decompressed_data_never_exceeds_what_the_box_needs():
    """Without the image's size, a bomb inside a small box still inflates no more than the box's 3*w*h bytes."""
    bomb = base64.b64encode(zlib.compress(bytes(50_000_000), 9)).decode()
    with pytest.raises(PatchError, match=r"holds 601\+ bytes; a 10x20 box needs 600"):
        decode_patch({"x": 0, "y": 0, "w": 10, "h": 20, "data": bomb}, "cells.png")
