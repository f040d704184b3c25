"""Two browser sessions (two Chromium contexts: two users, or two tabs with separate sessions) painting
the same mask: each save adds only that canvas's strokes to the file as it is then, so no stroke is lost,
an undo takes back only its own canvas's stroke, and a Clear in one is not undone by the other."""
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_harness import launch_chromium, streamlit_app

SCALE = 640 / 256  # the Annotate canvas shows the 256x256 sample images 2.5x enlarged


@pytest.fixture(scope="module")
def app(chromium, tmp_path_factory):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a loaded CI machine answers slowly, not wrongly
    root = tmp_path_factory.mktemp("e2e2")
    with streamlit_app(root / "ws", root / "streamlit.log") as url:
        yield url, root / "ws"
    print((root / "streamlit.log").read_text()[-3000:])


def _open(browser, url):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/Annotate")
    expect(page.get_by_text("Current mask")).to_be_visible()
    expect(page.locator("canvas").last).to_be_visible()
    _settled(page)
    return page


def _settled(page):
    """Wait until the app has finished its runs (the header's Stop button goes away) and the canvas mounted."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden(timeout=60_000)
    page.wait_for_timeout(700)


def _stroke(page, y):
    """A horizontal brush stroke across the canvas at canvas height ``y`` (image row y / SCALE)."""
    canvas = page.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + y)
    page.mouse.down()
    for x in range(60, 600, 30):
        page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.up()


def _row(y):
    return int(round(y / SCALE))


def _wait_for(path: Path, condition, timeout=30.0):
    deadline = time.time() + timeout
    m = None
    while time.time() < deadline:
        m = np.array(Image.open(path)) if path.exists() else None
        if condition(m):
            return m
        time.sleep(0.3)
    raise AssertionError(f"{path.name}: condition not met within {timeout} s; rows painted: "
                         f"{[] if m is None else sorted(set(np.nonzero(m != 255)[0].tolist()))}")


def _painted(m, y):
    return m is not None and (m[_row(y), 40:200] == 0).all()


def _untouched(m, y):
    return m is None or (m[_row(y), 40:200] == 255).all()


def test_two_sessions_painting_one_mask_lose_no_stroke(app):
    from playwright.sync_api import expect, sync_playwright

    url, ws = app
    mask = ws / "data" / "masks" / "tissue_00.png"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            a = _open(browser, url)
            a.get_by_role("button", name="Clear mask (all unlabelled)").click()
            _wait_for(mask, lambda m: m is None)
            expect(a.get_by_role("button", name="Restore the previous mask")).to_be_visible()  # kept as a backup
            _settled(a)
            b = _open(browser, url)  # both now show tissue_00 without labels

            _stroke(a, 40)  # A paints row 16 (class 0, background)
            _wait_for(mask, lambda m: _painted(m, 40))
            _stroke(b, 400)  # B, whose canvas opened before A's stroke, paints row 160
            _wait_for(mask, lambda m: _painted(m, 400))
            m = _wait_for(mask, lambda m: _painted(m, 40) and _painted(m, 400))  # A's stroke survived B's save
            _stroke(a, 200)  # A again: must not drop B's stroke (the old base + strokes save did)
            m = _wait_for(mask, lambda m: _painted(m, 200))
            assert _painted(m, 40) and _painted(m, 400), "a stroke of the other session was lost"
            expect(a.get_by_text("This mask was changed elsewhere")).to_be_visible()  # and A is told

            b.get_by_role("button", name="Undo", exact=True).click()  # B takes back its own stroke only
            m = _wait_for(mask, lambda m: _untouched(m, 400))
            assert _painted(m, 40) and _painted(m, 200), "B's undo took A's strokes too"

            a.get_by_role("button", name="Clear mask (all unlabelled)").click()  # A clears …
            _wait_for(mask, lambda m: m is None)
            _settled(b)
            _stroke(b, 520)  # … and B's next stroke must not bring A's strokes back
            m = _wait_for(mask, lambda m: _painted(m, 520))
            assert _untouched(m, 40) and _untouched(m, 200), "the Clear in A was undone by B's stroke"
        finally:
            browser.close()


def test_strokes_survive_leaving_the_page_and_quick_succession(app):
    """A canvas remounted empty (back from another page) starts afresh: it never takes back the strokes it
    had saved; strokes drawn in quick succession (runs cut short) are all saved."""
    from playwright.sync_api import expect, sync_playwright

    url, ws = app
    mask = ws / "data" / "masks" / "tissue_00.png"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            a = _open(browser, url)
            a.get_by_role("button", name="Clear mask (all unlabelled)").click()
            _wait_for(mask, lambda m: m is None)
            _settled(a)
            for y in (40, 80, 120):  # no waiting between strokes
                _stroke(a, y)
            _wait_for(mask, lambda m: all(_painted(m, y) for y in (40, 80, 120)))
            a.get_by_role("link", name="Data").click()
            expect(a.get_by_role("heading", name="Data")).to_be_visible()
            a.get_by_role("link", name="Annotate").click()
            expect(a.get_by_text("Current mask")).to_be_visible()
            _settled(a)
            _stroke(a, 300)
            m = _wait_for(mask, lambda m: _painted(m, 300))
            a.wait_for_timeout(1500)
            m = _wait_for(mask, lambda m: _painted(m, 300))
            assert all(_painted(m, y) for y in (40, 80, 120)), "coming back to the page took strokes back"
        except Exception:
            a.screenshot(path=str(ws.parent / "failure.png"), full_page=True)
            print(f"screenshot: {ws.parent / 'failure.png'}")
            raise
        finally:
            browser.close()
