"""Propose a mask from a trained run: the run picker (the best first) and the button that predicts the image and
keeps the prediction as a proposal to correct on the canvas."""
from __future__ import annotations

import streamlit as st

from seg_core.workspace.proposals import best_run
from segapp.annotate.image import Picture
from segapp.state import predictor
from segapp import access


def propose_panel(ws, picture: Picture):
    """The run picker and the Propose button; returns the run picked (the suggestion may learn from it), None
    when no run was trained on these classes."""
    runs = ws.runs_to_propose()
    if runs:
        best = best_run(runs)
        runs = [best] + [r for r in runs if r is not best]  # the best first: the default
        scores = {r.name: r.best_val_miou for r in runs}
        if st.session_state.get("ann_run") not in scores:
            st.session_state.pop("ann_run", None)
        run_name = st.selectbox("Propose from run", list(scores), key="ann_run",
                                format_func=lambda n: n + ("" if scores[n] is None else f" · overlap {scores[n]:.3f}")
                                + (" (best)" if n == best.name else ""),
                                help="Models that finished training on these classes; the one with the best "
                                     "overlap with your masks (IoU, on the images kept aside) first.")
        run = next(r for r in runs if r.name == run_name)
    else:
        run = None
        st.selectbox("Propose from run", ["no model trained on these classes yet"], disabled=True)
    if st.button("Propose a mask", disabled=run is None or not access.can(ws.root, "paint"),
                 help="The run predicts this image; the prediction is kept as a proposal you correct on the canvas "
                      "and then accept (it becomes the mask, the old one is kept as a backup) or reject.") \
            and access.allowed(ws.root, "paint"):
        stem = picture.stem
        try:
            with st.spinner(f"Predicting {stem} with {run.name}…"):
                pred = predictor(run).predict(picture.image, crf=False).mask
            ws.proposals.save(stem, pred, run.name)
        except Exception as err:  # a damaged run or checkpoint: say which
            st.error(f"Could not predict {stem} with {run.name}: {err}")
        else:
            st.rerun()
    return run
