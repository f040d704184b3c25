"""A 16-bit stack on the Annotate page in a real browser (the real app, headless Chromium): the "." key on the
canvas opens the next plane, and the project's display settings are kept when the image is first shown."""
import json

import numpy as np
import pytest
import tifffile

from segapp.harness import CanvasView, streamlit_app
from tests.app.page_helpers import app_settled


@pytest.fixture
def app(chromium, tmp_path):
    from playwright.sync_api import expect

    from seg_core import Workspace

    expect.set_options(timeout=60_000)
    planes = np.full((3, 48, 48), 300, np.uint16)
    for i in range(3):
        planes[i, 8 + 10 * i:18 + 10 * i, 8:18] = 20000 + 10000 * i
    tifffile.imwrite(tmp_path / "deep.tif", planes, imagej=True, metadata={"axes": "ZYX"})
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.import_paths([tmp_path / "deep.tif"])
    with streamlit_app(tmp_path / "ws", tmp_path / "streamlit.log") as url:
        yield url, tmp_path / "ws"


def test_the_next_plane_by_key_and_the_display_kept(app, browser_page):
    from playwright.sync_api import expect

    url, ws = app
    page = browser_page
    page.goto(f"{url}/annotate")
    view = CanvasView(page)
    app_settled(page)
    expect(page.get_by_text("Plane 1 of 3 (depth).")).to_be_visible()
    kept = json.loads((ws / "display.json").read_text())["1"][0]
    assert (kept["low"], kept["high"]) == (300.0, 20000.0)  # set from the first 16-bit image shown
    page.mouse.move(*view(24, 24))
    page.keyboard.press(".")
    expect(page.get_by_text("Plane 2 of 3 (depth).")).to_be_visible()
    CanvasView(page)  # the next plane's canvas loads
    page.get_by_text("Display: channels, colours, contrast").click()
    expect(page.get_by_text("gray: full colour at")).to_be_visible()
