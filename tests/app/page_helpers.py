"""Running one of the app's pages through streamlit.testing.v1.AppTest, and finding its elements; reading a
mask file the app writes, and waiting until it is as expected."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"


def page(name: str) -> AppTest:
    """The page file ``pages/<name>`` (e.g. ``"data.py"``) as an AppTest (not yet run)."""
    return AppTest.from_file(str(PAGES / name), default_timeout=120)


def elements(at, kind: str) -> list:
    """Every element of type ``kind`` (e.g. "image", "download_button") anywhere in the rendered page
    (``at``: an AppTest) or in one of its blocks (``at.sidebar``)."""
    found = []

    def walk(node):
        if getattr(node, "type", None) == kind:
            found.append(node)
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(getattr(at, "_tree", at))
    return found


def wait_for(condition, timeout: float = 900.0, what: str = "the condition"):
    """Poll ``condition()`` until it returns something true (returned): as long as the work takes on this
    machine, however slow or loaded; ``timeout`` only catches a hang."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def progress_texts(at) -> list[str]:
    """The texts of the progress bars on the rendered page."""
    return [p.proto.text for p in elements(at, "progress")]


class Gate:
    """Holds a background task (``seg_core.runner.jobs``) at a count: ``Job.report`` waits while the count's done
    equals ``at``, until ``open()``; so a page test sees a task mid-way and can cancel it then, every time."""

    def __init__(self, monkeypatch, at: int):
        import threading

        from seg_core.runner.jobs import Job

        self.reached, self._open, original = threading.Event(), threading.Event(), Job.report

        def report(job, count):
            original(job, count)
            if getattr(count, "done", None) == at and not self._open.is_set():
                self.reached.set()
                self._open.wait(60)
        monkeypatch.setattr(Job, "report", report)

    def open(self) -> None:
        self._open.set()


def read_png(path: Path) -> np.ndarray | None:
    """The values of a mask file, or None when it is not there (yet) or being replaced."""
    try:
        return np.array(Image.open(path))
    except (OSError, ValueError):
        return None


def wait_for_png(path: Path, condition, timeout: float = 120) -> np.ndarray | None:
    """The mask file's values once ``condition`` holds for them (None: no file), within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = read_png(path)
        if condition(m):
            return m
        time.sleep(0.2)
    raise AssertionError(f"{path.name}: not as expected within {timeout} s")


def app_settled(page, timeout_ms: float = 60_000) -> None:
    """In a real browser: wait until the app has finished its runs (the header's Stop button went away)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden(timeout=timeout_ms)
