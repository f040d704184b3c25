"""The Train page's channel picker: which of the project's image channels the model reads (``train --channels``).
Shown when the images have channels other than plain gray or RGB; a continued run reads its own channels."""
from __future__ import annotations

import streamlit as st

from seg_core.data.model_input import GRAY_NAMES, RGB_NAMES
from segapp.train.widgets import about


def channel_picker(layout: tuple[str, ...], continuing: bool) -> dict:
    """The ``channels`` TrainConfig field chosen: {} (all: the default, plain gray or RGB images, or a
    continued run, which reads the channels it was trained on)."""
    if continuing or not layout or tuple(layout) in (RGB_NAMES, GRAY_NAMES):
        return {}
    picked = st.multiselect(options=list(layout), default=list(layout), key="channels", **about("channels"))
    if not picked:
        st.warning("Pick at least one channel for the model to read; until then it reads all of them.")
        return {}
    if len(picked) < len(layout):
        st.caption("The model will read " + ", ".join(picked) + "; predictions read the same channels of "
                   "each image.")
    return {"channels": picked if len(picked) < len(layout) else None}
