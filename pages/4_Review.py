"""Review: scores of a run per class and per image, overlays, dense CRF, predicting new images."""
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app_state import file_types, legend_html, predictor, runs_with_checkpoint, workspace
from seg_core import CRFParams, Run, evaluate_run
from seg_core.export import masks_zip
from seg_core.imageio import IMAGE_EXTS, read_image
from seg_core.mask_values import UNLABELLED
from seg_core.metrics import confusion, scores
from seg_core.overlay import overlay

ws = workspace()
st.title("Review")

runs = runs_with_checkpoint(ws)
if not runs:
    st.info("No trained runs yet: train one on the **Train** page.")
    st.stop()


def _run_label(r):
    s = r.status
    m = s.get("best_val_miou")
    return f"{r.name} ({r.config.get('backbone')}/{r.config.get('arch')}" + (f", val mIoU {m:.3f})" if m is not None else ")")


run = st.selectbox("Run", runs, format_func=_run_label, key="review_run")
classes = run.classes


@st.cache_data(show_spinner="Scoring the run on the labelled images…", max_entries=8)
def _evaluate(run_path: str, checkpoint_stamp: float, data_dir: str, masks_stamp: tuple) -> dict:
    return evaluate_run(Run(run_path), Path(data_dir), ignore_index=UNLABELLED, require_masks=False)


try:
    ev = _evaluate(str(run.path), run.checkpoint_mtime, str(ws.data_dir), ws.masks_stamp())
except Exception as err:
    st.error(f"Could not score {run.name}: {err}")
    ev = None

if ev:
    held = ev.get("held_out")
    m0, m1, m2, m3, m4 = st.columns(5)
    if held:
        m0.metric(f"mIoU, held out ({held['images']} img)", f"{held['miou']:.3f}",
                  help="Images the model did not train on: its validation split and images labelled since.")
    m1.metric("mIoU, all labelled", f"{ev['miou']:.3f}")
    m2.metric("Dice", f"{ev['dice']:.3f}")
    m3.metric("Pixel accuracy", f"{ev['pixel_accuracy']:.3f}")
    m4.metric("Seconds / image", f"{ev['seconds_per_image']:.2f}")
    st.caption(f"Scored on {ev['images']} labelled workspace image(s); those marked 'train' in the table were "
               "trained on, so only the held-out score shows how the model does on new images."
               if held else f"Scored on {ev['images']} labelled image(s), all used in training: optimistic. "
               "Label a few more images to see how the model does on new ones.")
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Per class")
        st.dataframe(pd.DataFrame({"class": list(ev["per_class_iou"]),
                                   "IoU": list(ev["per_class_iou"].values()),
                                   "Dice": [ev["per_class_dice"].get(k) for k in ev["per_class_iou"]]}),
                     hide_index=True, width="stretch")
    with c2:
        st.subheader("Per image (worst first)")
        st.dataframe(pd.DataFrame(ev["per_image"]).sort_values("miou"), hide_index=True, width="stretch")

# -- viewer ----------------------------------------------------------------------------------------
st.subheader("Image viewer")
stems = ws.stems()
if ev and ev["per_image"]:
    worst = [Path(r["image"]).stem for r in sorted(ev["per_image"], key=lambda r: r["miou"])]
    stems = worst + [s for s in stems if s not in worst]
c1, c2 = st.columns([2, 1])
stem = c1.selectbox("Image", stems, key="review_image")
alpha = c2.slider("Overlay opacity", 0.0, 1.0, 0.5, key="review_alpha")
st.markdown(legend_html(classes), unsafe_allow_html=True)

pred = predictor(run)
image = ws.read_image(stem)
p = pred.predict(image, crf=False)
gt = ws.read_mask(stem)
v1, v2 = st.columns(2)
v1.image(overlay(image, p.mask, classes, alpha), caption=f"prediction ({p.seconds * 1000:.0f} ms)", width="stretch")
if gt is not None:
    v2.image(overlay(image, gt, classes, alpha), caption="ground truth (white/uncoloured = unlabelled)",
             width="stretch")
else:
    v2.image(image, caption="no ground truth for this image", width="stretch")

with st.expander("Dense CRF refinement"):
    use_crf = st.toggle("Refine with a dense CRF", key="crf_on")
    k1, k2, k3, k4 = st.columns(4)
    crf_default = CRFParams()
    params = CRFParams(iterations=k1.slider("iterations", 1, 20, crf_default.iterations, key="crf_it"),
                       sxy_bilateral=k2.slider("sxy_bilateral", 1.0, 150.0, crf_default.sxy_bilateral, key="crf_sxy"),
                       srgb=k3.slider("srgb", 1.0, 60.0, crf_default.srgb, key="crf_srgb"),
                       compat_bilateral=k4.slider("compat_bilateral", 0.0, 20.0, crf_default.compat_bilateral,
                                                  key="crf_compat"))
    if use_crf:
        try:
            q = pred.predict(image, crf=params)
            b1, b2 = st.columns(2)
            b1.image(overlay(image, p.mask, classes, alpha), caption="before CRF", width="stretch")
            b2.image(overlay(image, q.mask, classes, alpha), caption=f"after CRF ({q.crf_seconds:.2f} s)",
                     width="stretch")
            if gt is not None:
                n = len(classes)
                before = scores(confusion(p.mask, gt, n), classes.names)["miou"]
                after = scores(confusion(q.mask, gt, n), classes.names)["miou"]
                st.metric("mIoU on this image", f"{after:.3f}", delta=f"{after - before:+.3f}")
        except Exception as err:
            st.error(f"CRF failed: {err}")

# -- new images ------------------------------------------------------------------------------------
st.subheader("Predict new images")
ups = st.file_uploader("Images to segment", accept_multiple_files=True,
                       type=file_types(IMAGE_EXTS), key="review_upload")
to_zip: list[tuple[str, np.ndarray]] = []
for f in ups or []:
    try:
        img = read_image(Path(f.name), f.getvalue())
    except Exception as err:
        st.error(f"{f.name}: {err}")
        continue
    r = pred.predict(img, crf=params if use_crf else False)
    st.image(overlay(img, r.mask, classes, alpha), caption=f.name, width=400)
    to_zip.append((Path(f.name).stem, r.mask))

dl_all = st.checkbox("Include predicted masks of all workspace images in the download", key="dl_all")
if dl_all:
    for s in ws.stems():
        to_zip.append((s, pred.predict(ws.read_image(s), crf=False).mask))
if to_zip:
    st.download_button("Download masks (index PNGs, zip)", masks_zip(to_zip, classes),
                       file_name=f"{run.name}_masks.zip", mime="application/zip")
