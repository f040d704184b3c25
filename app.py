"""Streamlit app: label images, fine-tune a pretrained segmentation model, review and export it.

Run with ``streamlit run app.py``. The workspace folder is SEGAPP_WORKSPACE or ./workspace.

The app is the ``segapp`` package (its pages in ``segapp/pages/``, declared here with ``st.navigation``;
there is no ``pages/`` folder beside this file, so Streamlit has no automatic list to hide). The page
configuration and the navigation come first, before anything slow (the engine, and torch, load only in
the pages that need them).
"""
import streamlit as st

from segapp.heap import settle
from segapp.navigation import PAGES

st.set_page_config(page_title="Segmentation studio", page_icon=":material/biotech:", layout="wide")

pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES]
nav = st.navigation(pages, position="hidden")
for page in pages:  # the sidebar: the steps as links, in order
    st.sidebar.page_link(page)
st.session_state["run_no"] = st.session_state.get("run_no", 0) + 1  # lets a page see it was just opened

from segapp.state import workspace  # noqa: E402  (after the navigation: nothing slow before it)

st.sidebar.caption(f"Workspace: `{workspace().root}`")
from segapp.guide import first_run_guide  # noqa: E402

first_run_guide(workspace().root)  # what to do on each page, until the user puts it away
try:
    nav.run()
finally:  # the libraries the page loaded leave the collector Streamlit runs after every rerun (heap.py)
    settle()
