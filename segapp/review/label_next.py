"""Which image to label next (Review page): the unlabelled images ranked by how much labelling each would teach
the model, and where the model hesitates on the one picked."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from seg_core.infer.overlay import overlay
from seg_core.infer.ranking import EXPLAIN, heat_overlay, hesitation, rank_images, run_images


def label_next_panel(ws, run, pred, classes, alpha: float) -> None:
    """Rank the unlabelled images with the run (on request); the ranking, and a heat map of the one picked."""
    candidates = ws.unlabelled_images()
    if not candidates:
        st.caption("Every image has a mask: add more images on the **Data** page to get suggestions.")
        return
    st.caption(EXPLAIN)
    if st.button(f"Rank the {len(candidates)} unlabelled image(s) with {run.name}", key="rank_btn"):
        bar = st.progress(0.0, text="ranking…")
        covered = {p.name: p for p in run_images(run) + ws.labelled_images()}  # the run's images, and labels since
        rows = rank_images(pred, candidates, list(covered.values()),
                           progress=lambda c: bar.progress(c.fraction, text=f"{c.done}/{c.total} {c.item}"))
        st.session_state["ranked"] = (run.name, rows)
    ranked = st.session_state.get("ranked")
    if not ranked or ranked[0] != run.name:
        return
    rows = ranked[1]
    st.dataframe(pd.DataFrame([{"image": r.image, "why": r.reason, "score": r.score,
                                "unsure pixels": r.unsure_fraction, "problem": r.error or ""} for r in rows]),
                 hide_index=True, width="stretch",
                 column_config={"score": st.column_config.NumberColumn(help="1 for the first to label, down "
                                                                            "to 0 for the last"),
                                "unsure pixels": st.column_config.NumberColumn(
                                    help="Share of pixels whose class changes when the image is mirrored")})
    ok = [r.image for r in rows if r.error is None]
    if not ok:
        return
    pick = st.selectbox("Show where the model hesitates", ok, key="rank_pick")
    img = pred.read(ws.images_dir / pick)
    guess = pred.predict(img, crf=False)
    h1, h2 = st.columns(2)
    try:
        h1.image(heat_overlay(img, hesitation(pred, img, pick)[0]),
                 caption=f"{pick}: where the model hesitates (bright: its answer changes when mirrored)",
                 width="stretch")
    except ValueError as err:  # too large for full-size class probabilities
        h1.info(str(err))
    h2.image(overlay(img, guess.mask, classes, alpha), caption="prediction", width="stretch")
    st.caption("Label the top images on the **Annotate** page, then train again (continue from this run).")
