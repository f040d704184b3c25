"""The label canvas on a mask file in one call (``segapp.label_canvas.file_sync.save_canvas_edits``, AppTest): a
stroke that arrives is saved and the mask returned holds it, as the file does; the canvas is told to show the file
again (a new ``mask_id``) only when the file changed elsewhere, not after its own save; an edit to a proposal
accepted meanwhile is said once, as an error. The page that uses it: test_page_annotate.py."""
import numpy as np
from streamlit.testing.v1 import AppTest

from seg_core import Workspace
from seg_core.workspace.label_patches import encode_patch, make_patch
from seg_core.base.mask_values import UNLABELLED

STEM = "tissue_00"


def _canvas_page(root: str, target: str) -> None:
    """A script that lays the canvas's edits onto the file (the mask or the proposal) and keeps what it returned."""
    import streamlit as st

    from seg_core import Workspace
    from segapp.flash import show_flash
    from segapp.label_canvas.file_sync import save_canvas_edits

    show_flash("here")
    ws = Workspace(root)
    store = ws.masks if target == "mask" else ws.proposals
    st.session_state["got"] = save_canvas_edits("canvas", store, "tissue_00", (256, 256), ws.classes(),
                                                "tissue_00.png", flash_to="here")


def _app(root, target="mask") -> AppTest:
    return AppTest.from_function(_canvas_page, args=(str(root), target), default_timeout=60)


def _stroke(at, seq: int, x: int, y: int, values) -> None:
    """An edit as the canvas's callback keeps it until the script runs."""
    wire = encode_patch(make_patch(x, y, np.asarray(values, np.uint8), sid="tab1", seq=seq))
    at.session_state["_label_canvas_canvas"]["inbox"].append({"patches": [wire]})


def test_a_stroke_is_saved_and_the_mask_returned_holds_it(tmp_path):
    ws = Workspace(tmp_path / "ws")
    before = ws.read_mask(STEM)
    at = _app(ws.root).run()
    assert not at.exception, [e.value for e in at.exception]
    first = at.session_state["got"]
    assert np.array_equal(first.mask, before) and first.saved_at is None  # nothing arrived: nothing saved
    _stroke(at, 1, 100, 50, np.full((3, 20), 2))
    at.run()
    got = at.session_state["got"]
    on_disk = ws.read_mask(STEM)
    assert (on_disk[50:53, 100:120] == 2).all() and np.array_equal(got.mask, on_disk)  # returned as saved
    assert got.saved_at is not None and got.version == ws.masks.version(STEM) != first.version
    assert got.mask_id == first.mask_id  # its own save: the canvas keeps its undo history
    at.run()  # a run with no edit saves nothing
    assert at.session_state["got"].saved_at is None and np.array_equal(at.session_state["got"].mask, on_disk)


def test_a_mask_changed_elsewhere_is_shown_again_with_both_edits(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.replace_mask(STEM, None, "clear")
    at = _app(ws.root).run()
    shown = at.session_state["got"].mask_id
    assert (at.session_state["got"].mask == UNLABELLED).all()  # no file: all unlabelled
    other = np.full((256, 256), UNLABELLED, np.uint8)
    other[0] = 1
    ws.save_mask(STEM, other)  # another tab painted row 0
    _stroke(at, 1, 0, 10, np.full((1, 256), 0))  # this one, still showing the cleared mask, row 10
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    got = at.session_state["got"]
    assert (got.mask[0] == 1).all() and (got.mask[10] == 0).all()  # both kept, and returned
    assert got.mask_id != shown and got.mask_id == str(ws.masks.version(STEM))  # shown again, as saved now
    ws.restore_mask(STEM)  # a Restore elsewhere, no edit here: the next run of the page shows it
    at.run()
    got = at.session_state["got"]
    assert np.array_equal(got.mask, ws.read_mask(STEM)) and got.mask_id == str(ws.masks.version(STEM))


def test_an_edit_to_a_proposal_gone_meanwhile_is_said_once(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.proposals.save(STEM, np.zeros((256, 256), np.uint8), "a run")
    at = _app(ws.root, "proposal").run()
    assert (at.session_state["got"].mask == 0).all()
    ws.proposals.reject(STEM)  # another tab rejected it
    _stroke(at, 1, 0, 0, np.full((2, 2), 1))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [f"{STEM}.png: the proposal was accepted or rejected elsewhere; this edit "
                                           "went nowhere (paint on the mask now shown)"]
    assert ws.proposals.read(STEM) is None  # nothing written
    at.run()
    assert not at.error  # said once
