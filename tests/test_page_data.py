"""The Data page: the per-image table, removing an image, upload problems, classes."""
import io

import numpy as np
from PIL import Image

from page_helpers import page


def test_data_page_lists_sample_and_classes(fresh_ws):
    at = page("1_Data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    stems = list(table["image"])
    assert [f"tissue_{i:02d}" for i in range(10)] == stems[:10]
    assert table["labelled"].iloc[:10].all()
    assert table["thumbnail"].iloc[0].startswith("data:image/png;base64,")
    assert "12 images, 10 labelled" in [s.value for s in at.subheader]
    text = " ".join(m.value for m in at.markdown)
    for n in ("background", "cell", "nucleus"):
        assert n in text


def test_data_page_remove_and_bad_upload(fresh_ws):
    from seg_core import Workspace

    at = page("1_Data.py").run()
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

    at = page("1_Data.py").run()
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
    at = page("1_Data.py").run()
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

    at = page("1_Data.py").run()
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
