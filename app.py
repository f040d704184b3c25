"""Streamlit app: label images, fine-tune a pretrained segmentation model, review and export it.

Run with ``streamlit run app.py``. The workspace folder is SEGAPP_WORKSPACE or ./workspace.
"""
import streamlit as st

from app_state import workspace

st.set_page_config(page_title="Segmentation studio", page_icon=":material/biotech:", layout="wide")

pages = [
    st.Page("pages/1_Data.py", title="Data", icon=":material/folder:", default=True),
    st.Page("pages/2_Annotate.py", title="Annotate", icon=":material/brush:"),
    st.Page("pages/3_Train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/4_Review.py", title="Review", icon=":material/search:"),
    st.Page("pages/5_Runs.py", title="Runs & export", icon=":material/inventory_2:"),
]
st.session_state["run_no"] = st.session_state.get("run_no", 0) + 1  # lets a page see it was just opened
nav = st.navigation(pages)
ws = workspace()
st.sidebar.caption(f"Workspace: `{ws.root}`")
nav.run()
