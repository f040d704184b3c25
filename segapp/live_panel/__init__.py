"""A training's live progress in one light element: ``live_panel(fraction, text, clock, charts, key=...)``.

A Streamlit components-v2 element (inline HTML/SVG drawn by ``panel.js``, no iframe, no Vega): a progress bar
with its line of text, and line charts (``Curve``). The Train page updates it every few seconds while a
training runs; between two updates the browser ticks the run's clock itself (seconds of the budget, ETA, the
bar's fill), so the page can update rarely and still look alive.

Why not ``st.progress`` and ``st.line_chart``: a line chart costs about 0.3 s of Python per call (Altair builds
and validates a Vega-Lite spec), the progress bar animates every change, and each redraw of the fragment
renders Vega in the browser. On a 2-core machine a training on the server's thread lost most of its speed to
that (benchmarks/bench_ui.py, part watch). Here Python sends the points (at most ``MAX_POINTS`` per curve,
thinned evenly, the last one kept) and the browser redraws one SVG path per curve, without transitions.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import streamlit as st

__all__ = ["Curve", "live_panel", "thin"]

_HERE = Path(__file__).resolve().parent
_component = st.components.v2.component("segmentation_studio.live_panel",
                                        css=(_HERE / "panel.css").read_text(encoding="utf-8"),
                                        js=(_HERE / "panel.js").read_text(encoding="utf-8"))
MAX_POINTS = 400


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> list[list[float]]:
    """At most ``limit`` of ``points``, evenly spread, the first and the last always kept."""
    pts = [[float(x), float(y)] for x, y in points]
    if len(pts) <= limit:
        return pts
    step = (len(pts) - 1) / (limit - 1)
    return [pts[round(i * step)] for i in range(limit)]


@dataclass
class Curve:
    """One chart: a line through ``points`` ((x, y) in order of x), under ``title``; ``y_range`` fixes the value
    axis (e.g. (0, 1) for a score), else it follows the points; ``digits``: decimals shown; ``note``: a line
    under the chart."""

    title: str
    points: Sequence[tuple[float, float]]
    x_label: str
    y_label: str
    y_range: tuple[float, float] | None = None
    digits: int = 3
    note: str = ""

    def to_data(self) -> dict:
        return asdict(self) | {"points": thin(self.points), "y_range": list(self.y_range) if self.y_range else None}


def live_panel(fraction: float, text: str, *, key: str, clock: dict | None = None, running: bool = False,
               curves: Sequence[Curve] = (), height: int = 200) -> None:
    """The bar at ``fraction`` (0..1) with ``text``; ``clock`` ({"elapsed", "budget", "eta"} in seconds, see
    ``JobSnapshot.clock``) is shown after the text and, while ``running``, advanced by the browser each second;
    ``curves`` side by side below, ``height`` pixels each."""
    _component(key=key, data={"fraction": float(fraction), "text": text, "clock": clock, "running": bool(running),
                              "curves": [c.to_data() for c in curves], "height": height},
               width="stretch", height="content")
