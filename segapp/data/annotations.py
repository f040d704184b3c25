"""Annotations made elsewhere on the Data page: QuPath GeoJSON, COCO JSON and instance label images (Cellpose,
StarDist) uploaded, the class names the workspace lacks listed, each to be added as a new class or read as one
of the workspace's, then imported as masks in the background (``seg_core.workspace.importing.annotations``;
what it did is shown with the uploads' report)."""
from __future__ import annotations

import streamlit as st

from seg_core.exchange.annotations_in import class_names, read_annotations, unknown_classes
from seg_core.exchange.drawn import AnnotationError
from seg_core.workspace.importing.annotations import AnnotationChoices
from seg_core.workspace.importing.names import split_name
from segapp import access
from segapp.data.uploads import within_limit
from segapp.state import start_task, task_running
from segapp.words import say

NEW = "add as a new class"


def _names_in(files) -> tuple[dict[str, list[str]], list[str]]:
    """The class names used by the uploaded annotation files (name -> the files using it), and for each file
    that cannot be read, why (the import would refuse it, saying the same)."""
    used: dict[str, list[str]] = {}
    problems = []
    for f in files:
        if not f.name.lower().endswith((".geojson", ".json")):
            continue
        try:
            images = read_annotations(f.name, f.getvalue(), split_name(f.name)[0])
        except AnnotationError as err:
            problems.append(str(err))
            continue
        for n in class_names(images):
            used.setdefault(n, []).append(f.name)
    return used, problems


def annotations_panel(ws, classes) -> None:
    """Upload annotation files, choose what their unknown classes become, import them."""
    files = st.file_uploader("Annotations made elsewhere: QuPath objects (GeoJSON, named like their image), COCO "
                             "files (CVAT, Label Studio, Roboflow) or instance label images (Cellpose, StarDist; "
                             "named like their image)", accept_multiple_files=True,
                             type=["geojson", "json", "tif", "tiff", "png"], key="ann_files",
                             help="Each becomes the mask of its image, which must be in the project already. "
                                  "Outlines are filled pixel by pixel: a pixel belongs to an outline when its "
                                  "centre lies inside.")
    if not files:
        return
    used, problems = _names_in(files)
    for p in problems:
        say("error", p)
    mapping, add = {}, False
    unknown = unknown_classes(list(used), classes.names)
    if unknown:
        st.caption("These classes are not in the project. Choose what each becomes:")
    for name in unknown:
        choice = st.selectbox(f"'{name}' (in {', '.join(used[name][:3])})", [NEW] + classes.names,
                              key=f"ann_class_{name}")
        if choice == NEW:
            add = True
        else:
            mapping[name] = choice
    instance_images = [f for f in files if not f.name.lower().endswith((".geojson", ".json"))]
    instance_class = None
    if instance_images:
        instance_class = st.selectbox("The objects of the label images are", classes.names[1:], key="ann_instances",
                                      help="Every object (each number above 0) becomes this class; the label "
                                           "image is kept with the project for object scores.")
    replace = st.checkbox("Replace existing masks", key="ann_replace",
                          help="Off: an image that has a mask keeps it and its annotations are refused. On: the "
                               "old mask goes to the project's trash folder.")
    busy = task_running("import", str(ws.root))
    if st.button("Import annotations", disabled=busy or not access.can(ws.root, "import"), key="ann_import") \
            and access.allowed(ws.root, "import"):
        kept, too_big = within_limit(files)
        for problem in too_big:
            say("error", problem)
        named = [(f.name if f.name.lower().endswith((".geojson", ".json")) else f"instances/{f.name}", f.getvalue())
                 for f in kept]
        choices = AnnotationChoices(mapping, add, instance_class)
        if named and start_task("import", str(ws.root), f"Import of {len(named)} annotation file(s)",
                                lambda progress, cancel: ws.import_files(named, replace=replace, progress=progress,
                                                                         cancel=cancel, annotations=choices)):
            access.did(ws.root, "import", ", ".join(n for n, _ in named))
            st.session_state.pop("import_result", None)
            st.rerun()
