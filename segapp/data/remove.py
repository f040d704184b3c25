"""Removing an image on the Data page (moved to the workspace's trash with its mask)."""
from __future__ import annotations

import streamlit as st


def remove_panel(ws) -> None:
    if not ws.stems():
        return
    c1, c2 = st.columns([3, 1])
    victim = c1.selectbox("Image to remove (moved to the workspace trash)", ws.stems(), key="remove_stem")
    if c2.button("Remove", key="remove_btn"):
        where = ws.remove(victim)  # None: removed already (a second click, another tab)
        st.toast(f"Moved {victim} to trash" if where is not None else f"{victim} was removed already")
        st.rerun()
