"""The labels a run learned from (its copy of them: ``seg_core.runs.labels``), compared with another run's."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from seg_core.runs.labels import LabelSet


def label_set(r):
    """The run's label set, None for a run from before runs kept their labels; a damaged manifest is named."""
    try:
        return LabelSet.of(r.path)
    except ValueError as err:
        st.error(str(err))
        return None


def labels_panel(run, runs) -> None:
    """The images ``run`` learned from (held out or not, pixels per class), and what another run had otherwise."""
    labels = label_set(run)
    if labels is None:
        st.caption(f"{run.name} was trained before runs kept a copy of their labels.")
        return
    st.caption(f"{run.name} {labels.summary()}. Labels painted after it started are not part of it.")
    st.dataframe(pd.DataFrame([{"image": i.image, "held out": i.held_out, "labelled pixels": i.labelled_pixels,
                                **i.pixels_per_class} for i in labels.images]),
                 hide_index=True, width="stretch", key="run_labels")
    others = [r for r in runs if r.path != run.path]
    other = st.selectbox("Compare its labels with", others, index=None, format_func=lambda r: r.name,
                         key="compare_labels", placeholder="another run",
                         help="Which labelled images the other run had that this one had not, and the reverse.")
    if other is not None and (theirs := label_set(other)) is None:
        st.caption(f"{other.name} was trained before runs kept a copy of their labels.")
    elif other is not None:
        change = labels.compare(theirs)
        st.write(f"**{other.name}** compared with **{run.name}**: {change.text()}.")
        for what, stems in (("labelled only in " + other.name, change.added),
                            ("labelled only in " + run.name, change.removed),
                            ("labels changed", change.changed),
                            ("held out in one run, trained on in the other", change.moved)):
            if stems:
                st.write(f"{what.capitalize()}: " + ", ".join(stems))
