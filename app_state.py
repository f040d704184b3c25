"""Shared Streamlit helpers for the app's pages (the engine itself lives in seg_core, UI-free)."""
from __future__ import annotations

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

import seg_core
from seg_core import Predictor, Run, Workspace


@st.cache_resource(show_spinner=False)
def _workspace(root: str | None) -> Workspace:
    return Workspace(root)


def workspace() -> Workspace:
    """The workspace (cached per root, so SEGAPP_WORKSPACE changes are honoured)."""
    from seg_core.workspace import default_root
    return _workspace(str(default_root()))


def registry():
    return seg_core.REGISTRY


@st.cache_resource(show_spinner=False, max_entries=3)
def _predictor(run_path: str, mtime: float) -> Predictor:
    return Predictor(Run(run_path))


def predictor(run: Run) -> Predictor:
    ck = run.path / "model.safetensors"
    return _predictor(str(run.path), ck.stat().st_mtime if ck.exists() else 0.0)


def to_png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


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


def legend_html(classes) -> str:
    parts = [f'<span style="display:inline-block;margin-right:12px">'
             f'<span style="display:inline-block;width:12px;height:12px;background:{hex_colour(c)};'
             f'border:1px solid #888;vertical-align:middle;margin-right:4px"></span>{n}</span>'
             for n, c in zip(classes.names, classes.colours)]
    return "<div>" + "".join(parts) + "</div>"


def runs_with_checkpoint(ws: Workspace) -> list[Run]:
    return [r for r in ws.runs() if r.has_checkpoint]
