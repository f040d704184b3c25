"""Runs & export: compare the trained models side by side, zip and download, export them for other programs
(TorchScript/ONNX, in the background), delete. The sections are in ``segapp.runs``."""
import streamlit as st

from segapp.flash import show_flash
from segapp.navigation import through_app
from segapp.runs.delete import FLASH, delete_panel
from segapp.runs.exports import exports_panel
from segapp.runs.labels import labels_panel
from segapp.runs.table import history_chart, runs_table
from segapp.state import workspace

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Runs & export")
show_flash(FLASH)  # a run deleted: said even when that was the last run
runs = ws.runs()
if not runs:
    st.info("No runs yet: train one on the **Train** page.")
    st.stop()
runs_table(ws, runs)

run = st.selectbox("Model", runs, format_func=lambda r: r.name, key="runs_run")
history_chart(run)

st.subheader("Labels it learned from")
labels_panel(run, runs)

tasks = exports_panel(ws, run)  # zips and exports run in the background

st.divider()
delete_panel(ws, run, tasks)
