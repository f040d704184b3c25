"""Starting a training from the Train page: whether one runs already (here, in another process, another
project's), the processes to train in, and Start."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from seg_core import JobRefused
from seg_core.base.device import describe as describe_device, describe_plainly
from seg_core.base.locks import describe as describe_holder, holder as training_holder
from seg_core.runner import launch
from seg_core.runs.config import ConfigError, build_config
from seg_core.workspace.activity import record_starter
from segapp import access
from segapp.words import say


@dataclass(frozen=True)
class Trainings:
    """The trainings Start waits for."""

    job: object  # this project's training job (None: none yet)
    running: bool  # it is running
    blocked: bool  # another process, or another project, is training: Start waits for it


def trainings(ws, reg) -> Trainings:
    """This project's training (picked up again after a page reload or a server restart), and another one Start
    must wait for (said)."""
    job = launch.reattach(reg, ws.runs_dir) or reg.training_of(ws.runs_dir, st.session_state.get("job_id"))
    running = job is not None and job.active
    elsewhere = None if running else training_holder(ws.runs_dir)  # a training in another process (another server)
    if elsewhere is not None:
        st.info(f"{describe_holder(elsewhere)} in another process; Start is available again when it ends.")
    other = None if running else reg.training()  # another project's (another tab's): one training at a time here
    if other is not None:
        whose = f"The project '{Path(other.output).parent.parent.name}'" if other.output else "Another project"
        st.info(f"{whose} is training ('{other.label}'); one training runs at a time, so Start is available again "
                "when it ends.")
    return Trainings(job, running, elsewhere is not None or other is not None)


def processes() -> tuple[int, str]:
    """How many processes to train in (a choice only on a machine with several GPUs), and what one is called; and
    what it trains on."""
    max_procs, unit = launch.available_processes()
    procs = 1
    if max_procs > 1:  # several GPUs (or SEG_CORE_CPU_PROCESSES): train in one process per device with torchrun
        procs = st.selectbox(f"{unit} to use", list(range(1, max_procs + 1)), index=max_procs - 1, key="processes",
                             help="More than one: torchrun starts one training process each (DistributedDataParallel)"
                                  "; every step trains on batch size x processes images. One: one training process.")
    st.caption(("Trains in the background" if procs == 1 else f"Trains in {procs} processes")
               + "; follow it here, it keeps running if the page is closed or the app restarts.")
    st.caption(f"Trains on {describe_plainly()}.", help=f"Technical details: {describe_device()}")
    return procs, unit


def start_button(ws, reg, fields: dict, procs: int, unit: str, now: Trainings, n_labelled: int) -> None:
    """Start training with the TrainConfig ``fields`` chosen on the page (disabled while a training runs, the
    weights file is missing or nothing is labelled); a setting out of bounds is named."""
    if now.running:
        st.info(f"'{now.job.label}' is training; Start is available again when it ends or is cancelled.")
    if st.button("Start training", type="primary", key="start_training", disabled=now.running or now.blocked
                 or fields["weights"] is None or n_labelled == 0 or not access.can(ws.root, "train")) \
            and access.allowed(ws.root, "train"):
        backbone = fields["backbone"]
        try:
            cfg = build_config(fields | dict(data=str(ws.data_dir), out=str(ws.new_run_dir(backbone)),
                                             require_masks=False)).validate()
            kept = fields["freeze_depth"]
            label = (f"{Path(cfg.out).name} ({backbone}, " + (f"{kept} parts kept" if kept else "all parts learn")
                     + (f", {procs} {unit})" if procs > 1 else ")"))
            job = launch.start_training(reg, cfg, label, int(procs))
            access.did(ws.root, "train", label)
            record_starter(Path(cfg.out), access.person().who)  # the run says who started it
            st.session_state["job_id"] = job.id
            st.rerun()
        except JobRefused as err:
            st.warning(str(err))
        except ConfigError as err:
            say("error", err)
