"""The Annotate page's keys and class menu (AppTest; the keys in a real browser: test_e2e_annotate.py): a key
pressed on the canvas reaches the page after the edits made before it, so PageDown saves the stroke and then
opens the next image, PageUp the previous one, A accepts the proposal; classes change from the page's
Classes menu, asking what a removed class's pixels become."""
import numpy as np

from page_helpers import page
from test_page_annotate import _edit, _ok, STEM
from seg_core import Workspace


def _press(at, what: str, target: str = "mask", stem: str = STEM, n: str = "k1") -> None:
    """A key's command as label_canvas's callback keeps it (with the edits sent before it, in the inbox)."""
    at.session_state[f"_label_canvas_ann_{target}_{stem}"]["command"] = {"what": what, "n": n}


def test_pagedown_saves_the_stroke_then_opens_the_next_image_and_pageup_goes_back(fresh_ws):
    at = page("annotate.py").run()
    _ok(at)
    stems = at.selectbox(key="ann_stem").options
    assert at.selectbox(key="ann_stem").value == STEM
    ws = Workspace(fresh_ws)
    before = ws.read_mask(STEM)
    value = (int(before[0, 0]) + 1) % 3
    _edit(at, "mask", 1, 0, 0, np.full((4, 4), value))
    _press(at, "next")
    at.run()
    _ok(at)
    assert (ws.read_mask(STEM)[:4, :4] == value).all()  # the stroke before the key is saved
    nxt = at.selectbox(key="ann_stem").value
    assert nxt == "tissue_01" and stems.index(nxt.split()[0]) == 1
    _press(at, "previous", stem="tissue_01", n="k2")
    at.run()
    _ok(at)
    assert at.selectbox(key="ann_stem").value == STEM
    _press(at, "previous", n="k3")  # the first image: stays, and says so
    at.run()
    _ok(at)
    assert at.selectbox(key="ann_stem").value == STEM


def test_a_accepts_the_proposal_on_screen(use_trained, tmp_path):
    at = page("annotate.py").run()
    next(b for b in at.button if b.label == "Propose a mask").click().run()
    _ok(at)
    ws = Workspace(use_trained)
    proposal = ws.proposals.read(STEM)
    assert proposal is not None
    try:
        _press(at, "accept", target="proposal")
        at.run()
        _ok(at)
        assert ws.proposals.get(STEM) is None and np.array_equal(ws.read_mask(STEM), proposal)
        assert any("the proposal is now the mask" in s.value for s in at.success)
    finally:
        if ws.mask_backups(STEM):
            ws.restore_mask(STEM)  # use_trained is shared: its mask as it was


def test_classes_change_from_the_annotate_page(fresh_ws):
    ws = Workspace(fresh_ws)
    masks = {s: ws.read_mask(s) for s in ws.stems() if ws.read_mask(s) is not None}
    at = page("annotate.py").run()
    _ok(at)
    at.selectbox(key="ann_class_action").set_value("Remove a class").run()
    at.selectbox(key="ann_class_name").set_value("cell").run()
    assert at.selectbox(key="ann_class_pixels_to").options == ["unlabelled", "background", "nucleus"]
    at.selectbox(key="ann_class_pixels_to").set_value("background").run()
    at.button(key="ann_class_apply").click().run()
    _ok(at)
    assert ws.classes().names == ["background", "nucleus"]
    assert any("cell" in s.value for s in at.success), [s.value for s in at.success]
    for stem, old in masks.items():  # cell became background, nucleus moved to 1, unlabelled stays
        new = ws.read_mask(stem)
        assert (new[old == 1] == 0).all() and (new[old == 2] == 1).all() and (new[old == 0] == 0).all()
        assert (new[old == 255] == 255).all()
    at.selectbox(key="ann_class_action").set_value("Rename a class").run()
    at.selectbox(key="ann_class_name").set_value("nucleus").run()
    at.text_input(key="ann_class_rename_to").input("core").run()
    at.button(key="ann_class_apply").click().run()
    _ok(at)
    assert ws.classes().names == ["background", "core"]
    assert "core" in " ".join(m.value for m in at.markdown)  # the legend under the canvas follows
