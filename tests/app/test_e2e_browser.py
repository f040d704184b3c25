"""End to end in a real browser: streamlit server + headless Chromium (Playwright, system chromium)."""
import io
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segapp.harness import ROOT, CanvasView, fill_train_form, launch_chromium, streamlit_app, wait_for_work

SHOTS = ROOT / "screenshots"
_WS: list[str] = []


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    _WS[:] = [str(tmp_path_factory.mktemp("e2e") / "ws")]
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with streamlit_app(Path(_WS[0]), log) as url:
        yield url
    print(log.read_text()[-3000:])


def _upload_zip(folder: Path) -> Path:
    """A zip as a user would make it: two new labelled images and one file that is not an image."""
    path = folder / "upload.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in (0, 1):
            z.write(ROOT / "data" / "images" / f"tissue_0{i}.png", f"images/upload_{i}.png")
            z.write(ROOT / "data" / "masks" / f"tissue_0{i}.png", f"masks/upload_{i}.png")
        z.writestr("images/broken.png", b"this is not a png")
    return path


# Records whether Streamlit's automatic list of pages/ (data-testid stSidebarNav), or its "Page not found"
# dialog (its own pages/ mode not knowing an address), is ever shown.
AUTO_NAV_WATCH = """
window.__autoNavSeen = false;
window.__notFoundSeen = false;
new MutationObserver(() => {
  if (document.querySelector("[data-testid='stSidebarNav']")) window.__autoNavSeen = true;
  if (document.body && document.body.innerText.includes("Page not found")) window.__notFoundSeen = true;
}).observe(document, {childList: true, subtree: true});
"""
APP_LINKS = ["Data", "Annotate", "Train", "Review", "Runs & export"]


def _expect_app_navigation(page) -> None:
    """The sidebar holds the app's own links, and Streamlit's automatic pages/ list never appeared."""
    from playwright.sync_api import expect

    for name in APP_LINKS:
        expect(page.get_by_role("link", name=name)).to_be_visible()
    assert page.evaluate("window.__autoNavSeen") is False, "Streamlit's automatic pages/ list was shown"


def _step_of(text: str) -> int:
    m = re.search(r"step (\d+)", text)
    return int(m.group(1)) if m else -1


def test_browser_flow(server):
    ws_root = Path(_WS[0])
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.add_init_script(AUTO_NAV_WATCH)
        try:
            page.goto(server)  # the server's first page load
            # Data page: the sample table
            expect(page.get_by_role("heading", name="Data")).to_be_visible()
            _expect_app_navigation(page)
            expect(page.get_by_text("12 images: 10 labelled, 2 unlabelled")).to_be_visible()
            expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
            # upload a zip of images/ + masks/ holding one unreadable image: two added, the bad one named
            page.get_by_text("Add images and masks").click()
            page.locator("input[type=file]").first.set_input_files(str(_upload_zip(ws_root.parent)))
            page.get_by_role("button", name="Import uploaded files").click()
            expect(page.get_by_text("Added 2 image(s)")).to_be_visible()
            expect(page.get_by_text(re.compile(r"upload\.zip: broken\.png"))).to_be_visible()
            expect(page.get_by_text("14 images: 12 labelled, 2 unlabelled")).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "1_data.png"), full_page=True)

            # Train page
            page.get_by_role("link", name="Train").click()
            # the page's first run loads torch (seconds on a fresh server)
            expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Parts of the network kept as they are")).to_be_visible(timeout=60_000)
            fill_train_form(page, budget_s=20, crop="128x128")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "2_train_form.png"), full_page=True)
            page.get_by_role("button", name="Start training").click()

            progress = page.get_by_text(re.compile(r"step \d+( of \d+)? · "))
            expect(progress).to_be_visible(timeout=90_000)
            first = _step_of(progress.inner_text())
            finished = page.get_by_text("Training finished")

            def advanced() -> bool:
                return progress.is_visible() and _step_of(progress.inner_text()) > max(first, 0)

            deadline = time.time() + 300  # on a loaded machine a 20 s training may make a step or two, then validate
            while time.time() < deadline and not advanced() and not finished.is_visible():
                page.wait_for_timeout(500)
            # the page follows the training without a reload: its step advances, or it says the training finished
            assert advanced() or finished.is_visible(), "training progress did not advance"
            # the progress bar and the loss curve are drawn in place (an SVG path through the points so far)
            expect(page.locator(".lcx path.line").first).to_be_visible()
            assert int(page.locator(".lcx").first.get_attribute("data-points")) >= 1
            assert 0 < float(page.locator(".lcx-panel").first.get_attribute("data-fraction")) <= 1
            page.screenshot(path=str(SHOTS / "3_training.png"), full_page=True)
            wait_for_work(page, page.get_by_text("Training finished"), page.get_by_role("button", name="Cancel training"),
                          what="the training")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "4_trained.png"), full_page=True)

            # Review page: scores and an overlay image
            page.get_by_role("link", name="Review").click()
            expect(page.get_by_role("heading", name="Review")).to_be_visible()
            expect(page.get_by_text("Per class")).to_be_visible(timeout=120_000)
            img = page.locator("[data-testid='stMain'] [data-testid='stImage'] img").first
            expect(img).to_be_visible(timeout=120_000)
            # predict an uploaded new image and download the masks
            page.locator("input[type=file]").last.set_input_files(str(ROOT / "data" / "new" / "tissue_10.png"))
            download = page.get_by_role("button", name="Download masks (PNG files, zip)")
            expect(download).to_be_visible(timeout=60_000)
            with page.expect_download() as dl:
                download.click()
            with zipfile.ZipFile(dl.value.path()) as z:
                mask = np.array(Image.open(io.BytesIO(z.read("masks/tissue_10.png"))))
            assert mask.shape == (256, 256) and set(np.unique(mask)) <= {0, 1, 2} and len(np.unique(mask)) >= 2
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "5_review.png"), full_page=True)

            # Runs page lists the run
            page.get_by_role("link", name="Runs & export").click()
            expect(page.get_by_role("button", name="Export as an ONNX file")).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "6_runs.png"), full_page=True)

            # Annotate page: the full-resolution canvas; a stroke is saved at once, undo and redo too
            page.get_by_role("link", name="Annotate").click()
            expect(page.get_by_role("heading", name="Mask", exact=True)).to_be_visible()
            page.get_by_role("button", name="Clear mask (all unlabelled)").click()
            mask_file = ws_root / "data" / "masks" / "tissue_00.png"
            deadline = time.time() + 30
            while time.time() < deadline and mask_file.exists():
                page.wait_for_timeout(300)
            assert not mask_file.exists()
            expect(page.get_by_role("button", name="Restore the previous mask")).to_be_visible()
            view = CanvasView(page)
            view.stroke([(40.5 + 6 * i, 40.5 + 4 * i) for i in range(15)])  # class 1 (background, value 0)
            deadline = time.time() + 30
            while time.time() < deadline and not mask_file.exists():
                page.wait_for_timeout(300)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "7_annotate.png"), full_page=True)
            assert mask_file.exists(), "a brush stroke was not saved as a mask"
            m = np.array(Image.open(mask_file))
            assert m.shape == (256, 256) and (m[40, 38:43] == 0).all() and (m[96, 122:127] == 0).all()
            assert (m == 255).sum() > 250 * 250 - 2000  # the rest still unlabelled
            # the canvas's undo takes the stroke out of the saved file too; redo puts it back
            page.get_by_role("button", name="Undo", exact=True).click()
            deadline = time.time() + 30
            while time.time() < deadline and mask_file.exists():
                page.wait_for_timeout(300)
            assert not mask_file.exists(), "undo did not take the stroke out of the saved mask"
            page.get_by_role("button", name="Redo", exact=True).click()
            deadline = time.time() + 30
            while time.time() < deadline and not mask_file.exists():
                page.wait_for_timeout(300)
            page.wait_for_timeout(500)
            assert np.array_equal(np.array(Image.open(mask_file)), m), "redo did not restore the stroke"
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_a_page_url_on_a_fresh_server_opens_inside_the_app(chromium, tmp_path):
    """Opening /review as a fresh server's first request (a tab reconnecting after a restart) shows Review with
    the app's navigation, and no "Page not found" (Streamlit's first run goes by the pages/ folder:
    ``segapp.navigation.through_app``)."""
    from playwright.sync_api import expect, sync_playwright

    with streamlit_app(tmp_path / "ws", tmp_path / "streamlit.log") as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.add_init_script(AUTO_NAV_WATCH)
        try:
            page.goto(f"{url}/review")
            expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("No trained runs yet")).to_be_visible()
            _expect_app_navigation(page)
            page.get_by_role("link", name="Runs & export").click()
            expect(page.get_by_role("heading", name="Runs & export")).to_be_visible()
            assert page.url.endswith("/runs")
            _expect_app_navigation(page)
            assert page.evaluate("window.__notFoundSeen") is False, "a page's address was not found"
        finally:
            browser.close()
