"""A whole slide in a real browser: registered, a region typed and one dragged on the overview of the Annotate
page, added as an image, then the slide predicted on the Review page and shown with its overlay and object-density heat map."""
import re
import shutil
import sys
from pathlib import Path

from segapp.harness import streamlit_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slides"))
from slide_fixtures import mosaic, write_slide  # noqa: E402


def test_a_slide_from_region_to_whole_slide_prediction(chromium, browser_page, trained_ws, tmp_path):
    from playwright.sync_api import expect

    from seg_core.slides.reader import open_slide
    from seg_core.slides.registry import register

    ws = tmp_path / "ws"
    shutil.copytree(trained_ws, ws)
    slide = write_slide(tmp_path / "tissue.ome.tif", mosaic(768, 1024, glass=200))
    with open_slide(slide) as s:
        register(ws, s)
    page = browser_page
    with streamlit_app(ws, tmp_path / "streamlit.log") as url:
        page.goto(f"{url}/annotate")
        header = page.get_by_text("Whole slides: pick a region to label")
        expect(header).to_be_visible(timeout=300_000)
        header.click()  # folded while the project has images
        for label, value in (("Left (x)", "64"), ("Top (y)", "128"), ("Width", "256"), ("Height", "256")):
            box = page.get_by_label(label)
            box.fill(value)
            box.press("Enter")
        expect(page.get_by_text("It will be named tissue_x64_y128_w256_h256.")).to_be_visible(timeout=300_000)
        page.get_by_role("button", name="Add this region as an image").click()
        expect(page.get_by_text("Added tissue_x64_y128_w256_h256")).to_be_visible(timeout=300_000)
        assert (ws / "data" / "images" / "tissue_x64_y128_w256_h256.png").is_file()

        overview = page.locator(".region-box img").first  # 1024 x 768 pixels shown at the page's width
        expect(overview).to_be_visible(timeout=300_000)
        overview.scroll_into_view_if_needed()
        r = overview.bounding_box()
        page.mouse.move(r["x"] + 0.5 * r["width"], r["y"] + 0.25 * r["height"])
        page.mouse.down()
        page.mouse.move(r["x"] + 0.7 * r["width"], r["y"] + 0.4 * r["height"], steps=5)
        page.mouse.move(r["x"] + 0.75 * r["width"], r["y"] + 0.5 * r["height"], steps=5)
        page.mouse.up()  # a box over x 512-768, y 192-384 of the slide's pixels
        named = page.get_by_text(re.compile(r"It will be named tissue_x(?!64_)(\d+)_y(\d+)_w(\d+)_h(\d+)\."))
        expect(named).to_be_visible(timeout=300_000)
        x, y, w, h = map(int, re.search(r"_x(\d+)_y(\d+)_w(\d+)_h(\d+)", named.inner_text()).groups())
        assert abs(x - 512) <= 4 and abs(y - 192) <= 4 and abs(w - 256) <= 4 and abs(h - 192) <= 4, (x, y, w, h)
        assert page.get_by_label("Left (x)").input_value() == str(x)  # the numbers follow the box

        page.goto(f"{url}/review")
        button = page.get_by_role("button", name="Predict the whole slide and count its objects")
        expect(button).to_be_visible(timeout=300_000)
        button.click()
        expect(page.get_by_text("Predicted classes", exact=True)).to_be_visible(timeout=600_000)
        expect(page.get_by_text("objects are (yellow: most)")).to_be_visible(timeout=300_000)
        expect(page.get_by_text("Where it is")).to_be_visible(timeout=300_000)
