"""Two browser sessions (two Chromium contexts: two users, or two tabs with separate sessions) painting the
same mask on the Annotate page: each save lays only that canvas's edits onto the file as it is then, so no
stroke is lost; a canvas whose file changed elsewhere shows the file again; an undo takes back only its own
pixels (another session's later paint there stays); a Clear in one is not undone by the other."""
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segapp.harness import CanvasView, launch_chromium, streamlit_app
from tests.app.page_helpers import app_settled

UNLABELLED = 255


@pytest.fixture(scope="module")
def app(chromium, tmp_path_factory):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a loaded CI machine answers slowly, not wrongly
    root = tmp_path_factory.mktemp("e2e2")
    with streamlit_app(root / "ws", root / "streamlit.log") as url:
        yield url, root / "ws"
    print((root / "streamlit.log").read_text()[-3000:])


def _open(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/annotate")
    CanvasView(page)
    _settled(page)
    return page


def _open_cleared(browser, url, mask):
    """An Annotate page on tissue_00 after its Clear (the mask file gone, the cleared mask kept as a backup)."""
    from playwright.sync_api import expect

    page = _open(browser, url)
    page.get_by_role("button", name="Clear mask (all unlabelled)").click()
    _wait_for(mask, lambda m: m is None)
    expect(page.get_by_role("button", name="Restore the previous mask")).to_be_visible()  # kept as a backup
    _settled(page)
    return page


def _settled(page):
    """Wait until the app has finished its runs (the header's Stop button goes away) and the canvas loaded."""
    app_settled(page)
    CanvasView(page)
    page.wait_for_timeout(300)


def _stroke(page, row, key="1"):
    """A horizontal brush stroke (9 px) along image row ``row``, in the class of number key ``key``."""
    view = CanvasView(page)
    page.mouse.move(*view(20.5, row + 0.5))
    page.keyboard.press(key)
    view.stroke([(x + 0.5, row + 0.5) for x in range(20, 237, 8)])


def _shows(page, x, y) -> str:
    """What the session's canvas shows at image pixel (x, y) (its status line under the pointer)."""
    view = CanvasView(page)
    page.mouse.move(*view(x + 0.5, y + 0.5))
    page.wait_for_timeout(100)
    return page.locator(".lc-pos").inner_text()


def _wait_for(path: Path, condition, timeout=120.0):
    deadline = time.time() + timeout
    m = None
    while time.time() < deadline:
        try:
            m = np.array(Image.open(path)) if path.exists() else None
        except (OSError, ValueError):  # being replaced
            continue
        if condition(m):
            return m
        time.sleep(0.3)
    raise AssertionError(f"{path.name}: condition not met within {timeout} s; rows painted: "
                         f"{[] if m is None else sorted(set(np.nonzero(m != UNLABELLED)[0].tolist()))}")


def _painted(m, row, value=0):
    return m is not None and (m[row, 40:200] == value).all()


def _untouched(m, row):
    return m is None or (m[row, 40:200] == UNLABELLED).all()


def test_two_sessions_painting_one_mask_lose_no_stroke(app):
    from playwright.sync_api import sync_playwright

    url, ws = app
    mask = ws / "data" / "masks" / "tissue_00.png"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            a = _open_cleared(browser, url, mask)
            b = _open(browser, url)  # both now show tissue_00 without labels

            _stroke(a, 16)  # A paints row 16 (class 0, background)
            _wait_for(mask, lambda m: _painted(m, 16))
            _stroke(b, 160)  # B, whose canvas opened before A's stroke, paints row 160
            _wait_for(mask, lambda m: _painted(m, 16) and _painted(m, 160))  # A's stroke survived B's save
            _settled(b)
            assert _shows(b, 100, 16).endswith("background")  # B's canvas shows the file again: A's row too
            _stroke(b, 100)  # B paints row 100 …
            _wait_for(mask, lambda m: _painted(m, 100))
            view = CanvasView(a)
            a.mouse.move(*view(128.5, 90.5))
            a.keyboard.press("3")  # … and A paints a nucleus (value 2) across it, at column 128
            view.stroke([(128.5, y + 0.5) for y in range(90, 111)])
            m = _wait_for(mask, lambda m: m is not None and (m[90:111, 128] == 2).all())
            assert _painted(m, 16) and _painted(m, 160), "a stroke of the other session was lost"
            _settled(a)
            assert _shows(a, 60, 160).endswith("background")  # A's canvas shows B's strokes now

            b.get_by_role("button", name="Undo", exact=True).click()  # B takes back its row 100 only
            m = _wait_for(mask, lambda m: m is not None and (m[100, 40:120] == UNLABELLED).all())
            assert (m[100, 126:131] == 2).all(), "B's undo took back A's later paint"
            assert _painted(m, 16) and _painted(m, 160), "B's undo took other strokes"

            a.get_by_role("button", name="Clear mask (all unlabelled)").click()  # A clears …
            _wait_for(mask, lambda m: m is None)
            _settled(b)
            _stroke(b, 208)  # … and B's next stroke must not bring anything back
            m = _wait_for(mask, lambda m: _painted(m, 208))
            assert (m[:200] == UNLABELLED).all(), "the Clear in A was undone by B's stroke"
        finally:
            browser.close()


def test_strokes_survive_leaving_the_page_and_quick_succession(app):
    """A canvas shown again (back from another page) starts from the saved file: it never takes back the
    strokes it had saved; strokes drawn in quick succession are all saved."""
    from playwright.sync_api import expect, sync_playwright

    url, ws = app
    mask = ws / "data" / "masks" / "tissue_00.png"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            a = _open_cleared(browser, url, mask)
            for row in (16, 32, 48):  # no waiting between strokes
                _stroke(a, row)
            _wait_for(mask, lambda m: all(_painted(m, row) for row in (16, 32, 48)))
            a.get_by_role("link", name="Data").click()
            expect(a.get_by_role("heading", name="Data")).to_be_visible()
            a.get_by_role("link", name="Annotate").click()
            _settled(a)
            _stroke(a, 120)
            _wait_for(mask, lambda m: _painted(m, 120))
            a.wait_for_timeout(1500)
            m = _wait_for(mask, lambda m: _painted(m, 120))
            assert all(_painted(m, row) for row in (16, 32, 48)), "coming back to the page took strokes back"
        except Exception:
            a.screenshot(path=str(ws.parent / "failure.png"), full_page=True)
            print(f"screenshot: {ws.parent / 'failure.png'}")
            raise
        finally:
            browser.close()
