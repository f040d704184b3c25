"""The Review page's objects in a real browser: clicking a row of the object table shows that object."""
import shutil

from segapp.harness import streamlit_app


def test_clicking_an_object_row_shows_that_object(chromium, browser_page, trained_ws, tmp_path):
    from playwright.sync_api import expect

    ws = tmp_path / "ws"
    shutil.copytree(trained_ws, ws)
    page = browser_page
    with streamlit_app(ws, tmp_path / "streamlit.log") as url:
        page.goto(f"{url}/review")
        expect(page.get_by_role("heading", name="Objects")).to_be_visible(timeout=300_000)
        caption = page.get_by_text("objects, outlined with their numbers")
        expect(caption).to_be_visible(timeout=300_000)
        picked = page.get_by_text("object 1 (")
        assert picked.count() == 0  # no object shown before a row is clicked
        grid = page.locator("[class*='st-key-obj_table_'] [data-testid='stDataFrame']")
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection box, under the header
        expect(picked).to_be_visible(timeout=300_000)
        assert "pixels)" in picked.inner_text()
