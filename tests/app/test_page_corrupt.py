"""Every page survives every damaged file in the workspace: no exception, an error naming the file where
the page reads it, and the rest of the page keeps working."""
import json

import numpy as np
import pytest
from PIL import Image

from page_helpers import page

PAGES = ["data.py", "annotate.py", "train.py", "review.py", "runs.py"]


def _run_dir(ws):
    return next(p for p in (ws / "runs").iterdir() if p.is_dir())


def _small_png(path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(path)


# name -> (how to damage the workspace, {page: text an error or warning must hold})
DAMAGE = {
    "classes.json": (lambda ws: (ws / "data" / "classes.json").write_text("{not json"),
                     {"data.py": "classes.json", "annotate.py": "classes.json", "train.py": "classes.json"}),
    "image": (lambda ws: (ws / "data" / "images" / "tissue_00.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage"),
              {"data.py": "tissue_00.png", "annotate.py": "tissue_00", "review.py": "tissue_00"}),
    "mask": (lambda ws: (ws / "data" / "masks" / "tissue_00.png").write_bytes(b"not a png"),
             {"data.py": "tissue_00.png", "annotate.py": "tissue_00.png"}),
    "mask size": (lambda ws: _small_png(ws / "data" / "masks" / "tissue_00.png"),
                  {"data.py": "tissue_00.png", "annotate.py": "tissue_00.png"}),
    "hidden temporary": (lambda ws: [(ws / "data" / d / ".tissue_00.k2j3h4.png").write_bytes(b"\x89PNG half")
                                     for d in ("images", "masks")], {}),
    "run config.json": (lambda ws: (_run_dir(ws) / "config.json").write_text("{not json"),
                        {"runs.py": "config.json", "review.py": "config.json"}),
    "run status.json": (lambda ws: (_run_dir(ws) / "status.json").write_text("[1, 2"),
                        {"runs.py": "status.json"}),
    "run history.csv": (lambda ws: (_run_dir(ws) / "history.csv").write_text("epoch,val_miou\n1,0.5\n2,0.6,7\n"),
                        {"runs.py": "history.csv"}),
    "run classes.json": (lambda ws: (_run_dir(ws) / "classes.json").write_text("[1,"),
                         {"runs.py": "classes.json", "review.py": "classes.json"}),
    "run checkpoint": (lambda ws: (_run_dir(ws) / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00"),
                       {"review.py": "model.safetensors"}),
    "training lock": (lambda ws: (ws / "runs" / ".train.lock").write_text("{garbage"), {}),
}


@pytest.fixture
def damaged_ws(trained_copy):
    return trained_copy


def _said(at) -> str:
    return "\n".join(str(e.value) for e in list(at.error) + list(at.warning))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_page_survives_a_damaged_file(damaged_ws, damage):
    spoil, named = DAMAGE[damage]
    spoil(damaged_ws)
    for name in PAGES:
        at = page(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        if name in named:
            assert named[name] in _said(at), (name, _said(at))
        assert at.title, name  # the page drew
    if damage == "hidden temporary":
        at = page("annotate.py").run()
        assert all(not o.startswith(".") for o in at.selectbox(key="ann_stem").options)
    if damage == "training lock":
        at = page("train.py").run()
        assert not next(b for b in at.button if b.label == "Start training").disabled


def test_review_survives_the_shown_image_being_removed(damaged_ws):
    at = page("review.py").run()
    shown = at.selectbox(key="review_image").value
    from seg_core import Workspace

    ws = Workspace(damaged_ws)
    (ws.image_path(shown)).unlink()  # removed in another tab while this page is open
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="review_image").value != shown
    next(t for t in at.toggle if t.key.startswith("crf_on_")).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]


def test_runs_and_train_pages_show_an_interrupted_run(damaged_ws):
    run = _run_dir(damaged_ws)
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({"state": "running", "started": status.get("started"),
                                                 "pid": 2 ** 22 + 4321, "host": __import__("socket").gethostname()}))
    at = page("runs.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["state"]) == ["interrupted"]
    at = page("train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Run {run.name}: interrupted" in w.value for w in at.warning)
    assert any(run.name in o for o in at.selectbox(key="init_run").options if o)  # continue from its checkpoint


def test_removing_an_image_twice_from_two_tabs(damaged_ws):
    tab1, tab2 = page("data.py").run(), page("data.py").run()
    for tab in (tab1, tab2):
        tab.selectbox(key="remove_stem").set_value("tissue_03")
    tab1.button(key="remove_btn").click().run()
    tab2.button(key="remove_btn").click().run()
    assert not tab1.exception and not tab2.exception, [e.value for e in tab2.exception]
    assert "tissue_03" not in tab2.selectbox(key="remove_stem").options
