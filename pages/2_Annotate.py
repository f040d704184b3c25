"""Annotate: paint class labels over an image; every change is saved to the mask file at once."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app_state, seg_core

import hashlib

import numpy as np
import streamlit as st
from PIL import Image

from app_state import hex_colour, legend_html, predictor, runs_with_checkpoint, workspace
from seg_core.overlay import overlay

UNLABELLED = 255
ERASER_COLOUR = (255, 0, 255)  # drawn for "unlabelled"; must not equal a class colour

ws = workspace()
st.title("Annotate")
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
mask = ws.read_mask(stem)
if mask is None:
    mask = np.full((h, w), UNLABELLED, np.uint8)

with c2:
    runs = runs_with_checkpoint(ws)
    if st.button("Start from the latest run's prediction", disabled=not runs,
                 help="Replaces this image's mask with the newest trained run's prediction."):
        pred = predictor(runs[0]).predict(image, crf=False).mask
        ws.save_mask(stem, pred.astype(np.uint8))
        st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1
        st.rerun()
    if st.button("Clear mask (all unlabelled)"):
        if ws.mask_path(stem).exists():
            ws.mask_path(stem).unlink()
        st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1
        st.rerun()

options = list(range(len(classes))) + [UNLABELLED]
t1, t2, t3, t4 = st.columns(4)
cls = t1.selectbox("Class", options, key="ann_class",
                   format_func=lambda i: "eraser (unlabelled)" if i == UNLABELLED else f"{i}: {classes.names[i]}")
mode = t2.radio("Tool", ["freedraw", "polygon", "rect"], key="ann_mode",
                format_func={"freedraw": "brush", "polygon": "polygon", "rect": "rectangle"}.get, horizontal=True)
stroke = t3.slider("Brush width", 1, 60, 15, key="ann_width")
alpha = t4.slider("Mask opacity", 0.0, 1.0, 0.45, key="ann_alpha")
st.markdown(legend_html(classes) + f'<span style="font-size:0.8em">eraser draws in '
            f'{hex_colour(ERASER_COLOUR)}</span>', unsafe_allow_html=True)

colour = ERASER_COLOUR if cls == UNLABELLED else tuple(classes.colours[cls])
palette = [tuple(c) for c in classes.colours] + [ERASER_COLOUR]
values = list(range(len(classes))) + [UNLABELLED]


def strokes_to_labels(rgba: np.ndarray) -> np.ndarray | None:
    """Canvas RGBA (canvas size) -> (H, W) int16 of class values where painted, -1 elsewhere."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] < 4:
        return None
    painted = rgba[..., 3] > 0
    if not painted.any():
        return None
    rgb = rgba[..., :3].astype(np.int32)
    pal = np.array(palette, np.int32)
    d = ((rgb[:, :, None, :] - pal[None, None]) ** 2).sum(-1)
    lab = np.array(values, np.int16)[d.argmin(-1)]
    lab[~painted] = -1
    if lab.shape != (h, w):  # canvas is display-sized: resize to the image, nearest neighbour
        lab = np.array(Image.fromarray(lab.astype(np.int32)).resize((w, h), Image.NEAREST)).astype(np.int16)
    return lab


# display size: about 640 px wide (small images are enlarged for drawing, big ones shrunk)
scale = min(3.0, 640 / w)
cw, ch = max(1, int(w * scale)), max(1, int(h * scale))
background = Image.fromarray(overlay(image, mask, classes, alpha))

try:
    from streamlit_drawable_canvas import st_canvas
except Exception as err:  # the component needs a running server (not available in some test modes)
    st_canvas = None
    st.warning(f"The drawing canvas is unavailable here: {err}")

if st_canvas is not None:
    st.caption("Draw with the selected class; the mask is saved after each stroke. Use the canvas toolbar to undo.")
    fill = "rgba(%d,%d,%d,1)" % colour
    result = st_canvas(fill_color=fill, stroke_width=stroke, stroke_color=hex_colour(colour),
                       background_image=background, update_streamlit=True, height=ch, width=cw,
                       drawing_mode=mode, return_image_data=True,
                       key=f"canvas_{stem}_{st.session_state.get('canvas_gen', 0)}")
    data = None
    try:
        data = result.image_data
    except Exception:
        data = None
    if data is not None:
        digest = hashlib.sha1(np.ascontiguousarray(data).tobytes()).hexdigest()
        key = f"ann_hash_{stem}"
        if st.session_state.get(key) != digest:
            st.session_state[key] = digest
            lab = strokes_to_labels(np.asarray(data))
            if lab is not None:
                base = ws.read_mask(stem)
                base = np.full((h, w), UNLABELLED, np.uint8) if base is None else base
                new = base.copy()
                new[lab >= 0] = lab[lab >= 0].astype(np.uint8)
                if not np.array_equal(new, base):
                    ws.save_mask(stem, new)
                    mask = new
                    st.toast(f"saved {stem}.png")

st.subheader("Current mask")
m1, m2 = st.columns(2)
m1.image(overlay(image, mask, classes, max(alpha, 0.3)), caption=f"{stem}: overlay", width="stretch")
counts = np.bincount(mask.ravel(), minlength=256)
m2.markdown("\n".join(f"- **{n}**: {counts[i] / mask.size:.1%}" for i, n in enumerate(classes.names))
            + f"\n- *unlabelled*: {counts[UNLABELLED] / mask.size:.1%}")
