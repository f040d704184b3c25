"""The Annotate page: the canvas, the current mask, starting from a prediction."""
import numpy as np

from page_helpers import page


def test_annotate_page_shows_canvas_and_mask(use_trained):
    at = page("2_Annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Current mask" in [s.value for s in at.subheader]
    assert "eraser (unlabelled)" in at.selectbox(key="ann_class").options
    # "start from prediction" writes a full mask with valid class values
    from seg_core import Workspace
    next(b for b in at.button if b.label.startswith("Start from")).click().run()
    assert not at.exception
    m = Workspace(use_trained).read_mask("tissue_00")
    assert m is not None and set(np.unique(m).tolist()) <= {0, 1, 2}
