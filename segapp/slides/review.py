"""The Review page's whole slides: predict a registered slide with the run picked (in the background, with
counts, Cancel, and resuming where a cancel stopped), then its predicted classes over the overview, a heat
map of where its objects are, and any region at full resolution with its prediction."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from seg_core.infer.overlay import overlay
from seg_core.slides.folder import measure_slide, model_id
from seg_core.slides.pyramid import read_mask_level, read_mask_region
from seg_core.slides.reader import open_slide
from seg_core.slides.registry import SLIDES, registered
from segapp.state import start_task, task_panel, task_running
from segapp.slides.annotate import pick_slide
from segapp.slides.region_box import draw_region, inputs
from segapp.slides.view import density_map, draw_box, heat_overlay, slide_overview


def results_dir(ws, run, rec: dict) -> Path:
    """Where the app keeps a slide's prediction by a run: ``WS/slides/results/<run>/<slide>/``."""
    return Path(ws.root) / SLIDES / "results" / run.name / rec["name"]


def _predict_target(pred, run, rec: dict, out: Path, settings):
    def target(progress, cancel):
        for name in ("objects.csv", "images.csv"):
            (out / name).unlink(missing_ok=True)  # a new count, not appended to an old one
        with open_slide(Path(rec["file"])) as slide:
            return measure_slide(pred, slide, model_id(run.path), out, settings, 0, progress, cancel)
    return target


def slides_review_panel(ws, run, pred, classes, settings, alpha: float) -> None:
    """Shown when the project has registered slides; ``settings``: the objects' (the page's)."""
    if not registered(ws.root):
        return
    st.subheader("Whole slides")
    rec = pick_slide(ws, "rev_slide")
    out = results_dir(ws, run, rec)
    key = str(out)
    mask_file = out / "masks" / f"{rec['name']}.ome.tif"
    label = "Predict the whole slide again" if mask_file.is_file() else "Predict the whole slide and count its objects"
    if st.button(label, key="rev_slide_predict", disabled=task_running("slide", key),
                 help="Tile by tile in the background (glass skipped); Cancel keeps the tiles done, and pressing "
                      "this again goes on from there."):
        if start_task("slide", key, f"{rec['name']} with {run.name}", _predict_target(pred, run, rec, out, settings)):
            st.rerun()
    task_panel("slide", key)
    if not mask_file.is_file():
        st.caption("Not predicted with this run yet.")
        return
    got = slide_overview(rec)
    if got is None:
        return
    image, ds = got
    low = cv2.resize(read_mask_level(mask_file), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    objects = _objects(out / "objects.csv")
    left, right = st.columns(2)
    left.image(overlay(image, low, classes, alpha), caption="Predicted classes", width="stretch")
    xy = objects[["centroid_x", "centroid_y"]].to_numpy(float) if len(objects) else np.zeros((0, 2))
    right.image(heat_overlay(image, density_map(xy, image.shape[:2], ds)),
                caption=f"Where the {len(objects):,} objects are (yellow: most)", width="stretch")
    if len(objects):
        st.dataframe(objects.groupby("class").size().rename("objects"))
    st.markdown("**Look at a region at full resolution**")
    box = inputs(rec, "rev_region", size=512)
    try:
        with open_slide(Path(rec["file"])) as slide:
            pixels = slide.read(*box)
        mask = read_mask_region(mask_file, *box)
    except (OSError, ValueError) as err:
        st.error(str(err))
        return
    a, b = st.columns([1, 2])
    with a:
        draw_region(draw_box(image.copy(), box, ds), rec, ds, "rev_region")
        st.caption("Where it is: drag a box here to look elsewhere")
    b.image(overlay(pixels, mask, classes, alpha), caption=f"x {box[0]}, y {box[1]}, {box[2]} x {box[3]} pixels",
            width="stretch")


def _objects(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame()
