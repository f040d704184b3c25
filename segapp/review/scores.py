"""The model the Review page looks at, and its scores on the labelled images: overall, per class and per image.
``scores_panel`` is the one place that reads the evaluation (``Workspace.evaluate``)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from seg_core import Run
from seg_core.infer.evaluation import Evaluation
from segapp.state import predictor, runs_with_checkpoint
from segapp.words import OVERLAP, column_config, say


def _run_label(r):
    m, c = r.best_val_miou, r.settings  # settings: {} when config.json is damaged
    return (f"{r.name} ({c.get('backbone')}" + (f", overlap {m:.3f}" if m is not None else "")
            + (f", {r.state}" if r.state != "done" else "") + ")")


def pick_model(ws):
    """The run to review, its classes and its predictor; the page stops when there is none, or when the run
    picked is damaged (named)."""
    runs = runs_with_checkpoint(ws)
    if not runs:
        st.info("No trained runs yet: train one on the **Train** page.")
        st.stop()
    run = st.selectbox("Model", runs, format_func=_run_label, key="review_run",
                       help="Each training makes a model (a run); the overlap is its best score on the images kept "
                            "aside.")
    st.caption(OVERLAP)
    try:
        return run, run.classes, predictor(run)
    except Exception as err:  # a damaged run folder (config, classes, checkpoint): say which file, pick another run
        st.error(f"Cannot use the run {run.name}: {err}")
        st.stop()


@st.cache_data(show_spinner="Scoring the run on the labelled images…", max_entries=8)
def _evaluate(_ws, run_path: str, checkpoint_stamp: float, data_dir: str, masks_stamp: tuple):
    return _ws.evaluate(Run(run_path))  # the stamps and the folder are the cache's key


def evaluation(ws, run):
    """The run scored on the workspace's labelled images (cached until the checkpoint or a mask changes); None,
    said as an error, when it cannot be scored."""
    try:
        return _evaluate(ws, str(run.path), run.checkpoint_mtime, str(ws.data_dir), ws.masks_stamp())
    except Exception as err:
        st.error(f"Could not score {run.name}: {err}")
        return None


def scores_panel(evaluation: Evaluation) -> list[str]:
    """The scores: on new images and on all labelled ones, per class and per image (worst first), with the
    evaluation's warnings. Returns the images scored, worst first (the viewer's order)."""
    ev = evaluation
    for warning in ev.warnings:  # e.g. a class nobody labelled in any scored image
        say("warning", warning)
    held = ev.held_out
    m0, m1, m2, m3, m4 = st.columns(5)
    if held:
        m0.metric(f"Overlap, new images ({held.images})", f"{held.miou:.3f}",
                  help="Images the model did not learn from: those kept aside, and images labelled since (mIoU, "
                       "held out).")
    m1.metric("Overlap, all labelled", f"{ev.miou:.3f}", help="mIoU on every labelled image.")
    m2.metric("Dice score", f"{ev.dice:.3f}", help="Another overlap score: twice the shared pixels over the "
                                                       "pixels of both masks (Dice).")
    m3.metric("Pixels right", f"{ev.pixel_accuracy:.3f}", help="Pixel accuracy.")
    m4.metric("Seconds / image", f"{ev.seconds_per_image:.2f}")
    st.caption(f"Scored on {ev.images} labelled image(s); those marked 'train' in the table were "
               "learned from, so only the score on new images shows how the model does on images it never saw."
               if held else f"Scored on {ev.images} labelled image(s), all used in training: optimistic. "
               "Label a few more images to see how the model does on new ones.")
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Per class")
        st.dataframe(pd.DataFrame({"class": list(ev.per_class_iou),
                                   "IoU": list(ev.per_class_iou.values()),
                                   "Dice": [ev.per_class_dice.get(k) for k in ev.per_class_iou]}),
                     hide_index=True, width="stretch",
                     column_config={"IoU": st.column_config.NumberColumn("overlap (IoU)", format="%.3f"),
                                    "Dice": st.column_config.NumberColumn("Dice score", format="%.3f")})
    with c2:
        st.subheader("Per image (worst first)")
        per_image = pd.DataFrame([r.to_json() for r in ev.per_image]).sort_values("miou")
        st.dataframe(per_image, hide_index=True, width="stretch", column_config=column_config(per_image.columns))
    return [Path(r.image).stem for r in sorted(ev.per_image, key=lambda r: r.miou)]
