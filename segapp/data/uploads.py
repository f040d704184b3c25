"""Adding images and masks on the Data page: uploads (or the sample) imported in the background, and what the
import did (added, renamed, refused)."""
from __future__ import annotations

import streamlit as st

from seg_core.base.limits import LimitError, limits
from seg_core.base.mask_values import UPLOAD_RULE
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS
from segapp.data.axes import upload_axes
from segapp.data.combine import combine_panel
from segapp.state import file_types, start_task, task_panel, task_running
from segapp.words import say
from segapp import access


def _import_report(ws, started: bool) -> None:
    """The import's progress (counts and Cancel) while it runs; what it did, kept until the next import."""
    if started:
        st.session_state.pop("import_result", None)  # the panel below shows the new import's progress
    done = task_panel("import", str(ws.root))  # counts and Cancel while it runs; a cancel says what was kept
    if done is not None and done.result is not None and st.session_state.get("import_shown") != done.id:
        rep = done.result  # finished or cancelled: the files handled
        st.session_state["import_result"] = (rep.added, rep.problems, rep.notes())
        st.session_state["import_shown"] = done.id
    res = st.session_state.get("import_result")
    if res:
        added, problems, notes = (*res, [])[:3]
        if added:
            st.success(f"Added {len(added)} image(s): {', '.join(added)}")
        for level, note in notes:  # renamed files (warning), masks, classes and replacements (info)
            say("warning" if level == "warning" else "info", note)
        for p in problems:
            say("error", p)


def within_limit(files) -> tuple[list, list[str]]:
    """The uploaded ``files`` (each with ``.name`` and ``.size``) no bigger than the upload limit, and for each
    bigger one a message naming it and the limit (``SEG_CORE_MAX_UPLOAD_MB``): refused before its bytes are
    copied for the import. Streamlit's own limit (``server.maxUploadSize`` in .streamlit/config.toml) stops
    bigger ones earlier, in the browser and the server."""
    kept, refused, lim = [], [], limits()
    for f in files or []:
        try:
            lim.check_file_size(f.name, f.size)
        except LimitError as err:
            refused.append(str(err))
            continue
        kept.append(f)
    return kept, refused


def uploads_panel(ws) -> None:
    """Images (or a zip) and masks to upload (how to read TIFFs that name no axes: ``axes``), whether they
    replace files of the same name, Import and Load sample; files of one channel each joined (``combine``)."""
    c1, c2 = st.columns(2)
    with c1:
        imgs = st.file_uploader("Images (and masks named like their image with _mask, e.g. cells_mask.png)",
                                accept_multiple_files=True,
                                type=file_types(IMAGE_EXTS) + ["zip"], key="up_images")
    with c2:
        masks = st.file_uploader("Masks (named like their image)", accept_multiple_files=True,
                                 type=file_types(MASK_EXTS), key="up_masks")
        st.caption(UPLOAD_RULE)
    axes = upload_axes(imgs)  # TIFFs that name no axes: how to read them
    replace = st.checkbox("Replace existing files", key="up_replace",
                          help="Off: an image whose name exists already is stored as name_2, and a mask for an "
                               "image that has one is refused. On: the new file replaces the old one, which goes "
                               "to the workspace's trash folder.")
    b1, b2 = st.columns(2)
    busy = task_running("import", str(ws.root))  # an import runs in the background (this tab or another)
    started = False
    may = access.can(ws.root, "import")
    if b1.button("Import uploaded files", disabled=not (imgs or masks) or busy or not may, type="primary") \
            and access.allowed(ws.root, "import"):
        (imgs, too_big), (masks, too_big_masks) = within_limit(imgs), within_limit(masks)
        for problem in too_big + too_big_masks:
            say("error", problem)
        images = [(f.name, f.getvalue()) for f in imgs]  # the bytes, copied now for the background import
        mask_files = [(f.name, f.getvalue()) for f in masks]
        label = f"Import of {len(images) + len(mask_files)} file(s)"
        started = bool(images or mask_files) and start_task(
            "import", str(ws.root), label, lambda progress, cancel: ws.import_uploads(
                images, mask_files, replace=replace, progress=progress, cancel=cancel, axes=axes))
        if started:
            access.did(ws.root, "import", ", ".join(n for n, _ in images + mask_files))
    if b2.button("Load sample", disabled=busy or not may) and access.allowed(ws.root, "import"):
        started = start_task("import", str(ws.root), "Loading the sample", ws.load_sample)
        if started:
            access.did(ws.root, "import", "the sample images")
    st.divider()
    started = combine_panel(ws) or started
    _import_report(ws, started)
