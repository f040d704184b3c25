"""Train: pick the pretrained network the model starts from and how much of it stays fixed, then train in the
background. The sections are in ``segapp.train``."""
import streamlit as st

from segapp.navigation import through_app
from segapp.state import registry, workspace
from segapp.train.advanced import advanced_options
from segapp.train.channels import channel_picker
from segapp.train.live import interrupted_warning, live_training
from segapp.train.network import parts_and_length, start_from
from segapp.train.start import processes, start_button, trainings

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
reg = registry()
st.title("Train")
try:
    ds = ws.scan()
except ValueError as err:  # a damaged classes.json: named; nothing can train until it is fixed
    st.error(f"{err}. Fix it on the **Data** page (Classes: Save classes writes a new one).")
    st.stop()
n_labelled = len(ds.labelled)
st.caption(f"{n_labelled} labelled image(s) of {len(ds.samples)}; unlabelled images and pixels are skipped.")
st.markdown("**Three choices matter most:** the network the model starts from, how much of it stays as it is, "
            "and how long to train. The defaults suit a first model from a few images.")
now = trainings(ws, reg)  # this project's (picked up again after a reload or restart), and one Start waits for

runs = ws.runs_to_continue()
if runs and isinstance(last_start := runs[0].status.get("started"), (int, float)):
    st.caption(f"{ws.masks_changed_since(last_start)} mask(s) saved since the latest run started ({runs[0].name}).")

c1, c2 = st.columns(2)
with c1:
    init, fields = start_from(ws, runs)
with c2:
    fields |= parts_and_length(fields["backbone"])
    fields |= channel_picker(ds.channels, continuing=init is not None)
with st.expander("Advanced options"):
    fields |= advanced_options(fields["backbone"], continuing=init is not None)

procs, unit = processes()
start_button(ws, reg, fields, procs, unit, now, n_labelled)
interrupted_warning(ws)  # e.g. after a restart: the newest run's process died while it trained
live_training(ws, reg, now)
