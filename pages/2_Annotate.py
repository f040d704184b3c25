"""Annotate: paint class labels over an image; every change is saved to the mask file at once."""
import hashlib

import numpy as np
import streamlit as st
from PIL import Image

from app_state import hex_colour, legend_html, predictor, runs_with_checkpoint, workspace
from seg_core.annotation import ERASER_COLOUR, apply_strokes, brush_values, coverage, stroke_colour, \
    strokes_to_labels
from seg_core.mask_values import UNLABELLED
from seg_core.overlay import overlay

ws = workspace()
st.title("Annotate")
st.caption("Draw with the selected class; the mask is saved after each stroke. The canvas toolbar's undo, redo "
           "and reset act on the saved mask too. Pixels nobody painted stay unlabelled (not used in training).")
stems = ws.stems()
if not stems:
    st.info("No images yet: add some on the **Data** page.")
    st.stop()

classes = ws.classes()
c1, c2 = st.columns([2, 1])
stem = c1.selectbox("Image", stems, format_func=lambda s: s + ("" if ws.mask_path(s).exists() else "  (unlabelled)"),
                    key="ann_stem")
image = ws.read_image(stem)
h, w = image.shape[:2]
saved = ws.read_mask(stem)  # None: nobody labelled this image yet
unlabelled = np.full((h, w), UNLABELLED, np.uint8)
mask = unlabelled if saved is None else saved


def new_canvas() -> None:
    """Start a fresh canvas whose strokes apply on top of the mask saved now (its 'base')."""
    st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1
    st.session_state.pop("ann_base", None)


# The saved mask is always base + the canvas's strokes, so the canvas toolbar's undo, redo, edit and
# reset change the saved file too. A canvas remounted empty (another image, or back from another page)
# gets a fresh base, so earlier strokes already in the file are never dropped.
run_no = st.session_state.get("run_no")
if st.session_state.get("ann_shown") != (stem, run_no - 1 if run_no else None):
    new_canvas()
st.session_state["ann_shown"] = (stem, run_no)

with c2:
    runs = runs_with_checkpoint(ws)
    if st.button("Start from the latest run's prediction", disabled=not runs,
                 help="Replaces this image's mask with the newest trained run's prediction."):
        pred = predictor(runs[0]).predict(image, crf=False).mask
        ws.save_mask(stem, pred.astype(np.uint8))
        new_canvas()
        st.rerun()
    if st.button("Clear mask (all unlabelled)"):
        ws.clear_mask(stem)
        new_canvas()
        st.rerun()

t1, t2, t3, t4 = st.columns(4)
cls = t1.selectbox("Class", brush_values(classes), key="ann_class",
                   format_func=lambda i: "eraser (unlabelled)" if i == UNLABELLED else f"{i}: {classes.names[i]}")
mode = t2.radio("Tool", ["freedraw", "polygon", "rect"], key="ann_mode",
                format_func={"freedraw": "brush", "polygon": "polygon", "rect": "rectangle"}.get, horizontal=True)
stroke = t3.slider("Brush width", 1, 60, 15, key="ann_width")
alpha = t4.slider("Mask opacity", 0.0, 1.0, 0.45, key="ann_alpha")
st.markdown(legend_html(classes) + f'<span style="font-size:0.8em">eraser draws in '
            f'{hex_colour(ERASER_COLOUR)}</span>', unsafe_allow_html=True)

colour = stroke_colour(cls, classes)

# display size: about 640 px wide (small images are enlarged for drawing, big ones shrunk)
scale = min(3.0, 640 / w)
cw, ch = max(1, int(w * scale)), max(1, int(h * scale))

try:
    from streamlit_drawable_canvas import st_canvas
except Exception as err:  # the component needs a running server (not available in some test modes)
    st_canvas = None
    st.warning(f"The drawing canvas is unavailable here: {err}")

if st_canvas is not None:
    canvas_key = f"canvas_{stem}_{st.session_state.get('canvas_gen', 0)}"
    if st.session_state.get("ann_base", (None,))[0] != canvas_key:
        st.session_state["ann_base"] = (canvas_key, saved)
    base = st.session_state["ann_base"][1]
    fill = "rgba(%d,%d,%d,1)" % colour
    result = st_canvas(fill_color=fill, stroke_width=stroke, stroke_color=hex_colour(colour),
                       background_image=Image.fromarray(overlay(image, unlabelled if base is None else base,
                                                                classes, alpha)),
                       update_streamlit=True, height=ch, width=cw, drawing_mode=mode, return_image_data=True,
                       key=canvas_key)
    try:
        data = result.image_data
    except Exception:
        data = None
    if data is not None:
        digest = hashlib.sha1(np.ascontiguousarray(data).tobytes()).hexdigest()
        if st.session_state.get("ann_digest") != (canvas_key, digest):
            st.session_state["ann_digest"] = (canvas_key, digest)
            target = apply_strokes(base, strokes_to_labels(np.asarray(data), classes, (h, w)), (h, w))
            if target is None:  # every stroke undone: back to no mask at all
                if saved is not None:
                    ws.clear_mask(stem)
                    mask = unlabelled
                    st.toast(f"{stem}: back to unlabelled")
            elif saved is None or not np.array_equal(target, saved):
                ws.save_mask(stem, target)
                mask = target
                st.toast(f"saved {stem}.png")

st.subheader("Current mask")
m1, m2 = st.columns(2)
m1.image(overlay(image, mask, classes, max(alpha, 0.3)), caption=f"{stem}: overlay", width="stretch")
shares, unlabelled_share = coverage(mask, classes)
m2.markdown("\n".join(f"- **{n}**: {share:.1%}" for n, share in zip(classes.names, shares))
            + f"\n- *unlabelled*: {unlabelled_share:.1%}")
