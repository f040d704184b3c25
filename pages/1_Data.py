"""Data: upload images and masks, load the sample, see problems, edit classes, remove images."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app_state, seg_core

import numpy as np
import pandas as pd
import streamlit as st

from app_state import hex_colour, rgb_from_hex, thumb_data_url, workspace
from seg_core import ClassList

ws = workspace()
st.title("Data")

# -- uploads ---------------------------------------------------------------------------------------
with st.expander("Add images and masks", expanded=not ws.stems()):
    c1, c2 = st.columns(2)
    with c1:
        imgs = st.file_uploader("Images (masks may be named `<stem>_mask.png`)", accept_multiple_files=True,
                                type=["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "zip"], key="up_images")
    with c2:
        masks = st.file_uploader("Masks (named like their image)", accept_multiple_files=True,
                                 type=["png", "gif", "tif", "tiff"], key="up_masks")
    b1, b2 = st.columns(2)
    if b1.button("Import uploaded files", disabled=not (imgs or masks), type="primary"):
        reports = []
        files = [(f.name, f.getvalue()) for f in imgs or [] if not f.name.lower().endswith(".zip")]
        files += [(f"masks/{f.name}", f.getvalue()) for f in masks or []]
        if files:
            reports.append(ws.import_files(files))
        for f in imgs or []:
            if f.name.lower().endswith(".zip"):
                reports.append(ws.import_zip(f.getvalue(), f.name))
        added = [s for r in reports for s in r.added]
        problems = [p for r in reports for p in r.problems]
        st.session_state["import_result"] = (added, problems)
    if b2.button("Load sample"):
        rep = ws.load_sample()
        st.session_state["import_result"] = (rep.added, rep.problems)
    res = st.session_state.get("import_result")
    if res:
        added, problems = res
        if added:
            st.success(f"Added {len(added)} image(s): {', '.join(added)}")
        for p in problems:
            st.error(p)

# -- table -----------------------------------------------------------------------------------------
classes = ws.classes()
ds = ws.scan()
probs_by_file: dict[str, list[str]] = {}
for p in ds.problems:
    probs_by_file.setdefault(str(getattr(p, "file", "")), []).append(str(p))

rows = []
for stem in ws.stems():
    try:
        img = ws.read_image(stem)
        thumb = thumb_data_url(img)
        h, w = img.shape[:2]
    except Exception as err:  # unreadable images are reported by scan() as problems
        thumb, (h, w) = None, ds.sizes.get(stem, (0, 0))
    counts = ds.class_pixels.get(stem)
    present = [classes.names[i] for i, c in enumerate([] if counts is None else list(counts)) if c and i < len(classes)]
    mask_exists = ws.mask_path(stem).exists()
    own = [m for f, ms in probs_by_file.items() for m in ms if stem in f]
    rows.append({"thumbnail": thumb, "image": stem, "size": f"{w}×{h}", "labelled": mask_exists,
                 "classes present": ", ".join(present), "problems": "; ".join(own)})
labelled = sum(r["labelled"] for r in rows)
st.subheader(f"{len(rows)} images, {labelled} labelled")
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
                                "labelled": st.column_config.CheckboxColumn("labelled?")})
else:
    st.info("No images yet: upload some above or press **Load sample**.")
for p in ds.problems:
    (st.error if getattr(p, "severity", "error") == "error" else st.warning)(str(p))

# -- classes ---------------------------------------------------------------------------------------
st.subheader("Classes")
st.caption("Mask value = row number (0-based). Unlabelled pixels are stored as 255 and ignored in training.")
cdf = pd.DataFrame({"name": classes.names, "colour": [hex_colour(c) for c in classes.colours]})
edited = st.data_editor(cdf, num_rows="dynamic", hide_index=False, key="class_editor", width="stretch",
                        column_config={"name": st.column_config.TextColumn("name", required=True),
                                       "colour": st.column_config.TextColumn("colour (#rrggbb)")})
st.markdown(" ".join(f'<span style="background:{hex_colour(c)};color:#fff;padding:2px 8px;border-radius:4px;'
                     f'text-shadow:0 0 2px #000">{i}: {n}</span>'
                     for i, (n, c) in enumerate(zip(classes.names, classes.colours))), unsafe_allow_html=True)
if st.button("Save classes"):
    try:
        names = [str(n).strip() for n in edited["name"] if str(n).strip() and str(n) != "None"]
        cols = []
        for i, c in enumerate(edited["colour"][:len(names)]):
            try:
                cols.append(rgb_from_hex(str(c)))
            except (ValueError, IndexError):
                from seg_core.classes import default_colour
                cols.append(default_colour(i))
        ws.save_classes(ClassList(names, cols))
        st.success("Classes saved.")
        st.rerun()
    except ValueError as err:
        st.error(f"classes.json: {err}")

# -- remove ----------------------------------------------------------------------------------------
st.subheader("Remove an image")
if ws.stems():
    c1, c2 = st.columns([3, 1])
    victim = c1.selectbox("Image to remove (moved to the workspace trash)", ws.stems(), key="remove_stem")
    if c2.button("Remove", key="remove_btn"):
        ws.remove(victim)
        st.toast(f"Moved {victim} to trash")
        st.rerun()
