"""The trained runs side by side on the Runs & export page, in a domain expert's words (the settings' names in
the tooltips), and one run's training history."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from seg_core.model.architectures import ARCHITECTURES
from seg_core.model.losses import LOSS_WORDS
from segapp.words import OVERLAP

WEIGHTS = {"imagenet": "everyday photos", "none": "nothing"}  # what the network knew at the start
CURVES = {"train_loss": "training error", "val_miou": "overlap (kept aside)"}


def _columns() -> dict:
    """The table's headers in words, the settings' names in their tooltips."""
    N, T = st.column_config.NumberColumn, st.column_config.TextColumn
    return {"run": "model",
            "best val mIoU": N("best overlap", format="%.3f", help="On the images kept aside (best validation mIoU)."),
            "backbone": T("network", help="backbone"), "arch": T("mask drawing", help="architecture"),
            "freeze_depth": N("parts kept", help="freeze_depth: encoder stages kept fixed"),
            "unfreeze_after": N("all learn after round", help="unfreeze_after (epochs)"),
            "epochs": N("rounds", help="epochs"), "seconds": N(format="%.0f"),
            "img_size": T("piece trained on", help="img_size (HxW)"), "weights": T("started from", help="initial weights"),
            "loss": T("mistakes counted as", help="loss"), "lr": N("learning speed", help="lr (learning rate)"),
            "time_budget_s": N("time allowed (s)", help="time_budget_s"),
            "checkpoint": st.column_config.CheckboxColumn("model saved", help="checkpoint")}


def _row(r) -> tuple[dict, list[str]]:
    """A run's row in the table, and its problems."""
    info, c = r.summary(), r.settings  # the engine's row; the settings it leaves out ({} when config.json is damaged)
    return {"run": info["run"], "best val mIoU": info["best_val_miou"], "state": info["state"],
            "backbone": info["backbone"],
            "arch": ARCHITECTURES[info["arch"]].plain if info["arch"] in ARCHITECTURES else info["arch"],
            "freeze_depth": c.get("freeze_depth"), "unfreeze_after": c.get("unfreeze_after"),
            "epochs": info["epochs"], "seconds": info["seconds"],
            "img_size": "x".join(map(str, c["img_size"])) if isinstance(c.get("img_size"), list) else None,
            "weights": WEIGHTS.get(c.get("weights"))
            or (Path(str(c.get("weights"))).name if c.get("weights") else None),
            "loss": LOSS_WORDS.get(c.get("loss"), c.get("loss")), "lr": c.get("lr"),
            "time_budget_s": c.get("time_budget"),
            "checkpoint": info["has_checkpoint"], "problems": "; ".join(info["problems"]) or None}, info["problems"]


def runs_table(ws, runs) -> None:
    """Every run in a row, its problems named, and which runs were trained on other classes than today's."""
    rows, problems = [], []
    for r in runs:
        row, found = _row(r)
        rows.append(row)
        problems += found
    for problem in problems:
        st.error(problem)
    if any(row["state"] == "interrupted" for row in rows):
        st.caption("interrupted: the process training the model stopped (the server was restarted or killed) before "
                   "it ended; its best state so far is kept and usable (Review, continue from it on Train).")
    st.caption(OVERLAP)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=_columns())
    for r in runs:  # classes renamed, removed or merged since: its masks would be mislabelled
        if note := ws.other_classes(r):
            st.caption(f"**{r.name}**: {note}")


def history_chart(run) -> None:
    """The run's training error and overlap by round (nothing for a damaged or missing history)."""
    try:
        hist = run.history()
    except (OSError, ValueError):  # a damaged history.csv: named above; the rest still works
        hist = []
    if not hist:
        return
    h = pd.DataFrame(hist)
    cols = [c for c in CURVES if c in h and h[c].notna().any()]
    if cols and "epoch" in h:
        st.line_chart(h.set_index("epoch")[cols].rename(columns=CURVES), height=220, x_label="round",
                      y_label="error / overlap")
