"""The training followed live on the Train page (a fragment that reruns on its own while it trains: progress,
curves, Cancel, how it ended), and a run whose process stopped while it trained."""
from __future__ import annotations

import streamlit as st

from segapp.heap import settled
from segapp.live_panel import Curve, live_panel
from segapp.train.start import Trainings
from segapp.words import say
from segapp import access

# the live progress is sent this often while a training runs (the browser ticks its clock in between): each update
# is Python in this server and a render in the browser, taken from the training's CPU (benchmarks/bench_ui.py,
# part watch, measures the cost)
LIVE_REFRESH_S = 5.0
FIRST_REFRESH_S = 1.0  # until the first step shows, so it shows at once; then the page reruns at the calm pace
STATES = {"starting": "starting", "running": "running", "done": "finished", "cancelled": "cancelled",
          "failed": "failed"}


def _curves(snap) -> list[Curve]:
    curves = []
    if snap.curve:
        curves.append(Curve("Training error (lower is better)", [(p["step"], p["loss"]) for p in snap.curve], "step",
                            "error", digits=4))
    scored = [v for v in snap.validations if v.val_miou is not None]
    if scored:
        curves.append(Curve("Overlap with your masks on the images kept aside (IoU)",
                            [(v.step, v.val_miou) for v in scored], "step", "overlap",
                            y_range=(0.0, 1.0), note=f"Scored on {scored[-1].scored_on}." if scored[-1].scored_on
                            else ""))
    return curves


def live_training(ws, reg, now: Trainings) -> None:
    """This project's latest training: its progress and curves (refreshed while it runs), Cancel, and how it
    ended; the page reruns when it ends, and once its first step shows."""
    running = now.running
    waiting_for_a_step = running and now.job.snapshot().last_step is None

    @st.fragment(run_every=(FIRST_REFRESH_S if waiting_for_a_step else LIVE_REFRESH_S) if running else None)
    @settled
    def live():
        job = reg.training_of(ws.runs_dir, st.session_state.get("job_id"))
        if job is None:
            st.info("No training job yet.")
            return
        snap = job.snapshot()
        st.session_state["job_id"] = snap.id
        st.subheader(f"Training {snap.label} — {STATES.get(snap.state, snap.state)}")
        live_panel(snap.fraction, snap.text(clock=False), key="training_progress", clock=snap.clock(),
                   running=snap.active, curves=_curves(snap), height=220)
        if snap.start is not None:
            st.caption("Training error: how far the model's masks are from yours on the pieces it learns from. "
                       "Overlap (IoU): the share of pixels where the model's mask and yours agree, per class, 1 = "
                       "all.", help=f"Technical details: {snap.start.processes} process(es) · {snap.start.device} · "
                                    f"{snap.start.precision}; the error is the training loss, the overlap the "
                                    "validation mIoU.")
        if snap.message:
            say("caption", snap.message[:2000])
        if snap.error:
            say("error", snap.error)
        if snap.active:
            if st.button("Cancel training", disabled=snap.cancel_requested) and access.allowed(ws.root, "train"):
                job.cancel()
                access.did(ws.root, "train", f"cancelled {job.label}")
        elif snap.state == "done":
            st.success("Training finished: see **Review** and **Runs & export**.")
        elif snap.state == "cancelled":
            st.warning("Cancelled; the best model so far was kept." if snap.end and snap.end.checkpoint
                       else "Cancelled before the first step; nothing was saved.")
        if not snap.active and running:
            st.rerun()  # the job ended: rerun the page (stops polling, enables Start again)
        if waiting_for_a_step and snap.last_step is not None:
            st.rerun()  # the first step is shown: the page again, polling at the calm pace

    live()


def interrupted_warning(ws) -> None:
    """The newest run, when its process stopped while it trained (the server was restarted or killed)."""
    latest = next(iter(ws.runs()), None)
    if latest is not None and latest.state == "interrupted":
        m = latest.best_val_miou
        st.warning(f"Run {latest.name}: interrupted. The process training it stopped before it ended (the server "
                   "was restarted or killed). " + (f"Its best model (overlap {m:.3f}) is kept: review it, or "
                   "continue from it above." if latest.has_checkpoint and m is not None else "Its best model is "
                   "kept: review it, or continue from it above." if latest.has_checkpoint else "It had saved no "
                   "model."))
