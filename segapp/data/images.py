"""The images of the workspace on the Data page: a thumbnail, size, state (unlabelled, proposal, labelled,
reviewed) and classes present of each, and their problems."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from seg_core.workspace.overview import image_overview, state_counts
from segapp.state import reviewed_stems, thumb_data_url
from segapp.words import say


def _thumbnail(ws, stem: str) -> str | None:
    try:
        return thumb_data_url(ws.shown_image(stem))  # as the project's display settings show it
    except Exception:  # an unreadable image: scan() reports it as a problem
        return None


def _size(hw: tuple[int, int] | None) -> str:
    return f"{hw[1]}×{hw[0]}" if hw else "unreadable"


def images_table(ws, ds) -> None:
    """The images' table under how many are in each state, and the scan's problems (``ds``: the scan; None when
    classes.json is damaged: no table)."""
    reviewed = reviewed_stems(ws)  # a damaged reviewed.json: named; the states show without reviewed marks
    rows = [{"thumbnail": _thumbnail(ws, o.stem), "image": o.stem, "size": _size(o.size), "state": o.state,
             "classes present": ", ".join(o.classes_present), "problems": "; ".join(map(str, o.problems))}
            for o in (image_overview(ws, ds, reviewed) if ds is not None else [])]
    st.subheader(state_counts({r["image"]: r["state"] for r in rows}))
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
                                    "state": st.column_config.TextColumn(
                                        "state", help="unlabelled; proposal (a run's prediction waits on the Annotate "
                                                      "page); labelled; reviewed (a person checked the mask)")})
    elif ds is not None:
        st.info("No images yet: upload some above or press **Load sample**.")
    for p in ds.problems if ds is not None else []:
        if rows or p.file != str(ws.images_dir):  # no images at all (a new project) is said just above
            say("error" if p.severity == "error" else "warning", p)
