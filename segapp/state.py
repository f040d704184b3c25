"""Shared Streamlit helpers for the app's pages (the engine itself lives in seg_core, UI-free).

Importing this module does not load torch (the app declares its navigation first, see app.py).
"""
from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image

import seg_core
from segapp.heap import settled
from seg_core.base.classes import ClassList, default_colour
from seg_core.runs.folder import Run
from seg_core.workspace.workspace import Workspace
from segapp import access, projects
from segapp.words import plain

if TYPE_CHECKING:
    from seg_core import Predictor


@st.cache_resource(show_spinner=False)
def _workspace(root: str, seed_sample: bool) -> Workspace:
    return Workspace(root, seed_sample=seed_sample)


def workspace() -> Workspace:
    """This tab's workspace: its project's (``projects.current``), or the one folder SEGAPP_WORKSPACE pins
    (seeded with the sample when new, as before projects). Cached per folder. Pages ask for it first; with no
    project at all the page says how to make one and stops."""
    pinned = projects.pinned_workspace()
    if pinned is not None:
        _may_look(pinned)
        return _workspace(str(pinned), True)
    project = projects.current()
    if project is None:
        st.info("There is no project yet: create one in the sidebar (New project), or restore a removed one."
                if access.may_create() else "You are not a member of any project yet: ask the owner of a project "
                "to add you (on its Data page).")
        st.stop()
    _may_look(project.root)
    return _workspace(str(project.root), False)


def _may_look(root) -> None:
    """Every page asks first: this tab's person may look at the project ``root``; else it says why and stops."""
    if not access.allowed(root, "view"):
        st.stop()


def registry():
    """The background runner (``seg_core.REGISTRY``): the training jobs and the tasks of this server."""
    return seg_core.REGISTRY


@st.cache_resource(show_spinner=False, max_entries=3)
def _predictor(run_path: str, mtime: float) -> Predictor:
    from seg_core import Predictor  # loads torch: only pages that predict pay for it

    return Predictor(Run(run_path))


def predictor(run: Run) -> Predictor:
    return _predictor(str(run.path), run.checkpoint_mtime)


def file_types(exts) -> list[str]:
    """``file_uploader(type=...)`` for the engine's accepted suffixes (``seg_core.data.imageio.IMAGE_EXTS`` …)."""
    return [e.lstrip(".") for e in exts]


def thumb_data_url(arr: np.ndarray, size: int = 64) -> str:
    im = Image.fromarray(arr)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def hex_colour(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb[:3])


def rgb_from_hex(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def classes_from_table(names, colours) -> ClassList:
    """The class editor's rows as a ClassList: rows without a name dropped, an unreadable colour replaced
    by the class's default colour."""
    rows = [(str(n).strip(), c) for n, c in zip(names, colours) if n is not None and str(n).strip() not in ("", "None")]
    rgb = []
    for i, (_, c) in enumerate(rows):
        try:
            rgb.append(rgb_from_hex(str(c)))
        except (ValueError, IndexError):
            rgb.append(default_colour(i))
    return ClassList([n for n, _ in rows], rgb)


def legend_html(classes) -> str:
    parts = [f'<span style="display:inline-block;margin-right:12px">'
             f'<span style="display:inline-block;width:12px;height:12px;background:{hex_colour(c)};'
             f'border:1px solid #888;vertical-align:middle;margin-right:4px"></span>{n}</span>'
             for n, c in zip(classes.names, classes.colours)]
    return "<div>" + "".join(parts) + "</div>"


def runs_with_checkpoint(ws: Workspace) -> list[Run]:
    return [r for r in ws.runs() if r.has_checkpoint]


# -- background tasks (``seg_core.runner.jobs``): imports, zips, exports with counts and Cancel ----------------
def _task_slot(kind: str, key: str) -> str:
    return f"task:{kind}:{key}"


def start_task(kind: str, key: str, label: str, target) -> bool:
    """Run ``target(progress, cancel)`` in the background for this session (``task_panel`` shows it). The
    target must hold its own copies of what it uses (uploaded bytes, arrays). Another task of this kind and
    key running (another tab) is said as a warning and False returned."""
    from seg_core.runner.jobs import JobRefused

    try:
        task = registry().start(kind, label, target, key=key)
    except JobRefused as err:
        st.warning(str(err))
        return False
    st.session_state[_task_slot(kind, key)] = task.id
    return True


def task_running(kind: str, key: str) -> bool:
    return bool(registry().active(kind, key))


def task_panel(kind: str, key: str):
    """This session's latest task of ``kind`` for ``key``, or after a page reload the one running. While it
    runs: a progress bar with its counts and a Cancel button, redrawn every half second without rerunning the
    page; when it ends, the page reruns once. Ended: says a cancel (what was kept) or a failure. Returns the
    task's snapshot (None: no task) for the page to show the result."""
    slot = _task_slot(kind, key)
    task = registry().get(st.session_state.get(slot)) or next(iter(registry().active(kind, key)[-1:]), None)
    if task is None:
        return None
    st.session_state[slot] = task.id
    snap = task.snapshot()
    if snap.active:
        @st.fragment(run_every=0.5)
        @settled
        def live():
            now = task.snapshot()
            if not now.active:
                st.rerun()  # ended: the whole page again, with the result and the data as they are now
            st.progress(now.fraction, text=now.text())
            st.button("Cancel", key=f"cancel:{slot}", disabled=now.cancel_requested, on_click=task.cancel,
                      help="Stops after the current file or step; what was finished is kept.")
        live()
    elif snap.state == "cancelled":
        st.warning(f"{snap.label}: {snap.message}")
    elif snap.state == "failed":
        st.error(plain(f"{snap.label} failed: {snap.error}"))
    return snap



def reviewed_stems(ws: Workspace) -> set[str]:
    """The images marked reviewed; a damaged reviewed.json is named (``st.error``) and counts as none marked."""
    from seg_core.workspace.review_state import review_marks

    try:
        return set(review_marks(ws.root))
    except ValueError as err:
        st.error(str(err))
        return set()
