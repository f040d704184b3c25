"""The Annotate page (AppTest, no browser): the full-resolution canvas and its saves, a mask changed
elsewhere shown again, proposals from a run (corrected, accepted with a restorable backup, rejected),
reviewed marks, damaged files. The canvas's edits are fed in as its callback keeps them; the browser side is
tests/app/test_e2e_annotate.py."""
import base64
import json
import zlib

import numpy as np

from page_helpers import elements, page
from seg_core.workspace.label_patches import encode_patch, make_patch
from seg_core.base.mask_values import UNLABELLED

STEM = "tissue_00"  # the page opens the first image


def _canvas(at, target="mask") -> dict:
    [el] = [e for e in elements(at, "bidi_component") if json.loads(e.proto.json)["key"] == f"ann_{target}_{STEM}"]
    return json.loads(el.proto.json)


def _mask_sent(data: dict) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(data["mask"])), np.uint8).reshape(data["h"], data["w"])


def _edit(at, target, seq, x, y, values, before=None, sid="tab1", kind="brush"):
    """The browser's edit: ``values`` (2-D) at (x, y), as label_canvas's callback keeps it until the run."""
    wire = encode_patch(make_patch(x, y, np.asarray(values, np.uint8), before=before, kind=kind, sid=sid, seq=seq))
    at.session_state[f"_label_canvas_ann_{target}_{STEM}"]["inbox"].append({"patches": [wire]})


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]


def test_the_canvas_shows_the_image_and_mask_at_full_size_and_saves_each_edit(trained_copy):
    from seg_core import Workspace

    ws = Workspace(trained_copy)
    before = ws.read_mask(STEM)
    at = page("annotate.py").run()
    _ok(at)
    d = _canvas(at)
    assert (d["w"], d["h"]) == (256, 256) and np.array_equal(_mask_sent(d), before)  # full resolution
    assert "Mask" in [s.value for s in at.subheader]
    assert any("*unlabelled*" in c.value for c in at.caption)  # the coverage shares
    _edit(at, "mask", 1, 100, 50, np.full((3, 20), 2))  # a stroke of class 2 (nucleus)
    at.run()
    _ok(at)
    m = ws.read_mask(STEM)
    assert (m[50:53, 100:120] == 2).all()
    changed = m != before
    assert changed.sum() == (before[50:53, 100:120] != 2).sum() and not changed[:50].any()  # nothing else
    assert any(c.value.startswith(f"Saved {STEM}.png at") for c in at.caption)
    assert _canvas(at)["mask"] is None  # its own save does not send the mask again (the undo history stays)


def test_a_mask_changed_elsewhere_is_shown_again_with_the_other_tabs_edits_kept(trained_copy):
    from seg_core import Workspace

    ws = Workspace(trained_copy)
    ws.replace_mask(STEM, None, "clear")
    at = page("annotate.py").run()
    shown = _canvas(at)["mask_id"]
    other = np.full((256, 256), UNLABELLED, np.uint8)
    other[0] = 1
    ws.save_mask(STEM, other)  # another tab painted row 0
    _edit(at, "mask", 1, 0, 10, np.full((1, 256), 0))  # this tab, still showing the cleared mask, paints row 10
    at.run()
    _ok(at)
    m = ws.read_mask(STEM)
    assert (m[0] == 1).all() and (m[10] == 0).all()  # both kept
    d = _canvas(at)
    assert d["mask_id"] != shown and ((_m := _mask_sent(d))[0] == 1).all() and (_m[10] == 0).all()  # shown again
    ws.restore_mask(STEM)  # a Restore in another tab
    at.run()
    d = _canvas(at)
    assert d["mask"] is not None and np.array_equal(_mask_sent(d), ws.read_mask(STEM))


def test_propose_correct_accept_and_restore(trained_copy):
    from seg_core import Workspace
    from seg_core.workspace.review_state import is_reviewed

    ws = Workspace(trained_copy)
    hand = ws.read_mask(STEM)
    at = page("annotate.py").run()
    run = ws.runs_to_propose()[0]
    assert at.selectbox(key="ann_run").value == run.name
    _button(at, "Propose a mask").click().run()
    _ok(at)
    assert ws.proposals.get(STEM).run == run.name and np.array_equal(ws.read_mask(STEM), hand)  # on disk; mask as it was
    assert any(f"Proposal from run {run.name} — not your label yet" in w.value for w in at.warning)
    proposed = ws.proposals.read(STEM)
    assert np.array_equal(_mask_sent(_canvas(at, "proposal")), proposed)  # the canvas edits the proposal
    _edit(at, "proposal", 1, 10, 20, np.full((4, 30), 2))  # a correction
    at.run()
    _ok(at)
    proposed[20:24, 10:40] = 2
    assert np.array_equal(ws.proposals.read(STEM), proposed) and np.array_equal(ws.read_mask(STEM), hand)
    at = page("annotate.py").run()  # a reload (a new session) keeps the proposal and its correction
    assert np.array_equal(_mask_sent(_canvas(at, "proposal")), proposed)
    _button(at, "Accept the proposal").click().run()
    _ok(at)
    assert np.array_equal(ws.read_mask(STEM), proposed) and is_reviewed(ws.root, STEM)
    assert ws.proposals.get(STEM) is None and any("marked reviewed" in s.value for s in at.success)
    assert np.array_equal(_mask_sent(_canvas(at)), proposed)  # the canvas now shows the mask
    assert at.selectbox(key="ann_stem").format_func(STEM).endswith("✓ reviewed")
    _button(at, "Restore the previous mask").click().run()
    _ok(at)
    assert np.array_equal(ws.read_mask(STEM), hand) and not is_reviewed(ws.root, STEM)


def test_reject_leaves_the_mask_and_reviewed_can_be_toggled(trained_copy):
    from seg_core import Workspace
    from seg_core.workspace.review_state import is_reviewed

    ws = Workspace(trained_copy)
    hand = ws.read_mask(STEM)
    at = page("annotate.py").run()
    _button(at, "Propose a mask").click().run()
    _button(at, "Reject the proposal").click().run()
    _ok(at)
    assert ws.proposals.get(STEM) is None and np.array_equal(ws.read_mask(STEM), hand)
    assert len(list((ws.root / "trash").glob(f"*_{STEM}*/proposals/{STEM}.png"))) >= 1
    _button(at, "Mark as reviewed").click().run()
    assert is_reviewed(ws.root, STEM) and any("reviewed" in m.value for m in at.markdown)
    _button(at, "Mark as not reviewed").click().run()
    assert not is_reviewed(ws.root, STEM)


def test_no_proposal_from_a_run_still_training(fresh_ws, trained_ws):
    import os
    import shutil

    from seg_core import Workspace

    ws = Workspace(fresh_ws)
    run = Workspace(trained_ws).runs()[0]
    shutil.copytree(run.path, ws.runs_dir / run.name)
    status = ws.runs_dir / run.name / "status.json"
    status.write_text(json.dumps({"state": "running", "pid": os.getpid(), "host": os.uname().nodename}))
    at = page("annotate.py").run()
    _ok(at)
    assert _button(at, "Propose a mask").disabled
    status.write_text(json.dumps({"state": "running", "pid": 2 ** 22 + 12345, "host": os.uname().nodename}))
    at.run()  # its process is gone: interrupted, its best checkpoint final
    assert not _button(at, "Propose a mask").disabled


def test_a_damaged_mask_is_named_and_put_aside(fresh_ws):
    from seg_core import Workspace

    ws = Workspace(fresh_ws)
    ws.mask_path(STEM).write_bytes(b"not a png")
    at = page("annotate.py").run()
    _ok(at)
    assert any(f"{STEM}.png" in e.value for e in at.error)
    next(b for b in at.button if b.label.startswith("Put the damaged mask aside")).click().run()
    _ok(at)
    assert ws.read_mask(STEM) is None and len(ws.mask_backups(STEM)) == 1
    assert (_mask_sent(_canvas(at)) == UNLABELLED).all()


def test_suggestions_learn_from_the_trained_model_when_let_and_say_so(trained_copy):
    import time

    from seg_core import Workspace

    run = Workspace(trained_copy).runs_to_propose()[0]
    at = page("annotate.py").run()
    _ok(at)

    def toggle(label):
        return next(t for t in at.toggle if t.label == label)

    assert "Let the trained model help" not in [t.label for t in at.toggle]  # only with suggestions on
    toggle("Suggest labels as I paint").set_value(True).run()
    _ok(at)
    assert toggle("Let the trained model help").value is False  # off until the user lets it
    toggle("Let the trained model help").set_value(True).run()
    deadline = time.time() + 600
    while not any(f"the model of run {run.name}" in c.value for c in at.caption):
        assert time.time() < deadline, [c.value for c in at.caption]
        time.sleep(0.5)
        at.run()
        _ok(at)
    [said] = [c.value for c in at.caption if c.value.startswith("Suggestion learned from")]
    assert said.endswith(f"other labelled images and the model of run {run.name}.")
