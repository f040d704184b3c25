"""The app's pages, in workflow order: one table that app.py declares with ``st.navigation``; the pages are
the files of ``pages/`` beside app.py, and each one's address is its file's name (/review for review.py)."""
from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py and pages/ beside segapp/


@dataclass(frozen=True)
class PageSpec:
    file: str  # in pages/
    title: str
    icon: str
    default: bool = False

    @property
    def path(self) -> str:
        return str(ROOT / "pages" / self.file)

    @property
    def url_path(self) -> str:
        """The page's address, its file's name: what Streamlit's own pages/ mode calls it too (``through_app``)."""
        return Path(self.file).stem


PAGES = (
    PageSpec("data.py", "Data", ":material/folder:", default=True),
    PageSpec("annotate.py", "Annotate", ":material/brush:"),
    PageSpec("train.py", "Train", ":material/model_training:"),
    PageSpec("review.py", "Review", ":material/search:"),
    PageSpec("runs.py", "Runs & export", ":material/inventory_2:"),
)


def through_app() -> None:
    """Every page calls this first: it makes sure the page runs inside app.py (its navigation, sidebar and
    project). Streamlit's first run after it starts, seeing a pages/ folder beside app.py, goes by its older
    multipage mode, which runs a page opened by its address (a tab reconnecting to /review after a restart)
    on its own. Then this runs app.py instead, whose ``st.navigation`` ends that mode and runs the page; on
    every later run it does nothing."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import streamlit as st

        runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
        st.stop()
