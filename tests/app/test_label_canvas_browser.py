"""The label canvas (label_canvas/) in a real browser: a test-only app (tests/app/canvas_app.py) on a streamlit
server, headless Chromium (Playwright, system chromium). Zoom, paint, number keys, undo and redo, pan, fill,
polygon and eraser; each edit is found in the saved mask at full resolution where it was drawn."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segapp.harness import streamlit_app
from seg_core.base.classes import ClassList
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace.workspace import Workspace

BIG = 2048  # a slice the old 640 px canvas showed at 1/3 scale


@pytest.fixture(scope="module")
def app(chromium, tmp_path_factory):
    """The canvas app on a workspace with a 2048x2048 and a 400x300 image; yields (url, workspace, log)."""
    folder = tmp_path_factory.mktemp("canvas")
    ws = Workspace(folder / "ws", seed_sample=False)
    ws.save_classes(ClassList(["background", "cell", "nucleus"]))
    yy, xx = np.mgrid[0:BIG, 0:BIG]
    big = np.stack([xx % 256, yy % 256, (xx // 256 + yy // 256) * 16], -1).astype(np.uint8)
    Image.fromarray(big).save(ws.images_dir / "slice.png")
    Image.fromarray(np.full((300, 400, 3), 200, np.uint8)).save(ws.images_dir / "small.png")
    log = folder / "saves.jsonl"
    server_log = folder / "server.log"
    with streamlit_app(ws.root, server_log, script="tests/app/canvas_app.py", env={"CANVAS_LOG": str(log)}) as url:
        yield url, ws, log
    print(server_log.read_text()[-3000:])


@pytest.fixture
def page(app, browser_page):
    return browser_page


def _saves(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _wait_saves(log: Path, n: int, timeout: float = 30) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        saves = _saves(log)
        if len(saves) >= n:
            return saves
        time.sleep(0.1)
    raise AssertionError(f"{n} saves expected, got {_saves(log)}")


def _open(page, url: str, stem: str):
    page.goto(f"{url}/?stem={stem}")
    view = page.locator(".lc-view")
    view.wait_for()
    deadline = time.time() + 60
    while view.get_attribute("data-ready") != "1":
        assert time.time() < deadline, "the image and labels did not load"
        page.wait_for_timeout(100)
    return view


class Screen:
    """Image coordinates to page coordinates through the canvas's view transform."""

    def __init__(self, view):
        box = view.bounding_box()
        self.x, self.y = box["x"], box["y"]
        self.s = float(view.get_attribute("data-scale"))
        self.tx, self.ty = float(view.get_attribute("data-tx")), float(view.get_attribute("data-ty"))

    def __call__(self, ix: float, iy: float) -> tuple[float, float]:
        return self.x + self.tx + ix * self.s, self.y + self.ty + iy * self.s

    def image(self, px: float, py: float) -> tuple[float, float]:
        """The image point under page point (px, py)."""
        return (px - self.x - self.tx) / self.s, (py - self.y - self.ty) / self.s


def _mask(ws: Workspace, stem: str, shape) -> np.ndarray:
    m = ws.read_mask(stem)
    return np.full(shape, UNLABELLED, np.uint8) if m is None else m


def test_zoom_paint_a_class_by_its_key_undo_and_redo_at_full_resolution(app, page):
    url, ws, log = app
    n0 = len(_saves(log))
    view = _open(page, url, "slice")
    fit = float(view.get_attribute("data-scale"))
    assert fit < 0.5  # 2048 px in a 600 px high view
    # zoom in with the wheel around the cursor: the image point under it stays put
    scr = Screen(view)
    cursor = [round(v) for v in scr(1005, 1000)]
    page.mouse.move(*cursor)
    while float(view.get_attribute("data-scale")) < 4:
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(50)
    zoomed = Screen(view)
    assert zoomed.s >= 4
    assert np.allclose(zoomed.image(*cursor), scr.image(*cursor), atol=0.01)
    # key 2 picks the second class; [ makes the brush smaller: 9 -> 3 image pixels
    page.keyboard.press("2")
    assert page.locator(".lc-class[data-cls='1']").get_attribute("aria-checked") == "true"
    for _ in range(6):
        page.keyboard.press("[")
    assert page.locator(".lc-size").input_value() == "3"
    # a short stroke along image row 1000, pixels 1000..1010
    page.mouse.move(*zoomed(1000.5, 1000.5))
    page.mouse.down()
    for x in range(1001, 1011):
        page.mouse.move(*zoomed(x + 0.5, 1000.5), steps=2)
    page.mouse.up()
    save = _wait_saves(log, n0 + 1)[-1]
    assert save["patches"][0]["kind"] == "brush" and save["patches"][0]["values"] == [1]
    assert save["patches"][0]["box"] == [999, 999, 1012, 1002]  # 3 px brush: one pixel either side
    m = _mask(ws, "slice", (BIG, BIG))
    assert m.shape == (BIG, BIG)
    assert (m[999:1002, 999:1012] == 1).all() and (m != UNLABELLED).sum() == 3 * 13
    # undo (Ctrl+Z) takes it back out of the saved mask; redo (Ctrl+Shift+Z) puts it back
    page.keyboard.press("Control+z")
    assert _wait_saves(log, n0 + 2)[-1]["patches"][0]["kind"] == "undo"
    assert (_mask(ws, "slice", (BIG, BIG)) == UNLABELLED).all()
    page.keyboard.press("Control+Shift+Z")
    assert _wait_saves(log, n0 + 3)[-1]["patches"][0]["kind"] == "redo"
    assert np.array_equal(_mask(ws, "slice", (BIG, BIG)), m)
    # pan with space+drag: the view moves, nothing is painted
    before = Screen(view)
    page.keyboard.down(" ")
    page.mouse.move(*before(1020, 1010))
    page.mouse.down()
    page.mouse.move(before(1020, 1010)[0] - 120, before(1020, 1010)[1] - 80, steps=4)
    page.mouse.up()
    page.keyboard.up(" ")
    after = Screen(view)
    assert abs(after.tx - before.tx + 120) < 2 and abs(after.ty - before.ty + 80) < 2
    page.wait_for_timeout(500)
    assert len(_saves(log)) == n0 + 3
    assert view.get_attribute("data-pending") == "0"


def test_fill_polygon_and_eraser(app, page):
    url, ws, log = app
    n0 = len(_saves(log))
    view = _open(page, url, "small")
    scr = Screen(view)
    # polygon (P): a rectangle of pixels 100..199 x 50..119 in class 3 (key 3), closed with Enter
    page.mouse.move(*scr(150, 100))  # keys act while the pointer is over the canvas (or it has the focus)
    page.keyboard.press("p")
    page.keyboard.press("3")
    assert page.locator("button[data-tool='polygon']").get_attribute("class") == "lc-on"
    for x, y in [(100, 50), (200, 50), (200, 120), (100, 120)]:
        page.mouse.click(*scr(x, y))
    page.keyboard.press("Enter")
    p = _wait_saves(log, n0 + 1)[-1]["patches"][0]
    assert p["kind"] == "polygon" and p["values"] == [2] and p["box"] == [100, 50, 200, 120]
    m = _mask(ws, "small", (300, 400))
    assert (m[50:120, 100:200] == 2).all() and (m != UNLABELLED).sum() == 100 * 70
    # fill (G) in class 1 (key 1) outside the rectangle: every unlabelled pixel, the rectangle stays
    page.keyboard.press("g")
    page.keyboard.press("1")
    page.mouse.click(*scr(10, 10))
    p = _wait_saves(log, n0 + 2)[-1]["patches"][0]
    assert p["kind"] == "fill" and p["values"] == [0] and p["pixels"] == 400 * 300 - 100 * 70
    m = _mask(ws, "small", (300, 400))
    assert (m[50:120, 100:200] == 2).all() and (m == 0).sum() == 400 * 300 - 100 * 70
    # eraser (E), 9 px: a dab at (300, 200) is unlabelled again
    page.keyboard.press("e")
    page.mouse.click(*scr(300.5, 200.5))
    p = _wait_saves(log, n0 + 3)[-1]["patches"][0]
    assert p["kind"] == "eraser" and p["values"] == [UNLABELLED] and p["box"] == [296, 196, 305, 205]
    m = _mask(ws, "small", (300, 400))
    assert m[200, 300] == UNLABELLED and m[196, 300] == UNLABELLED and m[196, 296] == 0  # a disc, not a square
    # the label layer's opacity changes live in the browser (the shown pixel moves towards the class's
    # colour), without a save
    nucleus = np.array(ws.classes().colours[2], float)
    shown = lambda: np.array(page.locator(".lc-main").evaluate(  # noqa: E731
        "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [round(scr.tx + 150 * scr.s), round(scr.ty + 85 * scr.s)]), float)
    before = shown()
    page.locator(".lc-opacity").fill("0.9")
    page.wait_for_timeout(300)
    after = shown()
    assert np.abs(after - nucleus).sum() < np.abs(before - nucleus).sum() - 50, (before, after, nucleus)
    assert len(_saves(log)) == n0 + 3


def test_in_a_fragment_an_edit_reruns_only_the_fragment(app, page):
    """The Annotate page can put the canvas and its save in an st.fragment: an edit then reruns only that."""
    url, ws, log = app
    n0 = len(_saves(log))
    page.goto(f"{url}/?stem=small&fragment=1")
    view = page.locator(".lc-view")
    view.wait_for()
    while view.get_attribute("data-ready") != "1":
        page.wait_for_timeout(100)
    scr = Screen(view)
    for k in range(3):
        page.mouse.click(*scr(20.5 + 20 * k, 250.5))
        _wait_saves(log, n0 + k + 1)
    saves = _saves(log)[n0:]
    assert [s["patches"][0]["seq"] for s in saves] == [1, 2, 3] and all(s["fragment"] for s in saves)
    assert len({s["script_runs"] for s in saves}) == 1  # the whole script did not run again
    m = _mask(ws, "small", (300, 400))
    assert m[250, 20] == m[250, 40] == m[250, 60] == 0
