"""Joining files of one channel each (one per band or stain) into one image on the Data page: pick the files,
name the image, "Join as one image with N channels" (``Workspace.import_combined``, in the background as the
other imports; what it did is said under the uploads)."""
from __future__ import annotations

import streamlit as st

from seg_core.data.imageio import IMAGE_EXTS
from seg_core.workspace.importing.combine import MAX_CHANNELS, channel_names_of
from segapp import access
from segapp.state import file_types, start_task, task_running
from segapp.words import say


def combine_panel(ws) -> bool:
    """The files to join, the image's name and the button; True when a join started (``uploads``' report shows
    it)."""
    st.markdown("**One file per band or stain?** Join them as one image.")
    files = st.file_uploader("Files of one channel each, in the order of their channels", accept_multiple_files=True,
                             type=file_types(IMAGE_EXTS), key="join_files",
                             help=f"2 to {MAX_CHANNELS} files of one size, e.g. the red, green, blue and "
                                  "near-infrared bands of one scene, or one file per stain. Each channel is named "
                                  "after its file.")
    if not files:
        return False
    names = channel_names_of([f.name for f in files])
    st.caption("Channels: " + ", ".join(f"{i}. {n} ({f.name})" for i, (n, f) in enumerate(zip(names, files), 1)))
    default = next(iter(f.name for f in files)).rsplit(".", 1)[0]
    name = st.text_input("Name of the image", value=default if len(files) == 1 else _shared(files) or "joined",
                         key="join_name").strip()
    busy = task_running("import", str(ws.root))
    ok = 2 <= len(files) <= MAX_CHANNELS and bool(name) and access.can(ws.root, "import") and not busy
    if not 2 <= len(files) <= MAX_CHANNELS:
        st.caption(f"Pick 2 to {MAX_CHANNELS} files.")
    if not st.button(f"Join as one image with {len(files)} channels", disabled=not ok, key="join_go") \
            or not access.allowed(ws.root, "import"):
        return False
    from segapp.data.uploads import within_limit  # uploads lays this panel out under its own

    kept, too_big = within_limit(files)
    for problem in too_big:
        say("error", problem)
    if len(kept) != len(files):
        return False
    data = [(f.name, f.getvalue()) for f in kept]  # copied now for the background import
    started = start_task("import", str(ws.root), f"Joining {len(data)} files as {name}",
                         lambda progress, cancel: ws.import_combined(data, name, progress=progress, cancel=cancel))
    if started:
        access.did(ws.root, "import", f"{name} joined from {', '.join(n for n, _ in data)}")
    return started


def _shared(files) -> str:
    """The start all the files' names share (``cells_`` of ``cells_DAPI.tif``, ``cells_GFP.tif``), trimmed."""
    names = [f.name.rsplit(".", 1)[0] for f in files]
    i = 0
    while all(len(n) > i for n in names) and len({n[i] for n in names}) == 1:
        i += 1
    return names[0][:i].strip("_- .")
