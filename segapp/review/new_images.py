"""Predicting new images on the Review page: uploaded images segmented at once, and their masks (with every
workspace image's, predicted in the background when asked) zipped for download."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from seg_core.data.imageio import IMAGE_EXTS
from seg_core.infer.export import masks_zip, write_masks_zip
from seg_core.infer.overlay import overlay
from segapp.state import file_types, start_task, task_panel, task_running


def predict_new_panel(ws, run, pred, classes, post: dict, alpha: float) -> None:
    """Upload images to segment; download their masks, or those of every workspace image too. ``post``: how to
    predict (``crf``, ``tta``: the page's switches)."""
    ups = st.file_uploader("Images to segment", accept_multiple_files=True,
                           type=file_types(IMAGE_EXTS), key="review_upload")
    to_zip: list[tuple[str, np.ndarray]] = []
    for f in ups or []:
        try:
            img = pred.read(Path(f.name), f.getvalue())  # 16-bit and float images by the run's ranges
        except Exception as err:
            st.error(f"{f.name}: {err}")
            continue
        r = pred.predict(img, **post)
        st.image(overlay(img, r.mask, classes, alpha), caption=f.name, width=400)
        to_zip.append((Path(f.name).stem, r.mask))
    if not st.checkbox("Include predicted masks of all workspace images in the download", key="dl_all"):
        if to_zip:  # the uploaded images' masks, predicted above: zipped at once
            st.download_button("Download masks (PNG files, zip)", masks_zip(to_zip, classes),
                               file_name=f"{run.name}_masks.zip", mime="application/zip")
        return
    # every workspace image predicted in the background (seg_core.runner.jobs): counts, Cancel, then the download
    ws_stems, zip_key = ws.stems(), str(ws.root)
    uploaded = f" and the {len(to_zip)} uploaded" if to_zip else ""
    if st.button(f"Predict the {len(ws_stems)} workspace image(s){uploaded} and zip the masks", key="masks_zip_btn",
                 disabled=task_running("masks_zip", zip_key)):
        items = [(s, m.copy()) for s, m in to_zip] + [
            (s, lambda s=s: pred.predict(ws.read_image(s, pred.intensities), **post).mask) for s in ws_stems]  # predicted in turn
        zip_path = ws.exports_dir / f"{run.name}_masks.zip"
        if start_task("masks_zip", zip_key, f"Masks of {run.name}",
                      lambda progress, cancel: write_masks_zip(zip_path, items, classes, progress, cancel)):
            st.rerun()
    built = task_panel("masks_zip", zip_key)  # counts and Cancel while it runs; a cancel writes no zip
    if built is not None and built.state == "done":
        for why in built.result.left_out:  # removed meanwhile or unreadable: named, the rest are in the zip
            st.warning(f"{why} (left out of the zip)")
        zipped = built.result.path
        if zipped.is_file():
            st.download_button(f"Download masks (PNG files, zip): {len(built.result.written)} mask(s)",
                               data=lambda: zipped.read_bytes(), file_name=zipped.name, mime="application/zip",
                               key="download_masks_zip")
