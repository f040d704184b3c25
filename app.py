"""Streamlit app: label images, fine-tune a pretrained segmentation model, review and export it.

Run with ``streamlit run app.py``. The workspace folder is SEGAPP_WORKSPACE or ./workspace.

The page configuration and the navigation come first, before anything slow (the engine, and torch,
load only in the pages that need them). ``.streamlit/config.toml`` hides Streamlit's automatic list of
``pages/``; the sidebar holds the app's own navigation, drawn here as page links.
"""
import streamlit as st

st.set_page_config(page_title="Segmentation studio", page_icon=":material/biotech:", layout="wide")

PAGES = [
    st.Page("pages/1_Data.py", title="Data", icon=":material/folder:", default=True),
    st.Page("pages/2_Annotate.py", title="Annotate", icon=":material/brush:"),
    st.Page("pages/3_Train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/4_Review.py", title="Review", icon=":material/search:"),
    st.Page("pages/5_Runs.py", title="Runs & export", icon=":material/inventory_2:"),
]
nav = st.navigation(PAGES, position="hidden")
for page in PAGES:
    st.sidebar.page_link(page)
st.session_state["run_no"] = st.session_state.get("run_no", 0) + 1  # lets a page see it was just opened

from app_state import workspace  # noqa: E402  (after the navigation: nothing slow before it)

st.sidebar.caption(f"Workspace: `{workspace().root}`")
nav.run()
