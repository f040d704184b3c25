"""Who did what in the project, on the Data page: the newest entries of its activity record
(``seg_core.workspace.activity``) in plain words."""
from __future__ import annotations

import streamlit as st

from seg_core.workspace.activity import recent
from segapp.words import escaped

# action -> what a line says the person did
DONE = {"import": "added", "paint": "painted:", "accept": "accepted", "classes": "changed the classes:",
        "remove_image": "removed the image", "restore_image": "put back the image", "train": "trained", "export": "exported", "delete_run": "deleted the run",
        "rename": "renamed the project", "remove": "removed", "members": "changed who may work here:",
        "view": "looked at", "download": "downloaded"}


def activity_panel(ws, n: int = 15) -> None:
    entries = recent(ws.root, n)
    if not entries:
        st.caption("Nothing recorded yet: imports, mask edits, accepted proposals, class changes, trainings, "
                   "exports and removals are listed here with who did them and when.")
        return
    lines = []
    for e in entries:
        when = e.time.astimezone().strftime("%d %b %H:%M")
        lines.append(f"- {when}: **{escaped(e.who)}** {DONE.get(e.action, escaped(e.action))} {escaped(e.what)}")
    st.markdown("\n".join(lines))
    st.caption("The whole record, one line per action: activity.jsonl in the project's folder.")
