"""A run's zip and its exports for other programs (TorchScript, ONNX) on the Runs & export page, made in the
background (``seg_core.runner.jobs``: counts, Cancel, the download once written), and what the exported model
is for."""
from __future__ import annotations

import streamlit as st

from seg_core.infer.export import export_onnx, export_torchscript, run_zip, run_zip_current
from segapp.state import start_task, task_panel, task_running
from segapp import access

EXPORTS = [("for Python scripts", export_torchscript, "torchscript.pt"), ("as an ONNX file", export_onnx, "onnx")]
# (label, exporter, file suffix)


def _zip(ws, run) -> tuple[str, str]:
    zip_path, key = ws.exports_dir / f"{run.name}.zip", str(run.path)
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
    return "run_zip", key


def _export(ws, run, label: str, exporter, suffix: str) -> tuple[str, str]:
    target, key = run.path / f"model.{suffix}", f"{run.path}|{suffix}"
    may = access.can(ws.root, "export")
    if st.button(f"Export {label}", disabled=not run.has_checkpoint or task_running("export", key) or not may,
                 help="ONNX: runs without this app or torch (onnxruntime). TorchScript: for PyTorch users."
                 if suffix == "onnx" else "TorchScript, for PyTorch users; its description comes beside it.") \
            and access.allowed(ws.root, "export"):
        access.did(ws.root, "export", f"{run.name} {label}")
        if start_task("export", key, f"Export {label} of {run.name}",
                      lambda progress, cancel: exporter(run, target, progress, cancel)):
            st.rerun()
    task_panel("export", key)
    if target.exists():
        st.download_button(f"Download {label}", data=lambda: target.read_bytes(),
                           file_name=f"{run.name}.{suffix}", key=f"download_{suffix}")
        beside = target.with_suffix(".json")  # the TorchScript file's description (the ONNX file holds its own)
        if suffix == "torchscript.pt" and beside.exists():
            st.download_button("Download its description", data=lambda: beside.read_bytes(),
                               file_name=f"{run.name}.torchscript.json", key="download_torchscript_json",
                               help="Class names and colours, how to prepare images, held-out scores (JSON).")
    return "export", key


def exports_panel(ws, run) -> list[tuple[str, str]]:
    """Zip the run, export it (each in its column), and how to use the exported model. Returns the (kind, key) of
    the run's zip and export tasks (the run is not deleted while one runs)."""
    c1, c2, c3 = st.columns(3)
    with c1:
        tasks = [_zip(ws, run)]
    for col, (label, exporter, suffix) in zip((c2, c3), EXPORTS):
        with col:
            tasks.append(_export(ws, run, label, exporter, suffix))
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
    return tasks
