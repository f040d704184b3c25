"""Removing an image on the Data page (moved to the workspace's trash with its mask)."""
from __future__ import annotations

import streamlit as st
from segapp import access


def remove_panel(ws) -> None:
    if not ws.stems():
        return
    c1, c2 = st.columns([3, 1])
    victim = c1.selectbox("Image to remove (moved to the workspace trash)", ws.stems(), key="remove_stem")
    if c2.button("Remove", key="remove_btn", disabled=not access.can(ws.root, "remove_image")) \
            and access.allowed(ws.root, "remove_image"):
        where = ws.remove(victim)  # None: removed already (a second click, another tab)
        if where is not None:
            access.did(ws.root, "remove_image", victim)
        st.toast(f"Moved {victim} to trash" if where is not None else f"{victim} was removed already")
        st.rerun()
