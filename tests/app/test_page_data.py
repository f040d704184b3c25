"""The Data page: the per-image table, removing an image, upload problems, classes."""
import io

import numpy as np
from PIL import Image

from page_helpers import page


def test_data_page_lists_sample_and_classes(fresh_ws):
    at = page("data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    stems = list(table["image"])
    assert [f"tissue_{i:02d}" for i in range(10)] == stems[:10]
    assert list(table["state"]) == ["labelled"] * 10 + ["unlabelled"] * 2
    assert table["thumbnail"].iloc[0].startswith("data:image/png;base64,")
    assert "12 images: 10 labelled, 2 unlabelled" in [s.value for s in at.subheader]
    text = " ".join(m.value for m in at.markdown)
    for n in ("background", "cell", "nucleus"):
        assert n in text


def test_data_page_remove_and_bad_upload(fresh_ws):
    from seg_core import Workspace

    at = page("data.py").run()
    at.selectbox(key="remove_stem").set_value("tissue_11")
    at.button(key="remove_btn").click().run()
    assert not at.exception
    assert "tissue_11" not in list(at.dataframe[0].value["image"])
    # uploads: AppTest cannot feed file_uploader, so use the workspace call the page makes
    rep = Workspace(fresh_ws).import_uploads([("broken.png", b"not a png"), ("lonely_mask.png", b"xx")])
    assert rep.problems and any("broken.png" in p for p in rep.problems)
    at.session_state["import_result"] = (rep.added, rep.problems)
    at.run()
    assert any("broken.png" in e.value for e in at.error)


def test_a_removed_image_is_put_back_with_its_mask(fresh_ws):
    from seg_core import Workspace

    at = page("data.py").run()  # the app seeds the workspace with the sample
    mask_before = Workspace(fresh_ws, seed_sample=False).masks.path("tissue_03").read_bytes()
    assert not any(e.label.startswith("Removed images") for e in at.expander)  # nothing removed yet
    at.selectbox(key="remove_stem").set_value("tissue_03")
    at.button(key="remove_btn").click().run()
    assert "tissue_03" not in list(at.dataframe[0].value["image"])
    assert any(e.label == "Removed images (1): put one back" for e in at.expander)
    assert at.selectbox(key="restore_pick").format_func(0).startswith("tissue_03 (removed 20")
    at.button(key="restore_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "tissue_03" in list(at.dataframe[0].value["image"])
    ws = Workspace(fresh_ws, seed_sample=False)
    assert ws.masks.path("tissue_03").read_bytes() == mask_before
    assert ws.removed_images() == [] and not any(e.label.startswith("Removed images") for e in at.expander)


def test_data_page_removes_a_class_asking_what_its_pixels_become_and_undoes_it(fresh_ws):
    """The sample's classes: background, cell, nucleus. Removing cell into background rewrites every mask (the
    nucleus pixels stay nucleus, now value 1); the undo brings the masks and classes back."""
    from seg_core import Workspace

    at = page("data.py").run()
    ws = Workspace(fresh_ws)
    before = ws.read_mask("tissue_00").copy()
    at.selectbox(key="class_action").set_value("Remove a class").run()
    at.selectbox(key="class_name").set_value("cell").run()
    assert at.selectbox(key="class_pixels_to").options == ["unlabelled", "background", "nucleus"]
    at.selectbox(key="class_pixels_to").set_value("background").run()
    at.button(key="class_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert ws.classes().names == ["background", "nucleus"]
    assert "remove cell (pixels to background): 10 mask(s) changed" in at.success[0].value
    after = ws.read_mask("tissue_00")
    assert (after[before == 0] == 0).all() and (after[before == 1] == 0).all()  # cell -> background
    assert (after[before == 2] == 1).all() and (before == 1).any() and (before == 2).any()  # nucleus kept
    assert (after[before == 255] == 255).all()
    at.button(key="class_undo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert ws.classes().names == ["background", "cell", "nucleus"] and (ws.read_mask("tissue_00") == before).all()
    assert "Undone: remove cell (pixels to background)." in at.success[0].value
    assert at.button(key="class_undo").disabled  # nothing more to undo


def test_data_page_adds_merges_and_names_a_bad_change(fresh_ws):
    from seg_core import Workspace

    at = page("data.py").run()
    at.text_input(key="class_new_name").input("fibre").run()
    at.button(key="class_apply").click().run()
    ws = Workspace(fresh_ws)
    assert ws.classes().names == ["background", "cell", "nucleus", "fibre"]
    assert "add fibre: 0 mask(s) changed." == at.success[0].value
    at.text_input(key="class_new_name").input("cell").run()
    at.button(key="class_apply").click().run()
    assert any("there is a class named 'cell' already" in e.value for e in at.error)
    at.selectbox(key="class_action").set_value("Merge a class into another").run()
    at.selectbox(key="class_name").set_value("nucleus").run()
    at.selectbox(key="class_into").set_value("cell").run()
    at.button(key="class_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert ws.classes().names == ["background", "cell", "fibre"]
    assert at.success[0].value.startswith("merge nucleus into cell: 10 mask(s) changed")
    assert set(np.unique(ws.read_mask("tissue_00"))) <= {0, 1}


def test_data_page_lists_each_images_own_problems(fresh_ws):
    """A stem that is the start of another (cell, cell2) shows only its own problems."""
    from seg_core import Workspace

    ws = Workspace(fresh_ws)
    for stem in ("cell", "cell2"):
        ws.add_image(f"{stem}.png", _png(np.zeros((16, 16, 3), np.uint8)))
    ws.save_mask("cell", np.zeros((16, 16), np.uint8))
    (ws.masks_dir / "cell2.png").write_bytes(_png(np.zeros((8, 8), np.uint8)))  # a mask of the wrong size
    at = page("data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value.set_index("image")
    assert table.loc["cell", "problems"] == ""
    assert table.loc["cell", "classes present"] == "background" and table.loc["cell", "size"] == "16×16"
    assert "cell2.png: mask is 8x8 but image cell2.png is 16x16" in table.loc["cell2", "problems"]
    assert "tissue_10.png: no mask" in table.loc["tissue_10", "problems"]  # not labelled yet
    assert any("cell2.png: mask is 8x8" in e.value for e in at.error)


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def test_data_page_says_which_uploads_were_renamed_or_refused(fresh_ws):
    from seg_core import Workspace

    at = page("data.py").run()
    assert at.checkbox(key="up_replace").value is False  # replacing is a choice, off by default
    rep = Workspace(fresh_ws).import_uploads([("tissue_00.png", _png(np.full((16, 16, 3), 7, np.uint8))),
                                              ("x.zip", b"PK\x03\x04 not a zip")])
    at.session_state["import_result"] = (rep.added, rep.problems, rep.notes())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("tissue_00.png: renamed to tissue_00_2; an image named 'tissue_00' already exists" in w.value
               for w in at.warning)
    assert any("x.zip: not a zip file, or a damaged one" in e.value for e in at.error)
    assert "tissue_00_2" in list(at.dataframe[0].value["image"])


def test_data_page_imports_in_the_background_with_counts_and_cancel(fresh_ws, monkeypatch):
    from page_helpers import Gate, progress_texts, wait_for
    from seg_core import REGISTRY

    at = page("data.py").run()
    key = str(fresh_ws)
    files = [(f"{c}.png", _png(np.full((16, 16, 3), i, np.uint8)), "image/png") for i, c in enumerate("abcde")]
    at.file_uploader(key="up_images").set_value(files[:2]).run()
    next(b for b in at.button if b.label == "Import uploaded files").click().run()
    assert not at.exception, [e.value for e in at.exception]
    wait_for(lambda: not REGISTRY.active("import", key), what="the import")
    at.run()
    assert any(s.value == "Added 2 image(s): a, b" for s in at.success)
    assert {"a", "b"} <= set(at.dataframe[0].value["image"])

    gate = Gate(monkeypatch, at=2)  # the next import waits after its second file
    at.file_uploader(key="up_images").set_value(files[2:])
    at.file_uploader(key="up_masks").set_value([("c.png", _png(np.ones((16, 16), np.uint8)), "image/png")]).run()
    next(b for b in at.button if b.label == "Import uploaded files").click().run()
    assert gate.reached.wait(30)
    at.run()
    assert progress_texts(at) == ["Import of 4 file(s): 2/4 files · d.png"]
    assert next(b for b in at.button if b.label == "Import uploaded files").disabled  # one import at a time
    assert next(b for b in at.button if b.label == "Load sample").disabled
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert "cancelling after the current step" in progress_texts(at)[0]
    gate.open()
    wait_for(lambda: not REGISTRY.active("import", key), what="the cancelled import")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not progress_texts(at)
    assert any(w.value == "Import of 4 file(s): cancelled after 2 of 4 files: the 2 file(s) imported are kept; 2 not "
               "imported (e.png, masks/c.png)" for w in at.warning)
    assert any(s.value == "Added 2 image(s): c, d" for s in at.success)
    stems = set(at.dataframe[0].value["image"])
    assert {"c", "d"} <= stems and "e" not in stems
    assert not (fresh_ws / "data" / "masks" / "c.png").exists()
