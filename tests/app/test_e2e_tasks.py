"""Background tasks in a real browser: the progress bar updates by itself (the page polls without a click),
and the result appears when the task ends."""
import shutil

from segapp.harness import launch_chromium, streamlit_app, wait_for_work


def test_an_export_shows_its_counts_and_then_its_download_without_a_click(chromium, trained_ws, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ws = tmp_path / "ws"
    shutil.copytree(trained_ws, ws)
    for f in ws.glob("runs/*/model.*"):  # exports made by other tests
        if f.name != "model.safetensors":
            f.unlink()
    with streamlit_app(ws, tmp_path / "streamlit.log") as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        try:
            page.goto(f"{url}/runs")
            page.get_by_role("button", name="Export as an ONNX file").click()
            expect(page.get_by_text("Export as an ONNX file of ")).to_be_visible(timeout=60_000)  # the progress bar's counts
            expect(page.get_by_role("button", name="Cancel")).to_be_visible()
            # ended by itself: however long the conversion takes here, for as long as it shows its progress
            wait_for_work(page, page.get_by_role("button", name="Download as an ONNX file"),
                          page.get_by_role("button", name="Cancel"), what="the ONNX export")
            expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
            assert next(ws.glob("runs/*/model.onnx")).stat().st_size > 1_000_000
        finally:
            browser.close()
