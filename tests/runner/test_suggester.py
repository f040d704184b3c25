"""Suggestions while labelling, built on a worker thread (``seg_core.runner.suggestions``): a workspace image's
suggestion before its first stroke (from the other labelled images), after strokes (painted pixels kept), only
the newest request answered, the suggester kept while only this image's mask changes and made anew when another
mask changes."""
import io
import threading
import time

import numpy as np
from PIL import Image

from seg_core.runner import suggestions
from seg_core.runner.suggestions import Suggester, suggester
from seg_core.workspace.workspace import Workspace
from tests.assist.assist_images import UNPAINTED, strokes, two_regions


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _workspace(tmp_path, n: int = 3) -> Workspace:
    """Images of a blue disc on orange ground (disc = class 1), the first n - 1 labelled, the last not."""
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    for i in range(n):
        img, truth = two_regions(seed=i)
        ws.add_image(f"disc{i}.png", _png(img))
        if i < n - 1:
            ws.save_mask(f"disc{i}", truth)
    return ws


def test_a_new_image_gets_a_suggestion_from_the_other_masks_before_its_first_stroke(tmp_path):
    ws = _workspace(tmp_path)
    stem = "disc2"
    img, truth = two_regions(seed=2)
    sg = suggester(ws, stem, ws.read_image(stem), 2, "v1")
    sg.request(np.full(truth.shape, UNPAINTED, np.uint8), "none")
    got = sg.wait("none", timeout=600)
    assert got is not None and got.version == "none" and got.examples == 2 and got.painted == 0
    assert got.mask.shape == truth.shape and (got.mask == truth).mean() > 0.9
    assert got.unsure is not None and got.unsure.shape == truth.shape and got.unsure.mean() < 0.3


def test_strokes_are_kept_and_the_rest_follows_them(tmp_path):
    img, truth = two_regions(seed=3)
    sg = Suggester(img, 2, lambda: [], "disc")
    labels = strokes(truth.shape)
    sg.request(labels, 1)
    got = sg.wait(1, timeout=600)
    painted = labels != UNPAINTED
    assert (got.mask[painted] == labels[painted]).all() and got.painted == int(painted.sum())
    assert (got.mask == truth).mean() > 0.9
    assert not got.unsure[painted].any()  # painted pixels are never "least sure"


def test_only_the_newest_request_is_answered(tmp_path):
    img, truth = two_regions(seed=4)
    gate = threading.Event()
    sg = Suggester(img, 2, lambda: gate.wait(600) and [], "disc")  # the build waits until the gate opens
    labels = strokes(truth.shape)
    for version in range(1, 6):  # five edits while the suggester is busy
        sg.request(labels, version)
    gate.set()
    got = sg.wait(5, timeout=600)
    assert got.version == 5 and got.serial == 1  # the four older ones were dropped, not queued
    sg.request(labels, 5)  # asking again for the same labels costs nothing
    time.sleep(0.5)
    assert sg.latest().serial == 1


def test_the_suggester_lives_while_only_its_own_mask_changes(tmp_path, monkeypatch):
    ws = _workspace(tmp_path)
    img = ws.read_image("disc2")
    first = suggester(ws, "disc2", img, 2, "v1")
    ws.save_mask("disc2", np.zeros(img.shape[:2], np.uint8))  # painting this image
    assert suggester(ws, "disc2", img, 2, "v1") is first
    time.sleep(0.02)
    ws.save_mask("disc0", np.ones(img.shape[:2], np.uint8))  # another image's labels changed: learn again
    again = suggester(ws, "disc2", img, 2, "v1")
    assert again is not first
    assert suggester(ws, "disc2", img, 2, "v2") is not again  # the image file changed


def test_a_damaged_example_is_skipped_and_a_failed_build_says_why(tmp_path):
    ws = _workspace(tmp_path)
    (ws.masks.path("disc0")).write_bytes(b"not a png")
    sg = suggester(ws, "disc2", ws.read_image("disc2"), 2, "v1")
    sg.request(np.full((64, 80), UNPAINTED, np.uint8), 0)
    assert sg.wait(0, timeout=600).examples == 1  # learned from disc1 only
    bad = Suggester(np.zeros((4, 4, 5), np.uint8), 2, lambda: [], "flat.png")  # five channels: no image
    bad.request(np.full((4, 4), UNPAINTED, np.uint8), 0)
    assert bad.wait(0, timeout=60) is None
    assert bad.error.startswith("flat.png: no suggestions for this image, because the image is not a grey or colour")


def test_few_suggesters_are_kept(tmp_path):
    ws = _workspace(tmp_path, n=suggestions.KEPT + 2)
    made = [suggester(ws, s, ws.read_image(s), 2, "v") for s in ws.stems()]
    assert len(suggestions._KEPT) <= suggestions.KEPT
    assert made[0]._closed and not made[-1]._closed


def test_a_wait_for_a_suggestion_ends_when_the_page_has_a_newer_edit():
    img, truth = two_regions(seed=4)
    gate = threading.Event()
    sg = Suggester(img, 2, lambda: gate.wait(600) and [], "disc")  # busy until the gate opens
    sg.request(strokes(truth.shape), 1)
    asked = []

    def newer_edit():  # the page: a new stroke came on the third look
        asked.append(1)
        return len(asked) >= 3

    assert sg.wait(1, timeout=600, stop=newer_edit, step=0.01) is None  # nothing yet: the wait gave up
    assert len(asked) == 3  # at once when told, not at the timeout
    gate.set()
    assert sg.wait(1, timeout=600, stop=lambda: False).version == 1


def test_a_trained_run_lends_its_prediction_and_is_named(trained_ws):
    ws = Workspace(trained_ws)
    run = ws.runs_to_propose()[0]
    stem = ws.stems()[0]
    img = ws.read_image(stem)
    n = len(ws.classes().names)
    sg = suggester(ws, stem, img, n, "v", run)
    assert suggester(ws, stem, img, n, "v", None) is not sg  # with and without the model: two suggesters
    sg.request(np.full(img.shape[:2], UNPAINTED, np.uint8), "none")
    got = sg.wait("none", timeout=600)
    assert sg.error is None and got is not None and got.run == run.name
    assert got.mask.shape == img.shape[:2] and got.mask.max() < n
