"""Runs & export: compare the trained models side by side, zip and download, export them for other programs
(TorchScript/ONNX, in the background), delete."""
from pathlib import Path

import pandas as pd
import streamlit as st

from segapp.navigation import through_app
from segapp.state import registry, start_task, task_panel, task_running, workspace
from seg_core.infer.export import export_onnx, export_torchscript, run_zip, run_zip_current
from seg_core.model.architectures import ARCHITECTURES
from seg_core.model.losses import LOSS_WORDS
from seg_core.runs.labels import LabelSet
from segapp.words import OVERLAP

through_app()  # first, before any widget (segapp.navigation)

ws = workspace()
st.title("Runs & export")
if msg := st.session_state.pop("deleted_msg", None):  # shown even when that was the last run
    st.success(msg)
runs = ws.runs()
if not runs:
    st.info("No runs yet: train one on the **Train** page.")
    st.stop()

WEIGHTS = {"imagenet": "everyday photos", "none": "nothing"}  # what the network knew at the start
rows, problems = [], []
for r in runs:
    info, c = r.summary(), r.settings  # the engine's row; the settings it leaves out ({} when config.json is damaged)
    problems += info["problems"]
    rows.append({"run": info["run"], "best val mIoU": info["best_val_miou"], "state": info["state"],
                 "backbone": info["backbone"],
                 "arch": ARCHITECTURES[info["arch"]].plain if info["arch"] in ARCHITECTURES else info["arch"],
                 "freeze_depth": c.get("freeze_depth"), "unfreeze_after": c.get("unfreeze_after"),
                 "epochs": info["epochs"], "seconds": info["seconds"],
                 "img_size": "x".join(map(str, c["img_size"])) if isinstance(c.get("img_size"), list) else None,
                 "weights": WEIGHTS.get(c.get("weights"))
                 or (Path(str(c.get("weights"))).name if c.get("weights") else None),
                 "loss": LOSS_WORDS.get(c.get("loss"), c.get("loss")), "lr": c.get("lr"),
                 "time_budget_s": c.get("time_budget"),
                 "checkpoint": info["has_checkpoint"], "problems": "; ".join(info["problems"]) or None})
for problem in problems:
    st.error(problem)
if any(row["state"] == "interrupted" for row in rows):
    st.caption("interrupted: the process training the model stopped (the server was restarted or killed) before "
               "it ended; its best state so far is kept and usable (Review, continue from it on Train).")
st.caption(OVERLAP)
N = st.column_config.NumberColumn
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"run": "model",
                            "best val mIoU": N("best overlap", format="%.3f",
                                               help="On the images kept aside (best validation mIoU)."),
                            "backbone": st.column_config.TextColumn("network", help="backbone"),
                            "arch": st.column_config.TextColumn("mask drawing", help="architecture"),
                            "freeze_depth": N("parts kept", help="freeze_depth: encoder stages kept fixed"),
                            "unfreeze_after": N("all learn after round", help="unfreeze_after (epochs)"),
                            "epochs": N("rounds", help="epochs"), "seconds": N(format="%.0f"),
                            "img_size": st.column_config.TextColumn("piece trained on", help="img_size (HxW)"),
                            "weights": st.column_config.TextColumn("started from", help="initial weights"),
                            "loss": st.column_config.TextColumn("mistakes counted as", help="loss"),
                            "lr": N("learning speed", help="lr (learning rate)"),
                            "time_budget_s": N("time allowed (s)", help="time_budget_s"),
                            "checkpoint": st.column_config.CheckboxColumn("model saved", help="checkpoint")})

for r in runs:  # classes renamed, removed or merged since: its masks would be mislabelled
    if note := ws.other_classes(r):
        st.caption(f"**{r.name}**: {note}")

run = st.selectbox("Model", runs, format_func=lambda r: r.name, key="runs_run")
try:
    hist = run.history()
except (OSError, ValueError):  # a damaged history.csv: named above; the rest still works
    hist = []
if hist:
    h = pd.DataFrame(hist)
    CURVES = {"train_loss": "training error", "val_miou": "overlap (kept aside)"}
    cols = [c for c in CURVES if c in h and h[c].notna().any()]
    if cols and "epoch" in h:
        st.line_chart(h.set_index("epoch")[cols].rename(columns=CURVES), height=220, x_label="round",
                      y_label="error / overlap")



def label_set(r):
    """The run's label set, None for a run from before runs kept their labels; a damaged manifest is named."""
    try:
        return LabelSet.of(r.path)
    except ValueError as err:
        st.error(str(err))
        return None


st.subheader("Labels it learned from")
labels = label_set(run)
if labels is None:
    st.caption(f"{run.name} was trained before runs kept a copy of their labels.")
else:
    st.caption(f"{run.name} {labels.summary()}. Labels painted after it started are not part of it.")
    st.dataframe(pd.DataFrame([{"image": i.image, "held out": i.held_out, "labelled pixels": i.labelled_pixels,
                                **i.pixels_per_class} for i in labels.images]),
                 hide_index=True, width="stretch", key="run_labels")
    others = [r for r in runs if r.path != run.path]
    other = st.selectbox("Compare its labels with", others, index=None, format_func=lambda r: r.name,
                         key="compare_labels", placeholder="another run",
                         help="Which labelled images the other run had that this one had not, and the reverse.")
    if other is not None and (theirs := label_set(other)) is None:
        st.caption(f"{other.name} was trained before runs kept a copy of their labels.")
    elif other is not None:
        change = labels.compare(theirs)
        st.write(f"**{other.name}** compared with **{run.name}**: {change.text()}.")
        for what, stems in (("labelled only in " + other.name, change.added),
                            ("labelled only in " + run.name, change.removed),
                            ("labels changed", change.changed),
                            ("held out in one run, trained on in the other", change.moved)):
            if stems:
                st.write(f"{what.capitalize()}: " + ", ".join(stems))

# Zips and exports run in the background (seg_core.runner.jobs): counts, Cancel, the download once written.
c1, c2, c3 = st.columns(3)
TASK_KEYS = []  # (kind, key) of this run's zip and exports: the run is not deleted while one runs
with c1:
    zip_path, key = ws.exports_dir / f"{run.name}.zip", str(run.path)
    TASK_KEYS.append(("run_zip", key))
    fresh = run_zip_current(run, zip_path)
    if st.button("Zip the run again" if fresh else "Zip the run", key="zip_run",
                 disabled=not run.has_checkpoint or task_running("run_zip", key),
                 help="The model, its settings, classes and history in one zip, for download (checkpoint, "
                      "config.json, classes.json, history.csv)."):
        if start_task("run_zip", key, f"Zip of {run.name}",
                      lambda progress, cancel: run_zip(run, zip_path, progress, cancel)):
            st.rerun()
    task_panel("run_zip", key)
    if fresh:
        st.download_button("Download run (zip)", data=lambda: zip_path.read_bytes(), file_name=f"{run.name}.zip",
                           mime="application/zip", key="download_run_zip")
# (column, label, exporter, file suffix)
EXPORTS = [(c2, "for Python scripts", export_torchscript, "torchscript.pt"), (c3, "as an ONNX file", export_onnx,
                                                                                "onnx")]
for col, label, exporter, suffix in EXPORTS:
    with col:
        target, key = run.path / f"model.{suffix}", f"{run.path}|{suffix}"
        TASK_KEYS.append(("export", key))
        if st.button(f"Export {label}", disabled=not run.has_checkpoint or task_running("export", key),
                     help="ONNX: runs without this app or torch (onnxruntime). TorchScript: for PyTorch users."
                     if suffix == "onnx" else "TorchScript, for PyTorch users; its description comes beside it."):
            if start_task("export", key, f"Export {label} of {run.name}",
                          lambda progress, cancel, exporter=exporter, target=target: exporter(run, target, progress,
                                                                                               cancel)):
                st.rerun()
        task_panel("export", key)
        if target.exists():
            st.download_button(f"Download {label}", data=lambda target=target: target.read_bytes(),
                               file_name=f"{run.name}.{suffix}", key=f"download_{suffix}")
            beside = target.with_suffix(".json")  # the TorchScript file's description (the ONNX file holds its own)
            if suffix == "torchscript.pt" and beside.exists():
                st.download_button("Download its description", data=lambda beside=beside: beside.read_bytes(),
                                   file_name=f"{run.name}.torchscript.json", key="download_torchscript_json",
                                   help="Class names and colours, how to prepare images, held-out scores (JSON).")
st.markdown("**What the exported model is for:** using this model outside the app, on a big folder of images, "
            "on a computer without the app, or in your own pipeline. The ONNX file carries its class names and "
            "colours and how images must be prepared, so it needs nothing else. To write a mask for every image "
            "of a folder:")
st.code(f"# in this app's folder, on any computer (the onnxruntime package is enough):\n"
        f"python -m seg_core predict --model {run.name}.onnx --images my_images --out results", language="bash")
with st.expander("Technical details"):
    st.markdown("Input `image`: float32 (N, 3, H, W), RGB, values 0..1 (pixel / 255; the model normalises "
                "itself), H and W multiples of 32 (pad at the bottom and right by mirroring, crop the result "
                "back). Output `logits`: (N, classes, H, W) class scores per pixel; the class is the largest. "
                "The ONNX file's metadata (`metadata_props`) holds all of this with the classes, backbone and "
                "held-out scores; the TorchScript file holds it as `description.json` and beside it. "
                "`results/masks/<image>.png` are palette PNGs whose values are the class numbers.")

st.divider()
training = registry().writing(run.path) is not None or run.state == "running"  # here, or in another process
exporting = any(task_running(kind, key) for kind, key in TASK_KEYS)
confirm = st.checkbox(f"Yes, delete {run.name}", key="confirm_delete")
if st.button("Delete run", disabled=not confirm or training or exporting, type="secondary",
             help="Still training: cancel it first." if training else
             "Being zipped or exported: wait for it or cancel it first." if exporting else None):
    where = ws.remove_run(run)
    st.session_state.pop("confirm_delete", None)
    st.session_state["deleted_msg"] = f"Deleted {run.name} (moved to `{where}`; move it back to restore it)."
    st.rerun()
