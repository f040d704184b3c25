"""Objects on the Review page: how they are found (kept with the workspace), the objects of the image in the
viewer (counted, outlined, measured, downloadable) and the objects of every workspace image, counted in the
background."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from seg_core.objects.drawing import outline_objects
from seg_core.objects.faint import resolve_min_confidence
from seg_core.objects.folder import instances_tiff, measure_image, measure_images, stored_values
from seg_core.objects.measure import area_histogram, crop_box
from seg_core.objects.settings import ObjectSettings
from segapp.review.exchange import coco_download, image_downloads
from segapp.review.viewer import Viewed
from segapp.state import start_task, task_panel, task_running
from segapp.words import column_config


def object_settings(ws, run) -> ObjectSettings:
    """How objects are found, in an expander; a change is saved with the workspace (the same next visit). Until
    the first change, the least confidence starts at what ``run`` measured on its held-out images."""
    measured, why = resolve_min_confidence(run.postprocess)
    saved = ObjectSettings.load(ws.objects_file)
    if not ws.objects_file.exists():
        saved = replace(saved, min_confidence=measured)
    with st.expander("How objects are found"):
        o1, o2, o3, o4 = st.columns(4)
        how = replace(
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
                              "believes in and are not counted; 0 counts every region. It starts at 95 %, or lower where "
                              "counting fainter regions came nearer the true count on the images kept aside when the "
                              "model was trained. "
                              f"Technical: the peak of the predicted class's probability inside the object; {why}.")
        how = replace(how, min_confidence=sure / 100)
        if how != saved:
            how.save(ws.objects_file)
    return how


def objects_panel(ws, pred, viewed: Viewed, classes, how: ObjectSettings) -> None:
    """The objects of the image in the viewer: counts, a table to pick one from (filtered by class and size), the
    outlines, sizes, and the downloads. Intensities are the image's values as stored, as ``measure`` gives them."""
    image, stem = viewed.image, viewed.stem
    measured = measure_image(pred, image, how, stem, prediction=viewed.prediction,
                             raw=stored_values(ws.image_path(stem), how))
    table = measured.table
    counts = measured.summary.set_index("class")["count"]
    for col, (name, n) in zip(st.columns(max(1, len(counts))), counts.items()):
        col.metric(f"{name} in {stem}", int(n))
    if measured.objects.faint:
        st.caption(f"{measured.objects.faint} faint region(s) not counted: the model was nowhere in them "
                   f"{how.min_confidence:.0%} sure (change it under How objects are found).")
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
    image_downloads(measured, viewed.prediction, stem, classes, how.pixel_size)


def all_objects_panel(ws, run, pred, how: ObjectSettings) -> None:
    """Count the objects of every workspace image in the background (counts and Cancel), then the counts per
    image and the downloads."""
    key = str(ws.root)
    if st.button(f"Count the objects in all {len(ws.stems())} workspace image(s)", key="objects_all_btn",
                 disabled=task_running("objects_all", key)):
        stems = ws.stems()
        if start_task("objects_all", key, f"Objects with {run.name}",
                      lambda progress, cancel: measure_images(pred, stems, lambda s: ws.read_image(s, pred.intensities), how,
                                                                   progress, cancel,
                                                                   lambda s: stored_values(ws.image_path(s), how))):
            st.rerun()
    done = task_panel("objects_all", key)  # counts and Cancel while it runs
    if done is None or done.state != "done":
        return
    res = done.result
    for why in res.left_out:
        st.warning(f"{why} (not counted)")
    if res.images.empty:
        return
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
    coco_download(res, run.name)
