"""Sharper edges (dense CRF) and mirrored copies (TTA) on the Review page: what the run measured when it
finished, the switches (starting there), the edge settings, and the image in the viewer before and after."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from seg_core import CRFParams
from seg_core.infer.metrics import image_miou
from seg_core.infer.overlay import overlay
from seg_core.infer.balance import KEY as BALANCE_KEY
from seg_core.infer.postprocess import MIN_IMAGES, chosen_by_measurement, resolve
from seg_core.base.messages import split_details
from segapp.review.viewer import Viewed
from segapp.words import VARIANTS, say


def _measured(run) -> None:
    """What the run measured on its held-out images when it finished, in words, and its table."""
    chosen = resolve(run.postprocess)  # what the run measured on its held-out images (seg_core.infer.postprocess)
    on = " and ".join(["sharpened edges"] * chosen.crf + ["mirrored copies"] * chosen.tta) or "neither"
    kept = (run.postprocess or {}).get("images", 0)
    told = (f"Measured when {run.name} finished, on the {kept} images kept aside: {on} made the masks better."
            if chosen_by_measurement(run.postprocess) else
            f"Too few images were kept aside when {run.name} finished to measure what helps ({kept} of the "
            f"{MIN_IMAGES} needed), so " + ("masks average mirrored copies (they made masks better on every kind "
                                            "of image tried) and edges are not sharpened." if chosen.tta else
                                            "masks are shown as predicted."))
    st.caption(f"{told} The switches start there; predictions and downloads on this page follow them.",
               help=f"Technical details: {chosen.reason}")
    balance = (run.postprocess or {}).get(BALANCE_KEY)
    if balance and balance.get("strength"):
        how = {1.0: "that", 0.5: "half of that"}.get(balance["strength"], f"{balance['strength']:g} of that")
        st.caption(f"The model learned with rare classes counted more; its masks take {how} back, which matched "
                   f"your masks better on the {balance['images']} images kept aside.",
                   help=f"Technical details: {balance['reason']} (seg_core.infer.balance).")
    way = (run.postprocess or {}).get("orientation")  # which way up, found while it trained (training/orientation.py)
    if way and way.get("reason"):
        found = ("your images read the same turned, so from then on it also learned from each piece turned and "
                 "mirrored" if way.get("any_way_round") else "your images have an up, so it kept learning from them "
                                                             "upright")
        st.caption(f"Which way up, checked while {run.name} trained: {found}.",
                   help=f"Technical details: {split_details(way['reason'])[1] or way['reason']}")
    measured = (run.postprocess or {}).get("miou")
    if measured:
        st.dataframe(pd.DataFrame([{"variant": VARIANTS.get(v, v), "held-out mIoU": m,
                                    "vs plain": m - measured["plain"]} for v, m in measured.items()]), hide_index=True,
                     column_config={"variant": "masks", "held-out mIoU": st.column_config.NumberColumn(
                         "overlap on the images kept aside", format="%.3f"), "vs plain": st.column_config.NumberColumn(
                         "change", format="%+.3f", help="Compared with the masks as predicted.")})


def _crf_params() -> CRFParams:
    k1, k2, k3, k4 = st.columns(4)
    crf_default = CRFParams()
    return CRFParams(iterations=k1.slider("Rounds", 1, 20, crf_default.iterations, key="crf_it",
                                          help="How often the edges are moved (iterations)."),
                     sxy_bilateral=k2.slider("Reach (pixels)", 1.0, 150.0, crf_default.sxy_bilateral, key="crf_sxy",
                                             help="How far apart pixels still pull each other to one class "
                                                  "(sxy_bilateral)."),
                     srgb=k3.slider("Colour tolerance", 1.0, 60.0, crf_default.srgb, key="crf_srgb",
                                    help="How different in colour pixels may be and still pull together (srgb)."),
                     compat_bilateral=k4.slider("Strength", 0.0, 20.0, crf_default.compat_bilateral,
                                                key="crf_compat", help="How strongly the edges follow the colours "
                                                                       "(compat_bilateral)."))


def post_processing_panel(run, pred, viewed: Viewed, classes) -> dict:
    """The switches and settings, and the image in the viewer as predicted and with them (its overlap with the
    user's mask and its change). Returns how the page's predictions and downloads predict (``Predictor.predict``'s
    ``crf`` and ``tta``)."""
    _measured(run)
    chosen = resolve(run.postprocess)
    s1, s2 = st.columns(2)
    use_crf = s1.toggle("Sharpen edges along the image's colours", value=chosen.crf, key=f"crf_on_{run.name}",
                        help="Moves each mask's edge to where the image's colour changes (a dense CRF).")
    use_tta = s2.toggle("Average with mirrored copies", value=chosen.tta, key=f"tta_on_{run.name}",
                        help="Predicts the image and its mirrored copies and averages them: steadier, slower "
                             "(test-time augmentation, TTA).")
    params = _crf_params()
    post = {"crf": params if use_crf else False, "tta": use_tta}
    image, alpha = viewed.image, viewed.alpha
    if (use_crf or use_tta) and image is not None:
        try:
            p, q = viewed.prediction, pred.predict(image, **post)
            b1, b2 = st.columns(2)
            what = " and ".join(["sharpened edges"] * use_crf + ["mirrored copies"] * use_tta)
            b1.image(overlay(image, p.mask, classes, alpha), caption="as predicted", width="stretch")
            b2.image(overlay(image, q.mask, classes, alpha),
                     caption=f"with {what} ({q.seconds + q.crf_seconds:.2f} s)", width="stretch")
            if q.note:  # a very large image: predicted tile by tile, no CRF
                say("info", q.note)
            if viewed.mask is not None:
                before, after = (image_miou(m, viewed.mask, len(classes)) for m in (p.mask, q.mask))
                st.metric("Overlap on this image", f"{after:.3f}", delta=f"{after - before:+.3f}",
                          help="mIoU with your mask, and its change from the masks as predicted.")
        except Exception as err:
            st.error(f"Sharpening the edges or averaging mirrored copies failed: {err}")
    return post
