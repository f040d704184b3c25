"""Review: scores of a run per class and per image, overlays, objects (counted, measured, outlined), edge
sharpening (dense CRF) and mirrored copies (TTA), predicting new images."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from segapp.navigation import through_app
from segapp.words import OVERLAP, VARIANTS, column_config, say
from segapp.state import (file_types, legend_html, predictor, runs_with_checkpoint, start_task, task_panel,
                       task_running, workspace)
from seg_core import CRFParams, Run
from seg_core.infer.evaluation import Evaluation
from seg_core.infer.export import masks_zip, write_masks_zip
from seg_core.infer.ranking import EXPLAIN, heat_overlay, hesitation, rank_images, run_images
from seg_core.data.imageio import IMAGE_EXTS, read_image
from seg_core.infer.metrics import image_miou
from seg_core.infer.overlay import overlay
from seg_core.infer.postprocess import MIN_IMAGES, chosen_by_measurement, resolve
from seg_core.objects.drawing import outline_objects
from seg_core.objects.folder import instances_tiff, measure_image, measure_images
from seg_core.objects.measure import area_histogram, crop_box
from seg_core.objects.settings import ObjectSettings

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Review")

runs = runs_with_checkpoint(ws)
if not runs:
    st.info("No trained runs yet: train one on the **Train** page.")
    st.stop()


def _run_label(r):
    m, c = r.best_val_miou, r.settings  # settings: {} when config.json is damaged
    return (f"{r.name} ({c.get('backbone')}" + (f", overlap {m:.3f}" if m is not None else "")
            + (f", {r.state}" if r.state != "done" else "") + ")")


run = st.selectbox("Model", runs, format_func=_run_label, key="review_run",
                   help="Each training makes a model (a run); the overlap is its best score on the images kept aside.")
st.caption(OVERLAP)
try:
    classes = run.classes
    pred = predictor(run)
except Exception as err:  # a damaged run folder (config, classes, checkpoint): say which file, pick another run
    st.error(f"Cannot use the run {run.name}: {err}")
    st.stop()


@st.cache_data(show_spinner="Scoring the run on the labelled images…", max_entries=8)
def _evaluate(run_path: str, checkpoint_stamp: float, data_dir: str, masks_stamp: tuple) -> Evaluation:
    return ws.evaluate(Run(run_path))  # the stamps and the folder are the cache's key


try:
    ev = _evaluate(str(run.path), run.checkpoint_mtime, str(ws.data_dir), ws.masks_stamp())
except Exception as err:
    st.error(f"Could not score {run.name}: {err}")
    ev = None

if ev:
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

# -- viewer ----------------------------------------------------------------------------------------
st.subheader("Image viewer")
stems = ws.stems()
if ev and ev.per_image:
    worst = [Path(r.image).stem for r in sorted(ev.per_image, key=lambda r: r.miou)]
    stems = [s for s in worst if s in stems] + [s for s in stems if s not in worst]
if st.session_state.get("review_image") not in stems:  # removed meanwhile (another tab, the Data page)
    st.session_state.pop("review_image", None)
c1, c2 = st.columns([2, 1])
stem = c1.selectbox("Image", stems, key="review_image")
alpha = c2.slider("Overlay opacity", 0.0, 1.0, 0.5, key="review_alpha")
st.markdown(legend_html(classes), unsafe_allow_html=True)

image = gt = None
try:
    if stem is None:
        raise FileNotFoundError("no images in the workspace")
    image = ws.read_image(stem)
    p = pred.predict(image, crf=False)
except Exception as err:  # removed while the page was open, or unreadable: named; the rest of the page works
    say("error", f"{stem}: {err}" if stem and stem not in str(err) else err)
    image = None
if image is not None:
    try:
        gt = ws.read_mask(stem)
        if gt is not None and gt.shape != image.shape[:2]:
            raise ValueError(f"the mask is {gt.shape[1]}x{gt.shape[0]}, the image {image.shape[1]}x{image.shape[0]}")
    except (OSError, ValueError) as err:
        st.warning(f"{ws.mask_path(stem).name}: {err}" if ws.mask_path(stem).name not in str(err) else str(err))
        gt = None
    v1, v2 = st.columns(2)
    v1.image(overlay(image, p.mask, classes, alpha), caption=f"prediction ({p.seconds * 1000:.0f} ms)",
             width="stretch")
    if gt is not None:
        v2.image(overlay(image, gt, classes, alpha), caption="your mask (uncoloured = unlabelled)",
                 width="stretch")
    else:
        v2.image(image, caption="no mask of yours for this image", width="stretch")

# -- objects ---------------------------------------------------------------------------------------
st.subheader("Objects")
saved = ObjectSettings.load(ws.objects_file)  # kept with the workspace: the same next visit
with st.expander("How objects are found"):
    o1, o2, o3, o4 = st.columns(4)
    obj_settings = replace(
        saved,
        split_touching=o1.toggle("Separate touching objects", value=saved.split_touching, key="obj_split",
                                 help="Cuts a region where it narrows between two bodies (a watershed on the "
                                      "distance to the region's edge)."),
        fill_holes=o2.toggle("Fill holes", value=saved.fill_holes, key="obj_fill",
                             help="Background enclosed by an object counts as part of it."),
        min_size=int(o3.number_input("Smallest object (pixels)", 0, 1_000_000, saved.min_size, key="obj_min",
                                     help="Smaller pieces are not counted.")),
        pixel_size=o4.number_input("Pixel size (µm)", 0.0, 10_000.0, saved.pixel_size or 0.0, format="%.4f",
                                   key="obj_px", help="Micrometres per pixel; 0 = unknown (sizes in pixels "
                                                      "only).") or None)
    sure = st.slider("Count a region only where the model is at least this sure (%)", 0, 99,
                     round(saved.min_confidence * 100), key="obj_sure",
                     help="Faint regions, where the model's probability never reaches this, are specks it half "
                          "believes in and are not counted; 0 counts every region. Technical: the peak of the "
                          "predicted class's probability inside the object (hysteresis).")
    obj_settings = replace(obj_settings, min_confidence=sure / 100)
    if obj_settings != saved:
        obj_settings.save(ws.objects_file)
if image is not None:
    measured = measure_image(pred, image, obj_settings, stem, prediction=p)
    table = measured.table
    counts = measured.summary.set_index("class")["count"]
    for col, (name, n) in zip(st.columns(max(1, len(counts))), counts.items()):
        col.metric(f"{name} in {stem}", int(n))
    if measured.objects.faint:
        st.caption(f"{measured.objects.faint} faint region(s) not counted: the model was nowhere in them "
                   f"{obj_settings.min_confidence:.0%} sure (change it under How objects are found).")
    f1, f2 = st.columns(2)
    shown = f1.multiselect("Show classes", classes.names[1:], default=classes.names[1:], key="obj_classes")
    lo, hi = (int(table["area_px"].min()), int(table["area_px"].max())) if len(table) else (0, 0)
    size = f2.slider("Size (pixels)", lo, hi, (lo, hi), key=f"obj_size_{stem}") if lo < hi else (lo, hi)
    view = table[table["class"].isin(shown) & table["area_px"].between(*size)]
    st.caption("Click a row to show that object.")
    event = st.dataframe(view, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key=f"obj_table_{stem}", column_config=column_config(view.columns))
    rows = event.selection.rows if event is not None else []
    picked = view.iloc[rows[0]] if rows and rows[0] < len(view) else None
    centroids = table[["centroid_y", "centroid_x"]].to_numpy()
    drawn = outline_objects(image, measured.objects, classes, centroids,
                            None if picked is None else int(picked["object"]))
    w1, w2 = st.columns(2)
    w1.image(drawn, caption=f"{len(table)} objects, outlined with their numbers", width="stretch")
    if picked is not None:
        w2.image(drawn[crop_box(picked, image.shape[:2])], width="stretch",
                 caption=f"object {int(picked['object'])} ({picked['class']}, {int(picked['area_px'])} pixels)")
    hist = area_histogram(view)
    if not hist.empty:
        w2.caption("Objects by size (pixels)")
        w2.bar_chart(hist, x_label="size (pixels)", y_label="objects")
    d1, d2 = st.columns(2)
    d1.download_button("Download this image's objects (CSV)", table.to_csv(index=False),
                       file_name=f"{stem}_objects.csv", mime="text/csv", key="obj_csv")
    d2.download_button("Download this image's object map (16-bit TIFF)", instances_tiff(measured.objects, stem),
                       file_name=f"{stem}_instances.tif", mime="image/tiff", key="obj_tif",
                       help="One number per object (0 = background), the numbers of the table.")

obj_key = str(ws.root)
if st.button(f"Count the objects in all {len(ws.stems())} workspace image(s)", key="objects_all_btn",
             disabled=task_running("objects_all", obj_key)):
    all_stems, how = ws.stems(), obj_settings
    if start_task("objects_all", obj_key, f"Objects with {run.name}",
                  lambda progress, cancel: measure_images(pred, all_stems, ws.read_image, how, progress, cancel)):
        st.rerun()
done_all = task_panel("objects_all", obj_key)  # counts and Cancel while it runs
if done_all is not None and done_all.state == "done":
    res = done_all.result
    for why in res.left_out:
        st.warning(f"{why} (not counted)")
    if not res.images.empty:
        st.caption("Objects per image")
        st.bar_chart(res.images.pivot(index="image", columns="class", values="count"), x_label="image",
                     y_label="objects")
        a1, a2, a3 = st.columns(3)
        a1.download_button("Download all objects (CSV)", res.objects.to_csv(index=False), file_name="objects.csv",
                           mime="text/csv", key="obj_all_csv")
        a2.download_button("Download counts per image (CSV)", res.images.to_csv(index=False), file_name="images.csv",
                           mime="text/csv", key="obj_images_csv")
        a3.download_button("Download object maps (16-bit TIFFs, zip)", res.instances_zip(),
                           file_name=f"{run.name}_instances.zip", mime="application/zip", key="obj_zip")

with st.expander("Sharper edges and mirrored copies", expanded=True):
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
    measured = (run.postprocess or {}).get("miou")
    if measured:
        st.dataframe(pd.DataFrame([{"variant": VARIANTS.get(v, v), "held-out mIoU": m,
                                    "vs plain": m - measured["plain"]} for v, m in measured.items()]), hide_index=True,
                     column_config={"variant": "masks", "held-out mIoU": st.column_config.NumberColumn(
                         "overlap on the images kept aside", format="%.3f"), "vs plain": st.column_config.NumberColumn(
                         "change", format="%+.3f", help="Compared with the masks as predicted.")})
    s1, s2 = st.columns(2)
    use_crf = s1.toggle("Sharpen edges along the image's colours", value=chosen.crf, key=f"crf_on_{run.name}",
                        help="Moves each mask's edge to where the image's colour changes (a dense CRF).")
    use_tta = s2.toggle("Average with mirrored copies", value=chosen.tta, key=f"tta_on_{run.name}",
                        help="Predicts the image and its mirrored copies and averages them: steadier, slower "
                             "(test-time augmentation, TTA).")
    k1, k2, k3, k4 = st.columns(4)
    crf_default = CRFParams()
    params = CRFParams(iterations=k1.slider("Rounds", 1, 20, crf_default.iterations, key="crf_it",
                                            help="How often the edges are moved (iterations)."),
                       sxy_bilateral=k2.slider("Reach (pixels)", 1.0, 150.0, crf_default.sxy_bilateral, key="crf_sxy",
                                               help="How far apart pixels still pull each other to one class "
                                                    "(sxy_bilateral)."),
                       srgb=k3.slider("Colour tolerance", 1.0, 60.0, crf_default.srgb, key="crf_srgb",
                                      help="How different in colour pixels may be and still pull together (srgb)."),
                       compat_bilateral=k4.slider("Strength", 0.0, 20.0, crf_default.compat_bilateral,
                                                  key="crf_compat", help="How strongly the edges follow the colours "
                                                                         "(compat_bilateral)."))
    if (use_crf or use_tta) and image is not None:
        try:
            q = pred.predict(image, crf=params if use_crf else False, tta=use_tta)
            b1, b2 = st.columns(2)
            what = " and ".join(["sharpened edges"] * use_crf + ["mirrored copies"] * use_tta)
            b1.image(overlay(image, p.mask, classes, alpha), caption="as predicted", width="stretch")
            b2.image(overlay(image, q.mask, classes, alpha),
                     caption=f"with {what} ({q.seconds + q.crf_seconds:.2f} s)", width="stretch")
            if q.note:  # a very large image: predicted tile by tile, no CRF
                say("info", q.note)
            if gt is not None:
                before, after = (image_miou(m, gt, len(classes)) for m in (p.mask, q.mask))
                st.metric("Overlap on this image", f"{after:.3f}", delta=f"{after - before:+.3f}",
                          help="mIoU with your mask, and its change from the masks as predicted.")
        except Exception as err:
            st.error(f"Sharpening the edges or averaging mirrored copies failed: {err}")

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
    r = pred.predict(img, crf=params if use_crf else False, tta=use_tta)
    st.image(overlay(img, r.mask, classes, alpha), caption=f.name, width=400)
    to_zip.append((Path(f.name).stem, r.mask))

dl_all = st.checkbox("Include predicted masks of all workspace images in the download", key="dl_all")
if not dl_all:
    if to_zip:  # the uploaded images' masks, predicted above: zipped at once
        st.download_button("Download masks (PNG files, zip)", masks_zip(to_zip, classes),
                           file_name=f"{run.name}_masks.zip", mime="application/zip")
else:  # every workspace image predicted in the background (seg_core.runner.jobs): counts, Cancel, then the download
    ws_stems, zip_key = ws.stems(), str(ws.root)
    uploaded = f" and the {len(to_zip)} uploaded" if to_zip else ""
    if st.button(f"Predict the {len(ws_stems)} workspace image(s){uploaded} and zip the masks", key="masks_zip_btn",
                 disabled=task_running("masks_zip", zip_key)):
        post = {"crf": params if use_crf else False, "tta": use_tta}  # as the switches above say
        items = [(s, m.copy()) for s, m in to_zip] + [
            (s, lambda s=s: pred.predict(ws.read_image(s), **post).mask) for s in ws_stems]  # predicted in turn
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

# -- label next ------------------------------------------------------------------------------------
st.subheader("Label next")
candidates = ws.unlabelled_images()
if not candidates:
    st.caption("Every image has a mask: add more images on the **Data** page to get suggestions.")
else:
    st.caption(EXPLAIN)
    if st.button(f"Rank the {len(candidates)} unlabelled image(s) with {run.name}", key="rank_btn"):
        bar = st.progress(0.0, text="ranking…")
        covered = {p.name: p for p in run_images(run) + ws.labelled_images()}  # the run's images, and labels since
        rows = rank_images(pred, candidates, list(covered.values()),
                           progress=lambda c: bar.progress(c.fraction, text=f"{c.done}/{c.total} {c.item}"))
        st.session_state["ranked"] = (run.name, rows)
    ranked = st.session_state.get("ranked")
    if ranked and ranked[0] == run.name:
        rows = ranked[1]
        st.dataframe(pd.DataFrame([{"image": r.image, "why": r.reason, "score": r.score,
                                    "unsure pixels": r.unsure_fraction, "problem": r.error or ""} for r in rows]),
                     hide_index=True, width="stretch",
                     column_config={"score": st.column_config.NumberColumn(help="1 for the first to label, down "
                                                                                "to 0 for the last"),
                                    "unsure pixels": st.column_config.NumberColumn(
                                        help="Share of pixels whose class changes when the image is mirrored")})
        ok = [r.image for r in rows if r.error is None]
        if ok:
            pick = st.selectbox("Show where the model hesitates", ok, key="rank_pick")
            img = read_image(ws.images_dir / pick)
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
