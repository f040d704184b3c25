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
    assert any("b_mask.png: no image named 'b'" in p for p in rep.problems)  # the file as the user named it
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


def test_mask_uploads_and_saves_read_values_by_the_one_rule(tmp_path):
    """The Data page's upload and the Annotate page's save: 255 unlabelled, a grey 0/255 upload in a 2-class
    workspace is binary, a palette upload is read by index, other values are refused naming file and values."""
    import json

    import tifffile

    from seg_core.base.mask_values import UPLOAD_RULE

    ws = Workspace(tmp_path / "ws", seed_sample=False)  # 2 default classes, no classes.json yet
    for stem in ("grey", "pal", "u16", "flt", "neg"):
        ws.add_image(f"{stem}.png", _png(np.zeros((4, 6, 3), np.uint8)))
    half = np.array([[0, 0, 0, 255, 255, 255]] * 4, np.uint8)
    pal = Image.fromarray(half, mode="P")
    pal.putpalette([0, 0, 0] * 255 + [255, 255, 255])
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    flt = io.BytesIO()
    tifffile.imwrite(flt, np.where(half > 0, 1e10, -1.0).astype(np.float32))
    u16 = _png(np.where(half > 0, 300, 1).astype(np.uint16))
    rep = ws.import_uploads([], [("grey.png", _png(half)), ("pal.png", buf.getvalue()), ("u16.png", u16),
                                 ("flt.tif", flt.getvalue())])
    assert set(np.unique(ws.read_mask("grey")).tolist()) == {0, 1}  # a binary mask: 255 is class 1
    assert set(np.unique(ws.read_mask("pal")).tolist()) == {0, 255}  # by index: 255 stays unlabelled
    refused = "are not classes 0..1 nor the unlabelled value 255"
    assert any(p.endswith(f"u16.png: values [300] {refused}") for p in rep.problems)
    assert any(p.endswith(f"flt.tif: values [-1, 10000000000] {refused}") for p in rep.problems)
    assert ws.read_mask("u16") is None and ws.read_mask("flt") is None
    assert "grey-level mask holding only 0 and 255 in a 2-class workspace" in UPLOAD_RULE
    with pytest.raises(ValueError, match=r"neg.png: values \[-1, 300\] are not classes 0..1 nor the unlabelled"):
        ws.save_mask("neg", np.array([[-1, 300, 0, 1, 255, 0]] * 4, np.int32))
    assert ws.read_mask("neg") is None
    # the app's masks hold 255 for unlabelled, and its classes.json says so: the folder needs no flags
    assert json.loads((ws.data_dir / "classes.json").read_text())["unlabelled"] == 255
    ds = ws.scan()
    assert not ds.errors and ds.class_pixels["pal"].tolist() == [12, 0]
    assert ds.mask_rules[0] == ("Mask values are class indices 0..1 (0 background, 1 foreground); 255 marks "
                                "unlabelled pixels (the workspace), skipped in training and scoring.")  # no flags


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def test_an_older_workspace_gets_its_unlabelled_value_recorded(tmp_path):
    """A workspace saved before classes.json carried the unlabelled value trains from the CLI with no flags."""
    import json

    ws = Workspace(tmp_path / "ws")
    f = ws.data_dir / "classes.json"
    old = json.loads(f.read_text())
    old.pop("unlabelled", None)
    old.pop("ignore_index", None)
    f.write_text(json.dumps(old))
    Workspace(tmp_path / "ws")  # the app starts again
    assert json.loads(f.read_text())["unlabelled"] == 255


def test_whatever_is_removed_or_replaced_goes_to_one_trash_named_one_way(tmp_path):
    """Import's replacements, a restore's replaced mask, a rejected proposal, a removed image and a deleted run:
    each in a fresh ``trash/<time>_<what>/`` folder holding the files at their paths within the workspace."""
    import json
    import re

    from seg_core import ClassList, Run

    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.save_classes(ClassList(["bg", "fg"]))
    for stem in ("a", "b"):
        ws.add_image(f"{stem}.png", _png(np.zeros((4, 4, 3), np.uint8)))
    ws.save_mask("a", np.zeros((4, 4), np.uint8))
    ws.import_uploads([("classes.json", json.dumps({"names": ["x", "y"]}).encode())], [("a.png", _png(
        np.ones((4, 4), np.uint8)))], replace=True)  # the old classes.json and the old mask of a
    ws.replace_mask("a", np.zeros((4, 4), np.uint8), "proposal")
    ws.restore_mask("a")  # the mask it replaces
    ws.proposals.save("b", np.ones((4, 4), np.uint8), "r1")
    ws.proposals.reject("b")
    (ws.runs_dir / "r1").mkdir()
    (ws.runs_dir / "r1" / "config.json").write_text("{}")
    ws.remove_run(Run(ws.runs_dir / "r1"))
    ws.remove("b")
    trashed = []
    for folder in (ws.root / "trash").iterdir():
        what = re.fullmatch(r"\d{8}-\d{6}_(.+?)(-\d+)?", folder.name).group(1)
        trashed += [(what, p.relative_to(folder).as_posix()) for p in folder.rglob("*") if p.is_file()]
    assert sorted(trashed) == [("a", "data/masks/a.png"), ("a", "data/masks/a.png"), ("b", "data/images/b.png"),
                               ("b", "proposals/b.json"), ("b", "proposals/b.png"), ("classes", "data/classes.json"),
                               ("r1", "runs/r1/config.json")]
