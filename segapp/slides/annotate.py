"""The Annotate page's whole slides: a registered slide's overview with its regions, a region drawn on it
(or given by numbers, full-resolution pixels) and shown as a box, "Add this region as an image"."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from seg_core.slides.reader import open_slide
from seg_core.slides.registry import add_region, region_name, registered
from segapp.flash import flash
from segapp.slides.region_box import draw_region, inputs
from segapp.slides.view import draw_box, slide_overview

FLASH = "slide_region"


def pick_slide(ws, key: str) -> dict | None:
    """A select box of the project's registered slides (none: None)."""
    slides = registered(ws.root)
    if not slides:
        return None
    names = [s["name"] for s in slides]
    name = st.selectbox("Slide", names, key=key)
    return slides[names.index(name)]


def slides_panel(ws) -> None:
    """Shown when the project has registered slides (``python -m seg_core import --workspace WS SLIDE``)."""
    if not registered(ws.root):
        return
    with st.expander("Whole slides: pick a region to label", expanded=not ws.stems(), key="ann_slides"):
        rec = pick_slide(ws, "ann_slide")
        st.caption(f"{rec['width']:,} x {rec['height']:,} pixels, {len(rec['levels'])} levels"
                   + (f", {rec['mpp']:g} µm per pixel" if rec.get("mpp") else "")
                   + ". Drag a box on the overview (or type its place in the slide's full-resolution pixels): the "
                     "region becomes an image of the project, painted and trained like any other. Regions taken "
                     "already are outlined in blue.")
        got = slide_overview(rec)
        if got is None:
            return
        image, ds = got
        box = inputs(rec, "ann_region")
        shown = image.copy()
        for r in rec.get("regions", []):
            draw_box(shown, (r["x"], r["y"], r["w"], r["h"]), ds, colour=(40, 90, 255))
        draw_box(shown, box, ds)
        draw_region(shown, rec, ds, "ann_region")
        st.caption(f"{rec['name']}: the region picked in yellow")
        if st.button("Add this region as an image", key="ann_add_region", type="primary"):
            try:
                with open_slide(Path(rec["file"])) as slide:
                    name = add_region(ws, slide, *box)
            except ValueError as err:
                st.error(str(err))
                return
            flash(FLASH, f"Added {name}: pick it in the image list to paint it.")
        st.caption(f"It will be named {region_name(rec['name'], *box)}.")
