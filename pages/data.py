"""Data: upload images and masks, load the sample, see problems, edit classes, remove images, who may work on the
project and what was done. The sections are in ``segapp.data``."""
import streamlit as st

from segapp.data.activity import activity_panel
from segapp.data.axes import guesses_panel
from segapp.data.annotations import annotations_panel
from segapp.data.classes import classes_panel
from segapp.data.members import members_panel
from segapp.data.images import images_table
from segapp.data.remove import remove_panel
from segapp.data.uploads import uploads_panel
from segapp.navigation import through_app
from segapp.state import workspace
from seg_core.base.classes import ClassList

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Data")
with st.expander("Add images and masks", expanded=not ws.stems()):
    uploads_panel(ws)

try:
    classes = ws.classes()
    ds = ws.scan()
except ValueError as err:  # a damaged classes.json: named; the uploads, the class editor and Remove still work
    st.error(f"{err}. Save the classes below to write a new one; the image table comes back then.")
    classes, ds = ClassList(["background", "foreground"]), None
images_table(ws, ds)
guesses_panel(ws)  # files that name no axes, read as depth: read them again in another order
with st.expander("Add annotations made elsewhere (QuPath, COCO, label images)"):
    annotations_panel(ws, classes)

st.subheader("Classes")
classes_panel(ws, classes, damaged=ds is None)

st.subheader("Remove an image")
remove_panel(ws)

st.subheader("Who may work on this project")
members_panel(ws)

st.subheader("Recent activity")
activity_panel(ws)
