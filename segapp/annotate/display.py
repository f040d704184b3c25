"""How the image is shown on the Annotate page, for images that are not 8-bit gray or RGB: each channel on or
off, its colour and its contrast range, with Auto (``seg_core.workspace.display``: kept per project, applied to
the canvas, the thumbnails and the overlays; what the model reads never changes)."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from segapp import access
from segapp.annotate.image import Picture, display_stamp, read_stored
from segapp.state import hex_colour, rgb_from_hex


def display_panel(ws, picture: Picture) -> None:
    """Per channel: shown or not, a colour, the values shown as black and as full colour, and Auto (this
    channel's range from the image on screen); Auto for all. Each change is kept at once (``display.json``)."""
    raw, names, _ = read_stored(ws, picture)
    settings = ws.display
    channels = settings.for_image(raw, names)
    st.caption("How images with these channels are shown here, in thumbnails and in overlays, for everyone on "
               "this project. The model always reads the image's own values.")
    version = display_stamp(ws)  # widgets start again from what is kept whenever it changes
    may = access.can(ws.root, "paint")
    new = list(channels)
    for i, ch in enumerate(channels):
        c1, c2, c3, c4, c5 = st.columns([2, 1, 2, 2, 1], vertical_alignment="bottom")
        on = c1.checkbox(f"Show {ch.name}", value=ch.on, key=f"disp_on_{i}_{version}", disabled=not may)
        colour = c2.color_picker(f"Colour of {ch.name}", value=hex_colour(ch.colour), key=f"disp_col_{i}_{version}",
                                 label_visibility="collapsed", disabled=not may)
        low = c3.number_input(f"{ch.name}: black at", value=float(ch.low), key=f"disp_low_{i}_{version}",
                              disabled=not may, format="%g")
        high = c4.number_input(f"{ch.name}: full colour at", value=float(ch.high), key=f"disp_high_{i}_{version}",
                               disabled=not may, format="%g")
        if c5.button("Auto", key=f"disp_auto_{i}", disabled=not may,
                     help=f"The range of {ch.name} from this image: its darkest and brightest values (0.5 and 99.5 "
                          "percent of its pixels)") and access.allowed(ws.root, "paint"):
            settings.auto(raw, i)
            st.rerun()
        new[i] = replace(ch, on=on, colour=rgb_from_hex(colour), low=low, high=high if high > low else low + 1)
    if st.button("Auto contrast for every channel", key="disp_auto_all", disabled=not may) \
            and access.allowed(ws.root, "paint"):
        settings.auto(raw)
        st.rerun()
    if new != channels and access.allowed(ws.root, "paint"):
        settings.save(new)
        st.rerun()
