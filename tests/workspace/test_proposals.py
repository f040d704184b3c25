"""Proposals: a run's prediction kept on disk, corrected with canvas edits, accepted (the mask, backed up,
reviewed) or rejected (to the trash); never read as a label by training."""
import io

import numpy as np
import pytest
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.data.dataset import scan_dataset
from seg_core.workspace.label_patches import make_patch
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.proposals import best_run
from seg_core.workspace.review_state import is_reviewed
from seg_core.runs.config import TrainConfig
from seg_core.training.training_data import load_training_data


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(ClassList(["bg", "a", "b"]))
    for stem in ("s1", "s2"):
        (w.images_dir / f"{stem}.png").write_bytes(_png(np.zeros((4, 6, 3), np.uint8)))
    return w


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def test_a_proposal_is_kept_on_disk_and_edited_like_a_mask(ws):
    pred = np.ones((4, 6), np.uint8)
    ws.proposals.save("s1", pred, "20261125-run1")
    assert ws.proposals.stems() == {"s1"} and ws.read_mask("s1") is None  # the mask is untouched
    again = Workspace(ws.root, seed_sample=False)  # a server restart reads it back
    assert again.proposals.get("s1").run == "20261125-run1" and np.array_equal(again.proposals.read("s1"), pred)
    fix = make_patch(0, 0, np.full((1, 6), 2, np.uint8), before=np.ones((1, 6), np.uint8), kind="brush", sid="x",
                     seq=1)
    res = ws.proposals.save_patches("s1", [fix], (4, 6))
    assert res.changed == 6
    assert (ws.proposals.read("s1")[0] == 2).all() and (ws.proposals.read("s1")[1:] == 1).all()
    with pytest.raises(ValueError, match=r"s1.png: the patch sets values \[7\]"):
        ws.proposals.save_patches("s1", [make_patch(0, 0, np.full((1, 1), 7, np.uint8))], (4, 6))
    with pytest.raises(ValueError, match="s2: the prediction holds values \\[9\\]"):
        ws.proposals.save("s2", np.full((4, 6), 9, np.uint8), "r")


def test_accept_makes_the_corrected_proposal_the_mask_reviewed_and_restorable(ws):
    hand = np.full((4, 6), UNLABELLED, np.uint8)
    hand[0, 0] = 1
    ws.save_mask("s1", hand)
    ws.proposals.save("s1", np.zeros((4, 6), np.uint8), "run1")
    ws.proposals.save_patches("s1", [make_patch(2, 1, np.full((2, 2), 2, np.uint8), kind="brush", sid="x", seq=1)],
                          (4, 6))
    expected = np.zeros((4, 6), np.uint8)
    expected[1:3, 2:4] = 2
    ws.proposals.accept("s1")
    assert np.array_equal(ws.read_mask("s1"), expected) and is_reviewed(ws.root, "s1")
    assert ws.proposals.get("s1") is None and not ws.proposals.path("s1").with_suffix(".json").exists()
    with pytest.raises(FileNotFoundError, match="s1: no proposal to accept"):
        ws.proposals.accept("s1")  # a second click, or another tab accepted it
    ws.restore_mask("s1")  # the hand-painted mask comes back, not reviewed (it never was)
    assert np.array_equal(ws.read_mask("s1"), hand) and not is_reviewed(ws.root, "s1")
    with pytest.raises(FileNotFoundError, match="accepted or rejected elsewhere"):
        ws.proposals.save_patches("s1", [make_patch(0, 0, np.ones((1, 1), np.uint8))], (4, 6))


def test_reject_moves_the_proposal_to_the_trash_and_leaves_the_mask(ws):
    ws.save_mask("s1", np.zeros((4, 6), np.uint8))
    ws.proposals.save("s1", np.ones((4, 6), np.uint8), "run1")
    ws.proposals.save("s1", np.full((4, 6), 2, np.uint8), "run2")  # proposing again: the first to the trash
    where = ws.proposals.reject("s1")
    assert where.is_file() and where.relative_to(ws.root / "trash").parts[1:] == ("proposals", "s1.png")
    trashed = (ws.root / "trash").glob("*_s1*/proposals/*")  # each proposal in a trash folder of its own
    assert sorted(p.suffix for p in trashed) == [".json", ".json", ".png", ".png"]
    assert (ws.read_mask("s1") == 0).all() and ws.proposals.stems() == set()
    assert ws.proposals.reject("s1") is None  # nothing left: harmless


def test_removing_an_image_takes_its_proposal_and_reviewed_mark_along(ws):
    ws.save_mask("s1", np.zeros((4, 6), np.uint8))
    ws.proposals.save("s1", np.ones((4, 6), np.uint8), "run1")
    ws.proposals.accept("s1")
    ws.proposals.save("s1", np.ones((4, 6), np.uint8), "run1")
    where = ws.remove("s1")
    assert (where / "proposals" / "s1.png").is_file() and (where / "data/masks/s1.png").is_file()
    assert ws.proposals.stems() == set() and not is_reviewed(ws.root, "s1")


def test_training_never_reads_a_proposal_as_a_label(ws):
    ws.save_mask("s1", np.zeros((4, 6), np.uint8))
    ws.proposals.save("s2", np.ones((4, 6), np.uint8), "run1")  # s2 has a proposal, no mask
    for ds in (ws.scan(), scan_dataset(ws.data_dir)):  # the app, and `train --data <workspace>/data`
        assert [s.stem for s in ds.labelled] == ["s1"] and "s2" not in ds.class_pixels
    data = load_training_data(TrainConfig(data=str(ws.data_dir), out=str(ws.root / "runs" / "r"), val_fraction=0,
                                          require_masks=False))
    assert [s.stem for s in data.train + data.val] == ["s1"]


def test_the_best_run_is_proposed_by_default(tmp_path):
    class R:
        def __init__(self, name, miou):
            self.name, self.best_val_miou = name, miou

    newest, best, unscored = R("new", 0.4), R("best", 0.6), R("none", None)
    assert best_run([newest, unscored, best]) is best
    assert best_run([R("a", 0.5), R("b", 0.5)]).name == "a"  # equals: the newest (listed first)
    assert best_run([unscored]) is unscored and best_run([]) is None
