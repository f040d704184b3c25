"""Drawing a region on a slide's overview: the overview shown by a small components-v2 element
(``region_box.js``) on which the user drags a box; the box, in full-resolution pixels, becomes the region's
numbers (``inputs``), which stay editable."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import streamlit as st

from segapp.label_canvas import image_data_url, image_digest

_component = st.components.v2.component("segmentation_studio.region_box",
                                        js=Path(__file__).with_name("region_box.js").read_text(encoding="utf-8"))
FIELDS = ("Left (x)", "Top (y)", "Width", "Height")


def input_keys(key: str, rec: dict) -> list[str]:
    """The session keys of a slide's four region numbers (one set per slide: the limits differ)."""
    return [f"{key}_{rec['name']}_{i}" for i in range(4)]


def full_resolution_box(box: dict, ds: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A box dragged on the overview (its pixels, floats) as x, y, w, h in the slide's full-resolution pixels,
    inside the slide."""
    x = int(np.clip(round(float(box["x"]) * ds), 0, width - 1))
    y = int(np.clip(round(float(box["y"]) * ds), 0, height - 1))
    w = int(np.clip(round(float(box["w"]) * ds), 1, width - x))
    h = int(np.clip(round(float(box["h"]) * ds), 1, height - y))
    return x, y, w, h


def _take_box(key: str, rec: dict, ds: float) -> None:
    """Callback (before the script runs): the dragged box becomes the region's numbers."""
    box = (st.session_state.get(key + "_draw") or {}).get("box")
    if isinstance(box, dict) and all(isinstance(box.get(k), (int, float)) for k in "xywh"):
        for k, v in zip(input_keys(key, rec), full_resolution_box(box, ds, rec["width"], rec["height"])):
            st.session_state[k] = v


def draw_region(shown: np.ndarray, rec: dict, ds: float, key: str) -> None:
    """The overview ``shown`` (regions already drawn on it) on which a box can be dragged."""
    _component(key=key + "_draw", data={"url": image_data_url(shown, image_digest(shown)),
                                        "alt": f"{rec['name']}: overview"},
               on_box_change=functools.partial(_take_box, key, rec, ds), width="stretch", height="content")


def inputs(rec: dict, key: str, size: int = 1024) -> tuple[int, int, int, int]:
    """X, Y, width and height (full-resolution pixels), starting at a region in the middle of the slide."""
    w0, h0 = min(size, rec["width"]), min(size, rec["height"])
    starts = ((rec["width"] - w0) // 2, (rec["height"] - h0) // 2, w0, h0)
    limits = (rec["width"] - 1, rec["height"] - 1, rec["width"], rec["height"])
    out = []
    for i, (col, lab, hi, k, start) in enumerate(zip(st.columns(4), FIELDS, limits, input_keys(key, rec), starts)):
        st.session_state.setdefault(k, start)
        out.append(int(col.number_input(lab, 0 if i < 2 else 1, hi, step=256, key=k)))
    return tuple(out)
