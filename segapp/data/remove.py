"""Removing an image on the Data page (moved to the workspace's trash with its mask), and putting a removed one
back."""
from __future__ import annotations

import streamlit as st
from segapp import access


def remove_panel(ws) -> None:
    if ws.stems():
        c1, c2 = st.columns([3, 1])
        victim = c1.selectbox("Image to remove (moved to the workspace trash)", ws.stems(), key="remove_stem")
        if c2.button("Remove", key="remove_btn", disabled=not access.can(ws.root, "remove_image")) \
                and access.allowed(ws.root, "remove_image"):
            where = ws.remove(victim)  # None: removed already (a second click, another tab)
            if where is not None:
                access.did(ws.root, "remove_image", victim)
            st.toast(f"Moved {victim} to trash" if where is not None else f"{victim} was removed already")
            st.rerun()
    _put_back(ws)


def _put_back(ws) -> None:
    """The removed images that can be put back (``Workspace.removed_images``), one put back with its mask."""
    removed = ws.removed_images()
    if not removed:
        return
    with st.expander(f"Removed images ({len(removed)}): put one back"):
        labels = [f"{stem} (removed {_when(where.name)})" for stem, where in removed]
        pick = st.selectbox("Removed image", range(len(removed)), format_func=labels.__getitem__, key="restore_pick",
                            help="Its mask, the model's proposal and any object outlines come back with it.")
        if st.button("Put it back", key="restore_btn", disabled=not access.can(ws.root, "remove_image")) \
                and access.allowed(ws.root, "remove_image"):
            stem, where = removed[pick]
            try:
                ws.restore_removed(where)
            except (ValueError, OSError) as err:
                st.error(str(err))
                return
            access.did(ws.root, "restore_image", stem)
            st.toast(f"Put {stem} back")
            st.rerun()


def _when(folder: str) -> str:
    """A trash folder's time (``20261205-213222_name``) as ``2026-12-05 21:32``."""
    d = folder[:15]
    return f"{d[:4]}-{d[4:6]}-{d[6:8]} {d[9:11]}:{d[11:13]}" if len(d) == 15 and d[8] == "-" else folder
