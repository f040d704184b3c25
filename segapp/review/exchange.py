"""Review page downloads for other tools: this image's objects for QuPath (GeoJSON), its class mask and object
map as OME-TIFF (Fiji, napari: pixel size and class names inside), all images' objects as one COCO file."""
from __future__ import annotations

import streamlit as st

from seg_core.exchange.ome_tiff import ome_tiff


def image_downloads(measured, prediction, stem: str, classes, pixel_size: float | None) -> None:
    """Three download buttons for the image in the viewer (``measured``: its objects and table)."""
    e1, e2, e3 = st.columns(3)
    e1.download_button("Download its objects for QuPath (GeoJSON)", measured.geojson(classes.names, classes.colours),
                       file_name=f"{stem}.geojson", mime="application/geo+json", key="obj_geojson",
                       help="QuPath: File > Import objects. Each object's outline, class and measurements "
                            "(the table's columns).")
    objects = measured.objects
    e2.download_button("Download its object map for Fiji/napari (OME-TIFF)",
                       ome_tiff(objects.as_uint16(stem), {i + 1: classes.names[c] for i, c in enumerate(objects.classes)},
                                pixel_size, f"{stem} objects"),
                       file_name=f"{stem}_objects.ome.tif", mime="image/tiff", key="obj_ome_ids",
                       help="One number per object (0 = background), with each number's class and the pixel size "
                            "(set under How objects are found) in the file.")
    if prediction is not None:
        e3.download_button("Download its predicted classes for Fiji/napari (OME-TIFF)",
                           ome_tiff(prediction.mask.astype("uint8"), dict(enumerate(classes.names)), pixel_size,
                                    f"{stem} classes"),
                           file_name=f"{stem}_classes.ome.tif", mime="image/tiff", key="obj_ome_classes",
                           help="One class number per pixel, with the class names and the pixel size in the file.")


def coco_download(result, run_name: str) -> None:
    """All measured images' objects as one COCO file (``measure_images``' result)."""
    st.download_button("Download all objects for detection tools (COCO JSON)", result.coco,
                       file_name=f"{run_name}_coco.json", mime="application/json", key="obj_all_coco",
                       help="One file: the images, the classes and each object's pixels (run-length encoded), box, "
                            "area and the model's confidence in it.")
