"""Drawing on a slide's overview: boxes for regions, a predicted mask's colours, an object-density heat map."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import streamlit as st

from seg_core.slides.reader import open_slide


@st.cache_data(max_entries=4, show_spinner=False)
def overview(file: str, mtime: float) -> tuple[np.ndarray, float]:
    """The slide's overview (at most 1024 pixels a side) and its downsample; cached by file and time."""
    with open_slide(Path(file)) as s:
        return s.overview(1024)


def slide_overview(rec: dict) -> tuple[np.ndarray, float] | None:
    """The overview of a registered slide, or None after saying why it cannot be read (moved, removed)."""
    try:
        return overview(rec["file"], Path(rec["file"]).stat().st_mtime)
    except (OSError, ValueError) as err:
        st.error(f"{rec['name']}: the slide cannot be read from {rec['file']} ({err}); was it moved? Register it "
                 "again from where it is now.")
        return None


def draw_box(image: np.ndarray, box: tuple[int, int, int, int], ds: float, colour=(255, 200, 0), width: int = 2):
    """``image`` with the box (x, y, w, h in full-resolution pixels) drawn on it, in place."""
    x, y, w, h = (int(round(v / ds)) for v in box)
    cv2.rectangle(image, (x, y), (x + max(w, 1), y + max(h, 1)), colour, width)
    return image


def density_map(centroids_xy: np.ndarray, shape: tuple[int, int], ds: float, cell: int = 16) -> np.ndarray:
    """Objects per ``cell`` x ``cell`` overview pixels, (shape) float, from full-resolution centroids."""
    h, w = shape
    counts = np.zeros((-(-h // cell), -(-w // cell)), np.float32)
    if len(centroids_xy):
        cx = np.clip((centroids_xy[:, 0] / ds / cell).astype(int), 0, counts.shape[1] - 1)
        cy = np.clip((centroids_xy[:, 1] / ds / cell).astype(int), 0, counts.shape[0] - 1)
        np.add.at(counts, (cy, cx), 1)
    return cv2.resize(counts, (w, h), interpolation=cv2.INTER_NEAREST)


def heat_overlay(image: np.ndarray, density: np.ndarray) -> np.ndarray:
    """The density coloured (dark blue: none, yellow: most) over ``image``; cells without objects left clear."""
    top = float(density.max()) or 1.0
    colours = cv2.applyColorMap((density / top * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    out = image.copy()
    some = density > 0
    out[some] = (0.4 * image[some] + 0.6 * colours[some]).astype(np.uint8)
    return out
