"""The image being annotated: picked (with each image's state), read with its saved mask; a damaged or
mismatched file named and offered to be put aside."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from seg_core.base.mask_values import UNLABELLED
from seg_core.data.annotation import stale_values
from seg_core.workspace.display import shown
from segapp.words import say
from segapp import access

MARKS = {"unlabelled": "  (unlabelled)", "proposal": "  (proposal)", "labelled": "", "reviewed": "  ✓ reviewed"}


@dataclass(frozen=True)
class Picture:
    """The image on the page and its mask as saved."""

    stem: str
    image: np.ndarray  # as the model reads it (the suggestion learns from it)
    path: Path  # the image file
    mtime: int  # the image file's st_mtime_ns: the canvas sends the image again when it changes
    saved: np.ndarray | None  # the saved mask; None: nobody labelled this image yet
    shown: np.ndarray | None = None  # as shown (the project's display settings); None: ``image`` as it is
    display_id: str = ""  # changes when the display settings do: the canvas sends the image again

    @property
    def on_screen(self) -> np.ndarray:
        """What the canvas and overlays show."""
        return self.image if self.shown is None else self.shown

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def saved_or_unlabelled(self) -> np.ndarray:
        return np.full(self.shape, UNLABELLED, np.uint8) if self.saved is None else self.saved


def pick_image(where, stems: list[str], states: dict[str, str]) -> str:
    """The image selector (``ann_stem``) in ``where``, marking each image's state; PageDown / PageUp on the canvas
    asked for another image (``ann_goto``), and an image removed meanwhile is not kept."""
    if (goto := st.session_state.pop("ann_goto", None)) in stems:
        st.session_state["ann_stem"] = goto
    if st.session_state.get("ann_stem") not in stems:  # removed meanwhile (another tab, the Data page)
        st.session_state.pop("ann_stem", None)
    return where.selectbox("Image", stems, format_func=lambda s: s + MARKS.get(states.get(s, ""), ""), key="ann_stem")


@st.cache_resource(show_spinner=False, max_entries=2)
def _read_image(_ws, root: str, stem: str, mtime_ns: int) -> np.ndarray:
    return _ws.read_image(stem)  # the folder, the stem and the file's time are the cache's key


@st.cache_resource(show_spinner=False, max_entries=2)
def _read_stored(_ws, root: str, stem: str, mtime_ns: int):
    return _ws.read_stored(stem)


def read_stored(ws, picture: "Picture"):
    """The picture's values as stored, its channels' names, whether it is shown as it is (``read_stored``)."""
    return _read_stored(ws, str(ws.root), picture.stem, picture.mtime)


@st.cache_resource(show_spinner=False, max_entries=2)
def _read_shown(_ws, root: str, stem: str, mtime_ns: int, display: str) -> np.ndarray | None:
    """The image as the project's display settings show it (None: 8-bit gray or RGB, shown as it is)."""
    raw, names, as_stored = _read_stored(_ws, root, stem, mtime_ns)
    return None if as_stored else shown(raw, False, _ws.display, names)


def display_stamp(ws) -> str:
    """Changes whenever the project's display settings do."""
    try:
        return str(ws.display.path.stat().st_mtime_ns)
    except OSError:
        return "none"


def open_image(ws, stem: str, classes) -> Picture:
    """The image and its saved mask; the page stops after naming an unreadable image, or a damaged mask (with a
    button that puts it aside as a backup). Mask values that are no classes now are said as a warning."""
    try:
        path = ws.image_path(stem)
        mtime = path.stat().st_mtime_ns
        image = _read_image(ws, str(ws.root), stem, mtime)
        on_screen = _read_shown(ws, str(ws.root), stem, mtime, display_stamp(ws))
    except (OSError, ValueError) as err:  # removed meanwhile, or not readable: pick another image
        say("error", f"{stem}: {err}" if stem not in str(err) else err)
        st.stop()
    h, w = image.shape[:2]
    mask_name = ws.mask_path(stem).name
    try:
        saved = ws.read_mask(stem)  # None: nobody labelled this image yet
        if saved is not None and saved.shape != (h, w):
            raise ValueError(f"{mask_name}: the mask is {saved.shape[1]}x{saved.shape[0]} but the image is {w}x{h}")
    except (OSError, ValueError) as err:
        st.error(f"{err if mask_name in str(err) else f'{mask_name}: {err}'}")
        if st.button("Put the damaged mask aside (kept as a backup) and start a new one", key="ann_damaged") \
                and access.allowed(ws.root, "paint"):
            ws.replace_mask(stem, None, "damaged")
            st.rerun()
        st.stop()
    if saved is not None and (stale := stale_values(saved, classes)):
        st.warning(f"{stem}.png holds the values {stale}, which are no classes now (0..{len(classes) - 1}): they show "
                   "grey and stay as they are. Paint over them, or add the classes back on the **Data** page.")
    return Picture(stem, image, path, mtime, saved, on_screen, display_stamp(ws) if on_screen is not None else "")
