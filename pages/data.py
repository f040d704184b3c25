"""Data: upload images and masks, load the sample, see problems, edit classes, remove images."""
import pandas as pd
import streamlit as st

from segapp.navigation import through_app
from segapp.class_editor import class_editor, show_change_message
from segapp.words import say
from segapp.state import (classes_from_table, file_types, hex_colour, start_task, task_panel, task_running,
                       thumb_data_url, workspace)
from seg_core.base.classes import ClassList
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS
from seg_core.base.mask_values import UPLOAD_RULE
from seg_core.workspace.overview import image_overview, state_counts
from seg_core.workspace.review_state import review_marks

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Data")

# -- uploads ---------------------------------------------------------------------------------------
with st.expander("Add images and masks", expanded=not ws.stems()):
    c1, c2 = st.columns(2)
    with c1:
        imgs = st.file_uploader("Images (and masks named like their image with _mask, e.g. cells_mask.png)",
                                accept_multiple_files=True,
                                type=file_types(IMAGE_EXTS) + ["zip"], key="up_images")
    with c2:
        masks = st.file_uploader("Masks (named like their image)", accept_multiple_files=True,
                                 type=file_types(MASK_EXTS), key="up_masks")
        st.caption(UPLOAD_RULE)
    replace = st.checkbox("Replace existing files", key="up_replace",
                          help="Off: an image whose name exists already is stored as name_2, and a mask for an "
                               "image that has one is refused. On: the new file replaces the old one, which goes "
                               "to the workspace's trash folder.")
    b1, b2 = st.columns(2)
    busy = task_running("import", str(ws.root))  # an import runs in the background (this tab or another)
    started = False
    if b1.button("Import uploaded files", disabled=not (imgs or masks) or busy, type="primary"):
        images = [(f.name, f.getvalue()) for f in imgs or []]  # the bytes, copied now for the background import
        mask_files = [(f.name, f.getvalue()) for f in masks or []]
        started = start_task("import", str(ws.root), f"Import of {len(images) + len(mask_files)} file(s)",
                             lambda progress, cancel: ws.import_uploads(images, mask_files, replace=replace,
                                                                        progress=progress, cancel=cancel))
    if b2.button("Load sample", disabled=busy):
        started = start_task("import", str(ws.root), "Loading the sample", ws.load_sample)
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

# -- table -----------------------------------------------------------------------------------------
try:
    classes = ws.classes()
    ds = ws.scan()
except ValueError as err:  # a damaged classes.json: named; the uploads, the class editor and Remove still work
    st.error(f"{err}. Save the classes below to write a new one; the image table comes back then.")
    classes, ds = ClassList(["background", "foreground"]), None


def _thumbnail(stem: str) -> str | None:
    try:
        return thumb_data_url(ws.read_image(stem))
    except Exception:  # an unreadable image: scan() reports it as a problem
        return None


def _size(hw: tuple[int, int] | None) -> str:
    return f"{hw[1]}×{hw[0]}" if hw else "unreadable"


try:
    reviewed = set(review_marks(ws.root))
except ValueError as err:  # a damaged reviewed.json: named; the states show without reviewed marks
    st.error(str(err))
    reviewed = set()
rows = [{"thumbnail": _thumbnail(o.stem), "image": o.stem, "size": _size(o.size), "state": o.state,
         "classes present": ", ".join(o.classes_present), "problems": "; ".join(map(str, o.problems))}
        for o in (image_overview(ws, ds, reviewed) if ds is not None else [])]
st.subheader(state_counts({r["image"]: r["state"] for r in rows}))
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
                                "state": st.column_config.TextColumn(
                                    "state", help="unlabelled; proposal (a run's prediction waits on the Annotate "
                                                  "page); labelled; reviewed (a person checked the mask)")})
elif ds is not None:
    st.info("No images yet: upload some above or press **Load sample**.")
for p in ds.problems if ds is not None else []:
    if rows or p.file != str(ws.images_dir):  # no images at all (a new project) is said just above
        say("error" if p.severity == "error" else "warning", p)

# -- classes ---------------------------------------------------------------------------------------
st.subheader("Classes")
st.markdown(" ".join(f'<span style="background:{hex_colour(c)};color:#fff;padding:2px 8px;border-radius:4px;'
                     f'text-shadow:0 0 2px #000">{i}: {n}</span>'  # numbered as the canvas's keys pick them
                     for i, (n, c) in enumerate(zip(classes.names, classes.colours), 1)), unsafe_allow_html=True)
if ds is None:  # a damaged classes.json: write a new one from a table
    cdf = pd.DataFrame({"name": classes.names, "colour": [hex_colour(c) for c in classes.colours]})
    edited = st.data_editor(cdf, num_rows="dynamic", hide_index=False, key="class_editor", width="stretch",
                            column_config={"name": st.column_config.TextColumn("name", required=True),
                                           "colour": st.column_config.TextColumn("colour (#rrggbb)")})
    if st.button("Save classes"):
        try:
            ws.save_classes(classes_from_table(edited["name"], edited["colour"]))
            st.success("Classes saved.")
            st.rerun()
        except ValueError as err:
            st.error(f"classes.json: {err}")
else:
    class_editor(ws, classes)
    show_change_message()

# -- remove ----------------------------------------------------------------------------------------
st.subheader("Remove an image")
if ws.stems():
    c1, c2 = st.columns([3, 1])
    victim = c1.selectbox("Image to remove (moved to the workspace trash)", ws.stems(), key="remove_stem")
    if c2.button("Remove", key="remove_btn"):
        where = ws.remove(victim)  # None: removed already (a second click, another tab)
        st.toast(f"Moved {victim} to trash" if where is not None else f"{victim} was removed already")
        st.rerun()
