"""Annotate: paint class labels over an image at full resolution (every edit is saved to the mask file at
once); propose a mask from a run, correct it and accept or reject it; mark masks as reviewed. The sections are
in ``segapp.annotate``."""
import streamlit as st

from segapp.navigation import through_app
from segapp.annotate.canvas import canvas
from segapp.annotate.display import display_panel
from segapp.annotate.image import open_image, pick_image
from segapp.annotate.mask_actions import FLASH, mask_bar, proposal_bar, saved_mask_panel
from segapp.annotate.planes import plane_slider
from segapp.annotate.propose import propose_panel
from segapp.class_editor import class_editor
from segapp.flash import show_flash
from segapp.slides.annotate import FLASH as SLIDE_FLASH, slides_panel
from segapp.state import reviewed_stems, workspace
from seg_core.workspace.overview import image_states

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Annotate")
st.caption("Zoom with the wheel, pan with space+drag; brush and eraser sizes are in image pixels. Keys on the "
           "canvas: 1-9 pick a class, PageDown / PageUp the next / previous image, . / , the next / previous "
           "plane of a stack, A accepts (the proposal, the "
           "suggestion on screen, or else marks the mask reviewed). Every edit is saved to the mask file at once; "
           "undo takes back only this tab's edits. When "
           "the mask changed elsewhere (another tab, Clear, Restore) the canvas shows it as saved and its undo "
           "starts afresh. Pixels nobody painted stay unlabelled (not used in training).")
show_flash(FLASH)  # what a button did, said after its rerun
show_flash("ann_class")  # a class changed from the Classes menu below
show_flash(SLIDE_FLASH)  # a region of a slide added as an image
slides_panel(ws)  # registered whole slides: overview and region picker
stems = ws.stems()
if not stems:
    st.info("No images yet: add some on the **Data** page.")
    st.stop()
try:
    classes = ws.classes()
except ValueError as err:  # a damaged classes.json: nothing can be painted until it is fixed
    st.error(f"{err}. Fix it on the **Data** page (Classes: Save classes writes a new one).")
    st.stop()
marks = reviewed_stems(ws)  # a damaged reviewed.json: named; painting still works

top1, top2 = st.columns([3, 2])
stem = pick_image(top1, stems, image_states(ws, marks))
plane_slider(top1, stem, stems)  # a plane of a stack: the stack's other planes
with top1.popover("Classes: add, rename, recolour, remove, merge", icon=":material/palette:"):
    class_editor(ws, classes, prefix="ann_class")
picture = open_image(ws, stem, classes)
if picture.shown is not None:  # not 8-bit gray or RGB: shown by the project's display settings
    with top1.popover("Display: channels, colours, contrast", icon=":material/tune:"):
        display_panel(ws, picture)
with top2:
    run = propose_panel(ws, picture)  # the run picked: the suggestion may learn from it too

proposal = ws.proposals.get(stem)
if proposal is not None:
    left, right = proposal_bar(ws, stem, proposal)
    with left:
        st.subheader(f"Proposal from {proposal.run or 'a run'}")
        canvas(ws, picture, classes, "proposal", stems, run)
    saved_mask_panel(ws, picture, classes, right)
else:
    mask_bar(ws, picture, marks)
    st.subheader("Mask")
    canvas(ws, picture, classes, "mask", stems, run)
