"""Review: scores of a run per class and per image, overlays, objects (counted, measured, outlined), edge
sharpening (dense CRF) and mirrored copies (TTA), predicting new images, which image to label next. The
sections are in ``segapp.review``."""
import streamlit as st

from segapp.navigation import through_app
from segapp.review.label_next import label_next_panel
from segapp.review.new_images import predict_new_panel
from segapp.review.objects import all_objects_panel, object_settings, objects_panel
from segapp.review.postprocess import post_processing_panel
from segapp.review.scores import evaluation, pick_model, scores_panel
from segapp.review.viewer import image_viewer
from segapp.slides.review import slides_review_panel
from segapp.state import workspace

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Review")
run, classes, pred = pick_model(ws)
scored = evaluation(ws, run)
worst_first = scores_panel(scored) if scored else []

st.subheader("Image viewer")
viewed = image_viewer(ws, pred, classes, worst_first)

st.subheader("Objects")
how = object_settings(ws, run)  # kept with the workspace: the same next visit
if viewed.image is not None:
    objects_panel(ws, pred, viewed, classes, how)
all_objects_panel(ws, run, pred, how)
slides_review_panel(ws, run, pred, classes, how, viewed.alpha)  # registered whole slides

with st.expander("Sharper edges and mirrored copies", expanded=True):
    post = post_processing_panel(run, pred, viewed, classes)  # the predictions and downloads below follow it

st.subheader("Predict new images")
predict_new_panel(ws, run, pred, classes, post, viewed.alpha)

st.subheader("Label next")
label_next_panel(ws, run, pred, classes, viewed.alpha)
