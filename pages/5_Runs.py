"""Runs & export: compare runs side by side, download, export TorchScript/ONNX, delete."""
from pathlib import Path

import pandas as pd
import streamlit as st

from app_state import registry, workspace
from seg_core.export import export_onnx, export_torchscript, run_zip

ws = workspace()
st.title("Runs & export")
if msg := st.session_state.pop("deleted_msg", None):  # shown even when that was the last run
    st.success(msg)
runs = ws.runs()
if not runs:
    st.info("No runs yet: train one on the **Train** page.")
    st.stop()

rows, problems = [], []
for r in runs:
    c, s, info = r.settings, r.status, r.summary()  # settings: {} when config.json is damaged
    problems += info["problems"]
    rows.append({"run": r.name, "best val mIoU": info["best_val_miou"], "state": info["state"],
                 "backbone": c.get("backbone"), "arch": c.get("arch"),
                 "freeze_depth": c.get("freeze_depth"), "unfreeze_after": c.get("unfreeze_after"),
                 "epochs": s.get("epochs", c.get("epochs")), "seconds": s.get("seconds"),
                 "img_size": "x".join(map(str, c["img_size"])) if isinstance(c.get("img_size"), list) else None,
                 "weights": Path(str(c.get("weights"))).name if c.get("weights") else None,
                 "loss": c.get("loss"), "lr": c.get("lr"), "time_budget_s": c.get("time_budget"),
                 "checkpoint": r.has_checkpoint, "problems": "; ".join(info["problems"]) or None})
for problem in problems:
    st.error(problem)
if any(row["state"] == "interrupted" for row in rows):
    st.caption("interrupted: the process training the run stopped (the server was restarted or killed) before it "
               "ended; its best checkpoint so far is kept and usable (Review, continue from it on Train).")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"best val mIoU": st.column_config.NumberColumn(format="%.3f"),
                            "seconds": st.column_config.NumberColumn(format="%.0f")})

run = st.selectbox("Run", runs, format_func=lambda r: r.name, key="runs_run")
try:
    hist = run.history()
except (OSError, ValueError):  # a damaged history.csv: named above; the rest still works
    hist = []
if hist:
    h = pd.DataFrame(hist)
    cols = [c for c in ("train_loss", "val_miou") if c in h and h[c].notna().any()]
    if cols and "epoch" in h:
        st.line_chart(h.set_index("epoch")[cols], height=220)

c1, c2, c3 = st.columns(3)
with c1:
    try:
        st.download_button("Download run (zip)", run_zip(run), file_name=f"{run.name}.zip", mime="application/zip",
                           disabled=not run.has_checkpoint)
    except OSError as err:  # removed or unreadable meanwhile
        st.error(f"{run.name}: cannot zip the run ({err})")
# (column, label, exporter, file suffix)
EXPORTS = [(c2, "TorchScript", export_torchscript, "torchscript.pt"), (c3, "ONNX", export_onnx, "onnx")]
for col, label, exporter, suffix in EXPORTS:
    with col:
        target = run.path / f"model.{suffix}"
        if st.button(f"Export {label}", disabled=not run.has_checkpoint):
            with st.spinner(f"Exporting {label}…"):
                try:
                    exporter(run, target)
                except Exception as err:
                    st.error(f"{label} export failed: {err}")
        if target.exists():
            st.download_button(f"Download {label}", target.read_bytes(), file_name=f"{run.name}.{suffix}")
st.caption("Exported models take (N, 3, H, W) RGB in 0..1 (H, W multiples of 32) and return class logits.")

st.divider()
busy = registry().writing(run.path) is not None or run.state == "running"  # here, or in another process
confirm = st.checkbox(f"Yes, delete {run.name}", key="confirm_delete")
if st.button("Delete run", disabled=not confirm or busy, type="secondary",
             help="Still training: cancel it first." if busy else None):
    where = ws.remove_run(run)
    st.session_state.pop("confirm_delete", None)
    st.session_state["deleted_msg"] = f"Deleted {run.name} (moved to `{where}`; move it back to restore it)."
    st.rerun()
