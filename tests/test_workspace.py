"""The workspace on disk: the sample, uploads that fail safely, zip import, remove to trash."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from seg_core import Workspace


def test_workspace_starts_with_the_sample_and_survives_bad_uploads(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert len(ws.stems()) == 12 and ws.classes().names == ["background", "cell", "nucleus"]
    labelled_before = sorted(p.name for p in ws.masks_dir.iterdir())
    with pytest.raises(ValueError, match="broken.png: cannot read image"):
        ws.add_image("broken.png", b"\x89PNG garbage")
    rep = ws.import_files([("ok.png", _png(np.zeros((20, 30, 3), np.uint8))),
                           ("masks/ok.png", _png(np.ones((20, 30), np.uint8) * 7)),
                           ("masks/ghost.png", _png(np.zeros((5, 5), np.uint8)))])
    assert rep.added == ["ok"]
    assert any("ok.png: values [7] are not classes 0..2" in p for p in rep.problems)
    assert any("ghost.png: no image named 'ghost'" in p for p in rep.problems)
    assert sorted(p.name for p in ws.masks_dir.iterdir()) == labelled_before  # nothing saved was lost
    mask = np.full((20, 30), 255, np.uint8)
    mask[:5, :5] = 2
    ws.save_mask("ok", mask)
    again = Workspace(tmp_path / "ws")  # an app restart
    assert np.array_equal(again.read_mask("ok"), mask)
    ds = again.scan()
    assert not ds.errors and ds.class_pixels["ok"].tolist() == [0, 0, 25]  # unlabelled pixels are not a class
    again.remove("ok")
    assert "ok" not in again.stems() and any((tmp_path / "ws" / "trash").rglob("ok.png"))


def test_zip_import(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("set/images/a.png", _png(np.zeros((8, 8, 3), np.uint8)))
        z.writestr("set/masks/a.png", _png(np.array([[0, 255] * 4] * 8, np.uint8)))
        z.writestr("set/images/broken.png", b"not a png")
    rep = ws.import_zip(buf.getvalue(), "mine.zip")
    assert rep.added == ["a"]
    assert len(rep.problems) == 1 and rep.problems[0].startswith("mine.zip: broken.png")
    assert "broken" not in ws.stems()
    assert set(np.unique(ws.read_mask("a")).tolist()) == {0, 1}  # 0/255 masks read as classes 0/1


def test_images_are_found_by_exact_stem(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.add_image("s1.v2.png", _png(np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(FileNotFoundError, match="no image 's1'"):
        ws.image_path("s1")  # s1.v2.png is another image
    assert ws.add_image("s1.png", _png(np.full((4, 6, 3), 9, np.uint8))) == "s1"  # not taken for a duplicate
    assert ws.image_path("s1").name == "s1.png" and ws.image_path("s1.v2").name == "s1.v2.png"
    assert ws.read_image("s1").shape == (4, 6, 3)
    (ws.images_dir / "s[1].png").write_bytes(_png(np.zeros((2, 2, 3), np.uint8)))  # put there by hand
    assert ws.image_path("s[1]").name == "s[1].png"  # glob characters are plain characters
    with pytest.raises(ValueError, match="an image named 's1' already exists"):
        ws.add_image("s1.jpg", _png(np.zeros((4, 4, 3), np.uint8)))
    ws.remove("s1")
    assert ws.stems() == ["s1.v2", "s[1]"]


def test_uploads_import_images_zips_and_masks_together(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("images/z.png", _png(np.zeros((8, 8, 3), np.uint8)))
    rep = ws.import_uploads([("a.png", _png(np.zeros((8, 8, 3), np.uint8))), ("set.zip", buf.getvalue()),
                             ("b_mask.png", _png(np.zeros((8, 8), np.uint8)))],
                            [("a.png", _png(np.ones((8, 8), np.uint8))), ("c.png", _png(np.ones((8, 8), np.uint8)))])
    assert rep.added == ["a", "z"]
    assert ws.read_mask("a").max() == 1
    assert any("b.png: no image named 'b'" in p for p in rep.problems)
    assert any("c.png: no image named 'c'" in p for p in rep.problems)


def test_masks_stamp_changes_when_a_mask_is_saved_or_cleared(tmp_path):
    ws = Workspace(tmp_path / "ws")
    first = ws.masks_stamp()
    assert len(first) == 10
    ws.save_mask("tissue_10", np.zeros((256, 256), np.uint8))
    second = ws.masks_stamp()
    assert second != first
    ws.clear_mask("tissue_00")
    assert ws.masks_stamp() not in (first, second)


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
