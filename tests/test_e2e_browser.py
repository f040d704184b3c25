"""End to end in a real browser: streamlit server + headless Chromium (Playwright, system chromium)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


_WS: list[str] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if CHROMIUM is None:
        msg = "install chromium: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    pytest.importorskip("playwright.sync_api")
    port = _free_port()
    _WS[:] = [str(tmp_path_factory.mktemp("e2e") / "ws")]
    env = dict(os.environ, SEGAPP_WORKSPACE=_WS[0],
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    if proc.poll() is not None:
        log.seek(0)
        pytest.fail("streamlit exited:\n" + log.read())
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.seek(0)
    print(log.read()[-3000:])


def _step_of(text: str) -> int:
    m = re.search(r"step (\d+)/", text)
    return int(m.group(1)) if m else -1


def test_browser_flow(server):
    ws_root = Path(_WS[0])
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            page.goto(server)
            # Data page: the sample table
            expect(page.get_by_role("heading", name="Data")).to_be_visible()
            expect(page.get_by_text("12 images, 10 labelled")).to_be_visible()
            expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "1_data.png"), full_page=True)

            # Train page
            page.get_by_role("link", name="Train").click()
            expect(page.get_by_role("heading", name="Train")).to_be_visible()
            expect(page.get_by_text("Freeze depth")).to_be_visible()
            budget = page.get_by_label("Time budget (seconds)")
            budget.fill("20")
            budget.press("Enter")
            page.get_by_text("Advanced options").click()
            crop = page.get_by_label("Training crop HxW (empty = automatic)")
            crop.fill("128x128")
            crop.press("Enter")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "2_train_form.png"), full_page=True)
            page.get_by_role("button", name="Start training").click()

            progress = page.get_by_text(re.compile(r"step \d+/"))
            expect(progress).to_be_visible(timeout=90_000)
            first = _step_of(progress.inner_text())
            deadline = time.time() + 90
            while time.time() < deadline and _step_of(progress.inner_text()) <= max(first, 0):
                page.wait_for_timeout(500)
            assert _step_of(progress.inner_text()) > max(first, 0), "training progress did not advance"
            page.screenshot(path=str(SHOTS / "3_training.png"), full_page=True)
            expect(page.get_by_text("Training finished")).to_be_visible(timeout=150_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "4_trained.png"), full_page=True)

            # Review page: scores and an overlay image
            page.get_by_role("link", name="Review").click()
            expect(page.get_by_role("heading", name="Review")).to_be_visible()
            expect(page.get_by_text("Per class")).to_be_visible(timeout=120_000)
            img = page.locator("[data-testid='stMain'] [data-testid='stImage'] img").first
            expect(img).to_be_visible(timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "5_review.png"), full_page=True)

            # Runs page lists the run
            page.get_by_role("link", name="Runs & export").click()
            expect(page.get_by_role("button", name="Export ONNX")).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "6_runs.png"), full_page=True)

            # Annotate page renders the canvas
            page.get_by_role("link", name="Annotate").click()
            expect(page.get_by_text("Current mask")).to_be_visible()
            page.get_by_role("button", name="Clear mask (all unlabelled)").click()
            page.wait_for_timeout(2500)
            mask_file = ws_root / "data" / "masks" / "tissue_00.png"
            assert not mask_file.exists()
            canvas = page.locator("canvas").last
            expect(canvas).to_be_visible()
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + 40, box["y"] + 40)
            page.mouse.down()
            for i in range(1, 15):
                page.mouse.move(box["x"] + 40 + 15 * i, box["y"] + 40 + 10 * i)
            page.mouse.up()
            deadline = time.time() + 30
            while time.time() < deadline and not mask_file.exists():
                page.wait_for_timeout(500)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "7_annotate.png"), full_page=True)
            assert mask_file.exists(), "a brush stroke was not saved as a mask"
            import numpy as np
            from PIL import Image
            m = np.array(Image.open(mask_file))
            assert (m == 0).any() and (m == 255).any()  # painted background, rest still unlabelled
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
