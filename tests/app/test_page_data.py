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


def test_data_page_saves_classes(fresh_ws):
    from seg_core import Workspace

    at = page("data.py").run()
    save = next(b for b in at.button if b.label == "Save classes")
    save.click().run()
    assert not at.exception
    assert Workspace(fresh_ws).classes().names == ["background", "cell", "nucleus"]


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
