"""Streamlit app: label images, fine-tune a pretrained segmentation model, review and export it.

Run with ``streamlit run app.py``. Each project is a workspace folder under SEGAPP_HOME (default ./projects);
the sidebar opens, creates, renames and removes them and the page URL names this tab's (``segapp.projects``).
SEGAPP_WORKSPACE pins the app to that one folder instead. Who may see and do what: ``segapp.access`` (on one's
own machine, everything; served to a lab, sign-in and each project's members; docs/lab-server.md).

The pages, one per workflow step, are in ``pages/`` beside this file, declared here with ``st.navigation``
(the table is ``segapp.navigation``); their shared helpers are the ``segapp`` package. The page
configuration and the navigation come first, before anything slow (the engine, and torch, load only in
the pages that need them).
"""
import streamlit as st

from segapp.heap import settle
from segapp.navigation import PAGES

st.set_page_config(page_title="Segmentation studio", page_icon=":material/biotech:", layout="wide")

pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES]
nav = st.navigation(pages, position="hidden")

from segapp import access, projects  # noqa: E402  (after the navigation: nothing slow before it)

access.gate()  # who uses this tab: not signed in (sign-in on), or served openly without sign-in: it stops here

project = projects.current()  # this tab's project (the URL's), None when SEGAPP_WORKSPACE pins one folder
projects.follow_switch()  # the picker opened another project: the page loads afresh on it
picker = st.sidebar.container()  # the project picker, above the steps
for page in pages:  # the sidebar: the steps as links, in order, keeping this tab's project in the URL
    st.sidebar.page_link(page, query_params=projects.link_params(project))
st.session_state["run_no"] = st.session_state.get("run_no", 0) + 1  # lets a page see it was just opened
projects.sidebar(project, picker)
from segapp.guide import first_run_guide  # noqa: E402
from segapp.state import workspace  # noqa: E402

first_run_guide(workspace().root)  # what to do on each page, until the user puts it away (no project: says how)
try:
    nav.run()
finally:  # the libraries the page loaded leave the collector Streamlit runs after every rerun (heap.py)
    settle()
