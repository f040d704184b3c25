"""The per-image overview of a workspace: size, labelled, classes present, and each image's own problems."""
import io

import numpy as np
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.workspace.overview import image_overview


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def test_each_image_gets_exactly_its_own_problems(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.save_classes(ClassList(["background", "cell", "nucleus"]))
    for stem in ("cell", "cell2", "cell_3"):
        ws.add_image(f"{stem}.png", _png(np.zeros((12, 20, 3), np.uint8)))
    mask = np.full((12, 20), 255, np.uint8)
    mask[:2, :2] = 2
    ws.save_mask("cell", mask)
    (ws.masks_dir / "cell2.png").write_bytes(_png(np.zeros((5, 5), np.uint8)))  # wrong size
    (ws.images_dir / "broken.png").write_bytes(b"not a png")

    rows = {r.stem: r for r in image_overview(ws)}
    assert list(rows) == ["broken", "cell", "cell2", "cell_3"]
    cell = rows["cell"]
    assert (cell.size, cell.labelled, cell.classes_present, cell.problems) == ((12, 20), True, ["nucleus"], [])
    assert [p.message for p in rows["cell2"].problems] == ["mask is 5x5 but image cell2.png is 20x12"]
    assert rows["cell2"].labelled and rows["cell2"].classes_present == []
    assert [(p.severity, p.message) for p in rows["cell_3"].problems] == [
        ("warning", "no mask in masks/ (not labelled yet)")]
    assert rows["broken"].size is None
    assert any("cannot read image" in p.message for p in rows["broken"].problems)


def test_overview_reuses_a_scan_the_caller_has(tmp_path):
    ws = Workspace(tmp_path / "ws")  # the bundled sample
    ds = ws.scan()
    rows = image_overview(ws, ds)
    assert [r.stem for r in rows] == ws.stems() and sum(r.labelled for r in rows) == 10
    assert rows[0].classes_present == ["background", "cell", "nucleus"] and rows[0].size == (256, 256)


def test_each_image_has_a_state_and_the_states_are_counted(tmp_path):
    from seg_core.workspace.overview import STATES, image_state, image_states, state_counts
    from seg_core.workspace.review_state import set_reviewed

    assert [image_state(m, p, r) for m, p, r in [(False, False, False), (False, True, False), (True, True, True),
                                                 (True, False, False), (True, False, True), (False, False, True)]] \
        == ["unlabelled", "proposal", "proposal", "labelled", "reviewed", "unlabelled"]
    ws = Workspace(tmp_path / "ws")  # the sample: 10 labelled, 2 unlabelled
    ws.proposals.save("tissue_10", np.zeros((256, 256), np.uint8), "run1")  # unlabelled -> proposal
    ws.proposals.save("tissue_01", np.zeros((256, 256), np.uint8), "run1")
    ws.proposals.accept("tissue_01")  # labelled -> reviewed
    set_reviewed(ws.root, "tissue_02", True)  # "Mark as reviewed"
    set_reviewed(ws.root, "tissue_11", True)  # a stale mark on an image without a mask counts for nothing
    states = image_states(ws)
    assert [states[s] for s in ("tissue_00", "tissue_01", "tissue_02", "tissue_10", "tissue_11")] == [
        "labelled", "reviewed", "reviewed", "proposal", "unlabelled"]
    assert state_counts(states) == "12 images: 2 reviewed, 8 labelled, 1 proposal, 1 unlabelled"
    assert [r.state for r in image_overview(ws)] == list(states.values()) and set(states.values()) <= set(STATES)
    ws.clear_mask("tissue_02")  # erased away: the mark goes with the mask
    set_reviewed(ws.root, "tissue_11", False)
    ws.save_mask("tissue_02", np.zeros((256, 256), np.uint8))
    assert image_states(ws)["tissue_02"] == "labelled"
    assert state_counts({}) == "0 images" and state_counts({"a": "labelled"}) == "1 image: 1 labelled"
