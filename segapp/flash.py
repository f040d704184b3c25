"""Messages said once, after the rerun that shows what an action did: ``flash`` keeps the message and reruns the
page; the page says it where it calls ``show_flash`` (once: the run after shows it no more).

Each message has a place (``where``): the page, or the part of it, that says it (e.g. "annotate" at the top of
the Annotate page, the class editor's prefix under the editor)."""
from __future__ import annotations

from typing import Iterable, NoReturn

import streamlit as st

_SLOT = "_flash_"  # + where: the messages waiting for the next run, in st.session_state


def flash(where: str, text: str, level: str = "success", *, more: Iterable[tuple[str, str]] = ()) -> NoReturn:
    """Keep ``text`` (said as ``st.<level>``: "success", "info", "warning", "error") and ``more`` (level, text)
    pairs for ``show_flash(where)``, and rerun the whole page."""
    st.session_state[_SLOT + where] = [(level, str(text)), *more]
    st.rerun()


def show_flash(where: str) -> None:
    """Say the messages kept for ``where`` by the run before, in order, and forget them."""
    for level, text in st.session_state.pop(_SLOT + where, []):
        getattr(st, level)(text)
