"""The first-run guide on top of every page until the user puts it away (remembered in the workspace:
``seg_core.workspace.guide``), and a sidebar button to show it again."""
from __future__ import annotations

import streamlit as st

from seg_core.workspace.guide import STEPS, dismiss_guide, guide_dismissed


def first_run_guide(root) -> None:
    if guide_dismissed(root):
        st.sidebar.button("Show the guide", key="guide_show", on_click=dismiss_guide, args=(root, False),
                          help="What to do on each page, in order.")
        return
    with st.container(border=True, key="first_run_guide"):
        st.markdown("**Welcome! How to get a model that draws your masks, step by step:**\n\n"
                    + "\n".join(f"{i}. **{page}**: {what}" for i, (page, what) in enumerate(STEPS, 1)))
        st.button("Got it, hide this guide", key="guide_hide", on_click=dismiss_guide, args=(root,),
                  help="It stays hidden for this project; the sidebar's Show the guide brings it back.")
