"""Assisted labelling in a real browser (the real app, headless Chromium), on the sample with three labelled
images and an unlabelled one: a suggestion shows before the first stroke, follows two strokes and becomes the
mask on Accept (painted pixels kept, the old mask restorable); Fill takes it only where nothing is painted; a
click labels the object under it (undo takes it back) and a dragged box the object inside it; two tabs with
suggestions on keep each other's strokes."""
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from tests.app.page_helpers import read_png, wait_for_png
from segapp.harness import CanvasView, streamlit_app
from seg_core.workspace.review_state import review_marks
from seg_core.workspace.workspace import Workspace

STEM = "tissue_00"  # the Annotate page opens the first image
SHOTS = Path("/tmp/shots_suggestions")


@pytest.fixture(scope="module")
def app(chromium, tmp_path_factory):
    """The app on the sample with tissue_01..03 labelled and the rest not; yields (url, workspace, truth)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    root = tmp_path_factory.mktemp("e2e_suggest")
    ws = Workspace(root / "ws")
    truth = ws.read_mask(STEM)
    for stem in ws.stems():
        if stem not in ("tissue_01", "tissue_02", "tissue_03"):
            ws.masks.clear(stem)
    with streamlit_app(root / "ws", root / "streamlit.log") as url:
        yield url, ws, truth
    print((root / "streamlit.log").read_text()[-3000:])


@pytest.fixture
def page(browser_page, monkeypatch):
    monkeypatch.setenv("SHOTS_DIR", str(SHOTS))
    return browser_page


def _suggestion_after(page, view: CanvasView, before: str, timeout: float = 600) -> str:
    """Wait until the canvas shows a suggestion other than ``before``; its id."""
    deadline = time.time() + timeout
    while (now := view.view.get_attribute("data-suggestion") or "") in ("", before):
        assert time.time() < deadline, "no (new) suggestion arrived"
        page.wait_for_timeout(100)
    return now


def _centre_of(truth: np.ndarray, value: int, nth: int = 0) -> tuple[int, int]:
    """(x, y) deep inside the nth largest region of ``value``."""
    lab, n = ndimage.label(truth == value)
    sizes = ndimage.sum(np.ones_like(lab), lab, range(1, n + 1))
    k = int(np.argsort(-sizes)[nth]) + 1
    dist = ndimage.distance_transform_edt(lab == k)
    y, x = np.unravel_index(dist.argmax(), dist.shape)
    return int(x), int(y)


def _stroke(page, view, value: int, x: int, y: int, length: int = 6) -> None:
    page.mouse.move(*view(x + 0.5, y + 0.5))
    page.keyboard.press(str(value + 1))
    view.stroke([(x + 0.5 + k, y + 0.5) for k in range(length)])


def test_suggest_accept_restore_and_fill(app, page):
    from playwright.sync_api import expect

    url, ws, truth = app
    mask = ws.masks.path(STEM)
    page.goto(f"{url}/annotate")
    view = CanvasView(page, timeout=120)
    page.get_by_text("Suggest labels as I paint").click()  # off until the user asks for it
    first = _suggestion_after(page, view, "")  # from the three labelled images, before any stroke
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "suggestion_first.png"))
    assert read_png(mask) is None  # a suggestion is not a label

    (cx, cy), (bx, by) = _centre_of(truth, 1), _centre_of(truth, 0)
    _stroke(page, view, 1, cx - 2, cy)
    _stroke(page, view, 0, bx - 2, by)
    painted = wait_for_png(mask, lambda m: m is not None and (m[by, bx:bx + 4] == 0).all()
                           and (m[cy, cx:cx + 4] == 1).all(), timeout=600)
    _suggestion_after(page, view, first)
    accept = page.get_by_role("button", name="Accept the suggestion")
    expect(accept).to_be_enabled(timeout=600_000)
    page.screenshot(path=str(SHOTS / "suggestion_two_strokes.png"))
    accept.click()
    # accepted: marked reviewed, like an accepted proposal (the mark is written just after the mask)
    m = wait_for_png(mask, lambda m: m is not None and not (m == 255).any() and STEM in review_marks(ws.root),
                     timeout=600)
    assert (m[painted != 255] == painted[painted != 255]).all()  # every painted pixel kept
    assert len(np.unique(m)) >= 2 and (m == truth).mean() > 0.6  # the suggestion's classes, not one colour

    page.get_by_role("button", name="Restore the previous mask").click()
    wait_for_png(mask, lambda m: m is not None and (m == painted).all(), timeout=600)  # the painted strokes again
    view = CanvasView(page, timeout=120)
    fill = page.get_by_role("button", name="Fill the unlabelled pixels from it")
    expect(fill).to_be_enabled(timeout=600_000)
    fill.click()
    m = wait_for_png(mask, lambda m: m is not None and not (m == 255).any(), timeout=600)
    assert (m[painted != 255] == painted[painted != 255]).all()
    page.get_by_text("Least sure").click()  # where to paint next: a layer of its own, no rerun
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "suggestion_least_sure.png"))


def test_a_click_labels_the_object_under_it_and_a_box_the_object_inside(app, page):
    url, ws, truth = app
    mask = ws.masks.path(STEM)
    ws.replace_mask(STEM, None, "clear")
    page.goto(f"{url}/annotate")
    view = CanvasView(page, timeout=120)
    x, y = _centre_of(truth, 2)  # a nucleus
    page.mouse.move(*view(x + 0.5, y + 0.5))
    page.keyboard.press("3")
    page.keyboard.press("o")
    page.mouse.click(*view(x + 0.5, y + 0.5))
    m = wait_for_png(mask, lambda m: m is not None and m[y, x] == 2, timeout=600)
    nucleus = ndimage.label(truth == 2)[0]
    mine = nucleus == nucleus[y, x]
    got = m == 2
    assert (got & mine).sum() / (got | mine).sum() > 0.5  # that nucleus, not the whole image
    page.keyboard.press("Control+z")  # undo takes the object back like any edit
    wait_for_png(mask, lambda m: m is None or not (m == 2).any(), timeout=600)

    lab = ndimage.label(truth == 1)[0]
    x, y = _centre_of(truth, 1)
    rows, cols = np.nonzero(lab == lab[y, x])
    r0, r1, c0, c1 = rows.min() - 3, rows.max() + 4, cols.min() - 3, cols.max() + 4
    page.keyboard.press("2")
    page.keyboard.press("r")
    page.mouse.move(*view(c0, r0))
    page.mouse.down()
    page.mouse.move(*view(c1, r1), steps=5)
    page.mouse.up()
    m = wait_for_png(mask, lambda m: m is not None and (m == 1).any(), timeout=600)
    got = m == 1
    assert not got[:max(0, r0)].any() and not got[r1:].any() and not got[:, :max(0, c0)].any()  # inside the box
    assert got[y, x] or (got & (lab == lab[y, x])).sum() > 0.5 * (lab == lab[y, x]).sum()


def test_two_tabs_with_suggestions_on_keep_each_others_strokes(app, page):
    """Two sessions on one image, both suggesting: each stroke is saved onto the file as it then is (the
    suggestion's work in either tab delays and drops none), and each tab's suggestion moves on after them."""
    url, ws, truth = app
    mask = ws.masks.path(STEM)
    ws.replace_mask(STEM, None, "clear")
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    other.set_default_timeout(60_000)
    tabs = []
    for tab in (page, other):
        tab.goto(f"{url}/annotate")
        view = CanvasView(tab, timeout=120)
        tab.get_by_text("Suggest labels as I paint").click()
        tabs.append((tab, view, _suggestion_after(tab, view, "")))
    (a, view_a, first_a), (b, view_b, first_b) = tabs
    (cx, cy), (bx, by) = _centre_of(truth, 1), _centre_of(truth, 0)
    _stroke(a, view_a, 1, cx - 2, cy)  # A paints inside a cell, B (opened before it) the background
    _stroke(b, view_b, 0, bx - 2, by)
    both = wait_for_png(mask, lambda m: m is not None and (m[cy, cx:cx + 4] == 1).all()
                        and (m[by, bx:bx + 4] == 0).all(), timeout=600)
    assert ((both != 255).sum(axis=1) > 0).sum() >= 2  # two strokes' rows, neither lost
    _stroke(a, view_a, 0, bx - 2, by + 8)  # A again, after B's stroke: B's stays
    m = wait_for_png(mask, lambda m: m is not None and (m[by + 8, bx:bx + 4] == 0).all(), timeout=600)
    assert (m[cy, cx:cx + 4] == 1).all() and (m[by, bx:bx + 4] == 0).all(), "a stroke of the other tab was lost"
    for tab, view, first in ((a, view_a, first_a), (b, view_b, first_b)):
        _suggestion_after(tab, view, first)  # each tab's suggestion moved on from the one before the strokes
    other.context.close()
