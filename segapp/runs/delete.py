"""Deleting a run (moved to the workspace's trash), once confirmed and not while it trains or is zipped or
exported."""
from __future__ import annotations

import streamlit as st

from segapp.flash import flash
from segapp.state import registry, task_running
from segapp import access

FLASH = "runs"  # where the page says a run was deleted (show_flash): at its top, even when that was the last run


def delete_panel(ws, run, tasks: list[tuple[str, str]]) -> None:
    """The confirmation and Delete; ``tasks``: the (kind, key) of the run's zip and exports."""
    training = registry().writing(run.path) is not None or run.state == "running"  # here, or in another process
    exporting = any(task_running(kind, key) for kind, key in tasks)
    confirm = st.checkbox(f"Yes, delete {run.name}", key="confirm_delete")
    if st.button("Delete run", disabled=not confirm or training or exporting or not access.can(ws.root, "delete_run"),
                 type="secondary",
                 help="Still training: cancel it first." if training else
                 "Being zipped or exported: wait for it or cancel it first." if exporting else None) \
            and access.allowed(ws.root, "delete_run"):
        where = ws.remove_run(run)
        access.did(ws.root, "delete_run", run.name)
        st.session_state.pop("confirm_delete", None)
        flash(FLASH, f"Deleted {run.name} (moved to `{where}`; move it back to restore it).")
