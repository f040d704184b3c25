"""The classes on the Data page: each with its number and colour, and the class editor; when classes.json is
damaged, a table to write a new one."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from segapp.class_editor import class_editor
from segapp.flash import show_flash
from segapp.state import classes_from_table, hex_colour
from segapp import access


def classes_panel(ws, classes, damaged: bool) -> None:
    """The classes numbered as the canvas's keys pick them; the editor, or with ``damaged`` classes.json the
    table that writes a new one."""
    st.markdown(" ".join(f'<span style="background:{hex_colour(c)};color:#fff;padding:2px 8px;border-radius:4px;'
                         f'text-shadow:0 0 2px #000">{i}: {n}</span>'  # numbered as the canvas's keys pick them
                         for i, (n, c) in enumerate(zip(classes.names, classes.colours), 1)), unsafe_allow_html=True)
    if not damaged:
        class_editor(ws, classes)
        show_flash("class")  # what the last change did
        return
    cdf = pd.DataFrame({"name": classes.names, "colour": [hex_colour(c) for c in classes.colours]})
    edited = st.data_editor(cdf, num_rows="dynamic", hide_index=False, key="class_editor", width="stretch",
                            column_config={"name": st.column_config.TextColumn("name", required=True),
                                           "colour": st.column_config.TextColumn("colour (#rrggbb)")})
    if st.button("Save classes", disabled=not access.can(ws.root, "classes")) and access.allowed(ws.root, "classes"):
        try:
            ws.save_classes(classes_from_table(edited["name"], edited["colour"]))
            access.did(ws.root, "classes", "wrote a new list of classes")
            st.success("Classes saved.")
            st.rerun()
        except ValueError as err:
            st.error(f"classes.json: {err}")
