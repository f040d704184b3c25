"""The Review page's image viewer: the model's prediction beside the user's mask, worst-scored images first."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from seg_core.infer.overlay import overlay
from segapp.state import legend_html
from segapp.words import say


@dataclass(frozen=True)
class Viewed:
    """The image in the viewer: what the page's other sections show it with."""

    stem: str | None
    image: np.ndarray | None  # None: no image, or it could not be read or predicted (named)
    prediction: object = None  # the model's ``Prediction`` of it
    mask: np.ndarray | None = None  # the user's mask (None: none, or unreadable)
    alpha: float = 0.5  # the overlays' opacity


def image_viewer(ws, pred, classes, worst_first: list[str]) -> Viewed:
    """Pick an image (the worst scored first), see the model's prediction beside the mask."""
    stems = ws.stems()
    stems = [s for s in worst_first if s in stems] + [s for s in stems if s not in worst_first]
    if st.session_state.get("review_image") not in stems:  # removed meanwhile (another tab, the Data page)
        st.session_state.pop("review_image", None)
    c1, c2 = st.columns([2, 1])
    stem = c1.selectbox("Image", stems, key="review_image")
    alpha = c2.slider("Overlay opacity", 0.0, 1.0, 0.5, key="review_alpha")
    st.markdown(legend_html(classes), unsafe_allow_html=True)
    try:
        if stem is None:
            raise FileNotFoundError("no images in the workspace")
        image = ws.read_image(stem, pred.intensities)
        p = pred.predict(image, crf=False)
    except Exception as err:  # removed while the page was open, or unreadable: named; the rest of the page works
        say("error", f"{stem}: {err}" if stem and stem not in str(err) else err)
        return Viewed(stem, None, alpha=alpha)
    try:
        gt = ws.read_mask(stem)
        if gt is not None and gt.shape != image.shape[:2]:
            raise ValueError(f"the mask is {gt.shape[1]}x{gt.shape[0]}, the image {image.shape[1]}x{image.shape[0]}")
    except (OSError, ValueError) as err:
        st.warning(f"{ws.mask_path(stem).name}: {err}" if ws.mask_path(stem).name not in str(err) else str(err))
        gt = None
    v1, v2 = st.columns(2)
    shown = ws.shown_image(stem)  # as the project's display settings show it (8-bit gray or RGB as it is)
    v1.image(overlay(shown, p.mask, classes, alpha), caption=f"prediction ({p.seconds * 1000:.0f} ms)",
             width="stretch")
    if gt is not None:
        v2.image(overlay(shown, gt, classes, alpha), caption="your mask (uncoloured = unlabelled)", width="stretch")
    else:
        v2.image(shown, caption="no mask of yours for this image", width="stretch")
    return Viewed(stem, image, p, gt, alpha)
