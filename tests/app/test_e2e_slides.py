"""A whole slide in a real browser: registered, a region picked on the Annotate page and added as an image,
then the slide predicted on the Review page and shown with its overlay and object-density heat map."""
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

        page.goto(f"{url}/review")
        button = page.get_by_role("button", name="Predict the whole slide and count its objects")
        expect(button).to_be_visible(timeout=300_000)
        button.click()
        expect(page.get_by_text("Predicted classes", exact=True)).to_be_visible(timeout=600_000)
        expect(page.get_by_text("objects are (yellow: most)")).to_be_visible(timeout=300_000)
        expect(page.get_by_text("Where it is")).to_be_visible(timeout=300_000)
