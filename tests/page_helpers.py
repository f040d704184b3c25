"""Running one of the app's pages through streamlit.testing.v1.AppTest, and finding its elements."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "pages"


def page(name: str) -> AppTest:
    """The page file ``pages/<name>`` as an AppTest (not yet run)."""
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
