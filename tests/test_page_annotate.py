"""The Annotate page: the canvas, the current mask, a run's prediction as a proposal, damaged files."""
import numpy as np

from page_helpers import page


def test_annotate_page_shows_canvas_and_mask(use_trained):
    at = page("2_Annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Current mask" in [s.value for s in at.subheader]
    assert "eraser (unlabelled)" in at.selectbox(key="ann_class").options


def test_a_prediction_is_a_proposal_accepted_with_a_backup_that_restores(use_trained):
    from seg_core import Workspace

    ws = Workspace(use_trained)
    before = ws.read_mask("tissue_00")
    at = page("2_Annotate.py").run()
    next(b for b in at.button if b.label.startswith("Start from")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Proposal: the prediction of run" in i.value for i in at.info)
    assert np.array_equal(ws.read_mask("tissue_00"), before)  # nothing changed yet
    next(b for b in at.button if b.label == "Discard the proposal").click().run()
    assert not any("Proposal" in i.value for i in at.info) and np.array_equal(ws.read_mask("tissue_00"), before)

    next(b for b in at.button if b.label.startswith("Start from")).click().run()
    next(b for b in at.button if b.label.startswith("Accept")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    m = ws.read_mask("tissue_00")
    assert m is not None and set(np.unique(m).tolist()) <= {0, 1, 2} and not np.array_equal(m, before)
    assert len(ws.mask_backups("tissue_00")) == 1
    next(b for b in at.button if b.label == "Restore the previous mask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert np.array_equal(ws.read_mask("tissue_00"), before)  # the hand-painted mask is back
    assert not any(b.label == "Restore the previous mask" for b in at.button)


def test_no_proposal_from_a_run_still_training(fresh_ws, trained_ws):
    import json
    import os
    import shutil

    from seg_core import Workspace

    ws = Workspace(fresh_ws)
    run = Workspace(trained_ws).runs()[0]
    shutil.copytree(run.path, ws.runs_dir / run.name)
    status = ws.runs_dir / run.name / "status.json"
    status.write_text(json.dumps({"state": "running", "pid": os.getpid(), "host": os.uname().nodename}))
    at = page("2_Annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(b for b in at.button if b.label.startswith("Start from")).disabled
    status.write_text(json.dumps({"state": "running", "pid": 2 ** 22 + 12345, "host": os.uname().nodename}))
    at.run()  # its process is gone: interrupted, its best checkpoint final
    assert not next(b for b in at.button if b.label.startswith("Start from")).disabled
