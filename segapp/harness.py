"""Start the real app (``streamlit run app.py``) on a workspace and a free port, and a headless system
Chromium; shared by the end-to-end test (tests/app/test_e2e_browser.py) and benchmarks/bench_ui.py."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout, with app.py (segapp is installed editable)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL_HINT = "install chromium: apt-get install -y chromium chromium-driver"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(workspace: Path | None, log_path: Path, start_timeout: float = 60, script: str = "app.py",
                  env: dict[str, str] | None = None, home: Path | None = None, port: int | None = None):
    """Yield the URL of the app serving ``workspace`` (SEGAPP_WORKSPACE), or with ``workspace`` None the
    projects under ``home`` (SEGAPP_HOME); the server's output goes to ``log_path``.
    ``script``: the Streamlit script to run, relative to the checkout (a test-only app, e.g.
    ``tests/app/canvas_app.py``); ``env``: more environment variables for the server; ``port``: the one to serve
    on (default a free one; the sign-in test writes it into the sign-in's redirect address first)."""
    if not (ROOT / script).is_file():
        raise RuntimeError(f"no {script} in {ROOT}: install the checkout with `pip install -e .`")
    if (workspace is None) == (home is None):
        raise ValueError("give the app one workspace folder or a projects home")
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SEGAPP_WORKSPACE", "SEGAPP_HOME")} | dict(
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}),
        **({"SEGAPP_WORKSPACE": str(workspace)} if workspace is not None else {"SEGAPP_HOME": str(home)}))
    with open(log_path, "w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1",
                                 # no reloading when a source file changes on disk while a test or benchmark runs
                                 "--server.fileWatcherType", "none"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + start_timeout
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        log.seek(0)
                        raise RuntimeError("streamlit did not start:\n" + log.read()[-3000:])
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class CanvasView:
    """The label canvas (``label_canvas``: ``.lc-view``) in a Playwright page: waits until its image and labels
    are loaded, and maps image pixels to page points through its view transform (``data-scale``, ``data-tx``,
    ``data-ty``: screen pixels per image pixel, and the image origin in the view). ``refresh()`` after a zoom
    or pan."""

    def __init__(self, page, locator=None, timeout: float = 60):
        self.page = page
        self.view = locator if locator is not None else page.locator(".lc-view").first
        from playwright.sync_api import Error as PlaywrightError

        deadline = time.time() + timeout
        while True:  # Streamlit may draw the element anew (a rerun) between two of these steps: then again
            try:
                self.view.wait_for(timeout=max(1.0, deadline - time.time()) * 1000)
                while self.view.get_attribute("data-ready") != "1":
                    if time.time() > deadline:
                        raise TimeoutError("the canvas did not load its image and labels")
                    page.wait_for_timeout(100)
                self.view.scroll_into_view_if_needed()  # mouse events reach only what the viewport shows
                self.refresh()
                return
            except PlaywrightError as err:
                if "not attached" not in str(err) or time.time() > deadline:
                    raise
                page.wait_for_timeout(100)

    def refresh(self) -> "CanvasView":
        box = self.view.bounding_box()
        self.x, self.y = box["x"], box["y"]
        self.s = float(self.view.get_attribute("data-scale"))
        self.tx, self.ty = float(self.view.get_attribute("data-tx")), float(self.view.get_attribute("data-ty"))
        return self

    def __call__(self, ix: float, iy: float) -> tuple[float, float]:
        """The page point over image point (ix, iy) (pixel centres are at .5)."""
        return self.x + self.tx + ix * self.s, self.y + self.ty + iy * self.s

    def image(self, px: float, py: float) -> tuple[float, float]:
        """The image point under page point (px, py)."""
        return (px - self.x - self.tx) / self.s, (py - self.y - self.ty) / self.s

    def zoom_to(self, scale: float, ix: float, iy: float) -> "CanvasView":
        """Zoom in with the mouse wheel over image point (ix, iy) until ``scale`` screen px per image px."""
        self.page.mouse.move(*self(ix, iy))
        while float(self.view.get_attribute("data-scale")) < scale:
            self.page.mouse.wheel(0, -400)
            self.page.wait_for_timeout(50)
        return self.refresh()

    def stroke(self, points: list[tuple[float, float]]) -> None:
        """Drag the current tool through image points (a brush stroke)."""
        self.page.mouse.move(*self(*points[0]))
        self.page.mouse.down()
        for p in points[1:]:
            self.page.mouse.move(*self(*p), steps=2)
        self.page.mouse.up()


def fill_train_form(page, budget_s: int, crop: str) -> None:
    """On the app's Train page: the time budget (seconds) and, under Advanced options, the training crop
    (``"128x128"``)."""
    budget = page.get_by_label("Training time (seconds)", exact=True)
    budget.fill(str(budget_s))
    budget.press("Enter")
    page.get_by_text("Advanced options").click()
    field = page.get_by_label("Piece of each image trained on", exact=True)
    field.fill(crop)
    field.press("Enter")


def wait_for_work(page, done, busy, ceiling_s: float = 1200, what: str = "the work") -> None:
    """Wait until ``done`` (a locator) is visible, for as long as ``busy`` (a locator: the work's Cancel button,
    its progress) shows the work still going, so the wait scales with the work and the machine (a slow,
    loaded CPU only makes it longer); fails when the work stops showing without ``done`` (after a minute's
    grace for the page to rerun) or after ``ceiling_s`` (a hang)."""
    start = last_busy = time.time()
    while True:
        if done.first.is_visible():
            return
        now = time.time()
        if busy.first.is_visible():
            last_busy = now
        elif now - last_busy > 60:
            raise AssertionError(f"{what} stopped showing progress and did not finish")
        if now - start > ceiling_s:
            raise AssertionError(f"{what} did not finish within {ceiling_s:.0f} s")
        page.wait_for_timeout(250)
