"""Start the real app (``streamlit run app.py``) on a workspace and a free port, and a headless system
Chromium; shared by the end-to-end test (tests/test_e2e_browser.py) and benchmarks/bench_ui.py."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # the checkout: app.py, pages/, .streamlit/ (an editable install)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL_HINT = "install chromium: apt-get install -y chromium chromium-driver"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(workspace: Path, log_path: Path, start_timeout: float = 60, script: str = "app.py",
                  env: dict[str, str] | None = None):
    """Yield the URL of the app serving ``workspace``; the server's output goes to ``log_path``.
    ``script``: the Streamlit script to run, relative to the checkout (a test-only app, e.g.
    ``tests/canvas_app.py``); ``env``: more environment variables for the server."""
    if not (ROOT / script).is_file():
        raise RuntimeError(f"no {script} in {ROOT}: install the checkout with `pip install -e .`")
    port = free_port()
    env = dict(os.environ, SEGAPP_WORKSPACE=str(workspace), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
               **(env or {}))
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
