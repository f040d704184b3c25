"""Annotate: paint class labels over an image; every change is saved to the mask file at once."""
import hashlib

import numpy as np
import streamlit as st
from PIL import Image

from app_state import hex_colour, legend_html, predictor, workspace
from seg_core.annotation import ERASER_COLOUR, CanvasEdits, brush_values, coverage, stale_values, stroke_colour, \
    strokes_to_labels
from seg_core.mask_edits import mask_version, save_canvas
from seg_core.mask_values import UNLABELLED
from seg_core.overlay import overlay

ws = workspace()
st.title("Annotate")
st.caption("Draw with the selected class; the mask is saved after each stroke. The canvas toolbar's undo, redo "
           "and reset act on the saved mask too. Pixels nobody painted stay unlabelled (not used in training). "
           "Each save adds only this canvas's strokes to the file as it is then, so another tab's work is kept.")
stems = ws.stems()
if not stems:
    st.info("No images yet: add some on the **Data** page.")
    st.stop()

try:
    classes = ws.classes()
except ValueError as err:  # a damaged classes.json: nothing can be painted until it is fixed
    st.error(f"{err}. Fix it on the **Data** page (Classes: Save classes writes a new one).")
    st.stop()
if st.session_state.get("ann_stem") not in stems:  # removed meanwhile (another tab, the Data page)
    st.session_state.pop("ann_stem", None)
if st.session_state.get("ann_class") not in brush_values(classes):  # a class removed meanwhile
    st.session_state.pop("ann_class", None)
c1, c2 = st.columns([2, 1])
stem = c1.selectbox("Image", stems, format_func=lambda s: s + ("" if ws.mask_path(s).exists() else "  (unlabelled)"),
                    key="ann_stem")
try:
    image = ws.read_image(stem)
except (OSError, ValueError) as err:  # removed meanwhile, or not readable: pick another image
    st.error(f"{stem}: {err}" if stem not in str(err) else str(err))
    st.stop()
h, w = image.shape[:2]
unlabelled = np.full((h, w), UNLABELLED, np.uint8)
try:
    saved = ws.read_mask(stem)  # None: nobody labelled this image yet
    if saved is not None and saved.shape != (h, w):
        raise ValueError(f"{ws.mask_path(stem).name}: the mask is {saved.shape[1]}x{saved.shape[0]} but the image is "
                         f"{w}x{h}")
except (OSError, ValueError) as err:
    st.error(f"{err if ws.mask_path(stem).name in str(err) else f'{ws.mask_path(stem).name}: {err}'}")
    if st.button("Put the damaged mask aside (kept as a backup) and start a new one", key="ann_damaged"):
        ws.replace_mask(stem, None, "damaged")
        st.rerun()
    st.stop()
mask = unlabelled if saved is None else saved
if saved is not None and (stale := stale_values(saved, classes)):
    st.warning(f"{stem}.png holds the values {stale}, which are no classes now (0..{len(classes) - 1}): they show "
               "uncoloured and stay as they are. Paint over them, or add the classes back on the **Data** page.")


def new_canvas() -> None:
    """Start a fresh canvas drawn over the mask saved now."""
    st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1
    st.session_state.pop("ann_edits", None)


# Each canvas remembers what it wrote (``CanvasEdits``): a save lays only its change onto the file as it is
# now (``mask_edits.save_canvas``), so the toolbar's undo, redo and reset change the saved file too, and
# another tab's strokes or Clear are never overwritten. A canvas remounted empty (another image, or back
# from another page) starts afresh over the saved mask (see ``canvas_key`` below).

with c2:
    runs = ws.runs_to_propose()
    if st.button("Start from the latest run's prediction", disabled=not runs,
                 help="Shows the newest finished run's prediction as a proposal; it replaces this image's mask "
                      "only when you accept it, and the replaced mask can be restored."
                      if runs else "No finished run with a checkpoint trained on these classes yet."):
        try:
            pred = predictor(runs[0]).predict(image, crf=False).mask
            st.session_state["ann_proposal"] = (stem, runs[0].name, pred.astype(np.uint8))
        except Exception as err:  # a damaged run: say which
            st.error(f"Could not predict with {runs[0].name}: {err}")
    if st.button("Clear mask (all unlabelled)", help="The cleared mask is kept as a backup: Restore brings it back."):
        ws.replace_mask(stem, None, "clear")
        new_canvas()
        st.rerun()
    backups = ws.mask_backups(stem)
    if backups and st.button("Restore the previous mask", help=f"Undo the last replacement ({backups[0].name})"):
        ws.restore_mask(stem)
        st.toast(f"{stem}: restored the mask from before '{backups[0].stem.split('_', 1)[-1]}'")
        new_canvas()
        st.rerun()

proposal = st.session_state.get("ann_proposal")
if proposal is not None and proposal[0] == stem:
    _, run_name, proposed = proposal
    st.info(f"Proposal: the prediction of run **{run_name}**. Nothing is changed until you accept it; the mask it "
            "replaces is kept as a backup (Restore the previous mask).")
    p1, p2 = st.columns(2)
    p1.image(overlay(image, mask, classes, 0.45), caption=f"{stem}: mask now", width="stretch")
    p2.image(overlay(image, proposed, classes, 0.45), caption=f"proposal from {run_name}", width="stretch")
    a1, a2 = st.columns(2)
    if a1.button("Accept: replace the mask with this prediction", type="primary"):
        ws.replace_mask(stem, proposed, f"prediction of {run_name}")
        st.session_state.pop("ann_proposal", None)
        new_canvas()
        st.rerun()
    if a2.button("Discard the proposal"):
        st.session_state.pop("ann_proposal", None)
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
    # Streamlit drops a widget's state when a finished run did not draw it, which is also when the browser
    # unmounts it (another page, another image): then the canvas comes back empty and starts afresh. Runs cut
    # short by the next stroke keep it, so fast strokes are never mistaken for a new canvas.
    if canvas_key not in st.session_state or st.session_state.get("ann_edits", {}).get("key") != canvas_key:
        st.session_state["ann_edits"] = {"key": canvas_key, "base": saved, "stale": False,
                                         "edits": CanvasEdits.start((h, w), mask_version(ws.mask_path(stem)))}
    state = st.session_state["ann_edits"]
    base = state["base"]
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
            try:
                out = save_canvas(ws, stem, state["edits"], strokes_to_labels(np.asarray(data), classes, (h, w)),
                                  (h, w))
            except (OSError, ValueError) as err:  # the mask or image went bad meanwhile: say which, keep going
                st.error(str(err))
            else:
                st.session_state["ann_digest"] = (canvas_key, digest)
                state["edits"] = out.result.edits
                state["stale"] = state["stale"] or out.changed_elsewhere
                mask = unlabelled if out.result.mask is None else out.result.mask
                if out.wrote:
                    st.toast(f"saved {stem}.png" if out.result.mask is not None else f"{stem}: back to unlabelled")
                if out.result.kept_theirs:
                    st.toast(f"{out.result.kept_theirs} pixel(s) changed in another tab since were left as they are")
    if state["stale"] or mask_version(ws.mask_path(stem)) != state["edits"].seen:
        state["stale"] = True
        st.info("This mask was changed elsewhere since this canvas opened (another tab, a Clear, an import): your "
                "strokes are added to that version, never over it, and **Current mask** below shows the file as "
                "saved. The canvas still shows the mask as it was when it opened.")
        if st.button("Reload the canvas on the saved mask"):
            new_canvas()
            st.rerun()
        try:
            mask = ws.read_mask(stem)
            mask = unlabelled if mask is None or mask.shape != (h, w) else mask
        except (OSError, ValueError) as err:
            st.error(str(err))

st.subheader("Current mask")
m1, m2 = st.columns(2)
m1.image(overlay(image, mask, classes, max(alpha, 0.3)), caption=f"{stem}: overlay", width="stretch")
shares, unlabelled_share = coverage(mask, classes)
m2.markdown("\n".join(f"- **{n}**: {share:.1%}" for n, share in zip(classes.names, shares))
            + f"\n- *unlabelled*: {unlabelled_share:.1%}")
