"""The class editor, on the Data page and in the Annotate page's "Classes" menu: add, rename, recolour, move,
remove and merge classes (``seg_core.workspace.class_edits``: every mask follows, each change can be undone).
Removing or merging asks what the class's pixels become."""
from __future__ import annotations

import streamlit as st

from seg_core.base.classes import ClassList, default_colour
from seg_core.base.mask_values import UNLABELLED
from seg_core.workspace import class_edits
from segapp.flash import flash
from segapp.state import hex_colour
from segapp import access

ACTIONS = ["Add a class", "Rename a class", "Change a colour", "Move a class", "Remove a class",
           "Merge a class into another"]


def class_editor(ws, classes: ClassList, prefix: str = "class") -> None:
    """The editor's widgets (keys ``<prefix>_action``, ``<prefix>_name``, ``<prefix>_apply``, ``<prefix>_undo``
    ...); a change reruns the whole page, which then says what it did where the page calls
    ``segapp.flash.show_flash(prefix)``."""
    st.caption("Every mask follows a change: removing or merging a class asks what its pixels become and "
               "rewrites the masks; each change can be undone.",
               help=f"In the mask files a class is stored as its number minus one (0-based); unlabelled pixels "
                    f"as {UNLABELLED}. "
                    "The old classes.json and masks are kept in the project's trash folder.")
    action = st.selectbox("Change the classes", ACTIONS, key=f"{prefix}_action")
    names = classes.names
    c1, c2 = st.columns(2)
    if action == "Add a class":
        name = c1.text_input("New class", key=f"{prefix}_new_name")
        colour = c2.color_picker("Colour", hex_colour(default_colour(len(names))), key=f"{prefix}_new_colour")
        op = lambda: class_edits.add_class(ws, name, colour)  # noqa: E731
    else:
        name = c1.selectbox("Class", names, key=f"{prefix}_name")
        others = [n for n in names if n != name]
        if action == "Rename a class":
            new_name = c2.text_input("New name", key=f"{prefix}_rename_to")
            op = lambda: class_edits.rename_class(ws, name, new_name)  # noqa: E731
        elif action == "Change a colour":
            colour = c2.color_picker("Colour", hex_colour(classes.colours[names.index(name)]), key=f"{prefix}_colour")
            op = lambda: class_edits.recolour_class(ws, name, colour)  # noqa: E731
        elif action == "Move a class":
            pos = c2.selectbox("To place", range(len(names)), index=names.index(name), key=f"{prefix}_position",
                               format_func=lambda i: f"{i + 1}" + (f" (now {names[i]})" if names[i] != name else ""))
            op = lambda: class_edits.move_class(ws, name, pos)  # noqa: E731
        elif action == "Remove a class":
            fate = c2.selectbox("Its pixels become", ["unlabelled"] + others, key=f"{prefix}_pixels_to",
                                help="unlabelled: nobody labelled them (ignored in training); or another class")
            op = lambda: class_edits.remove_class(ws, name, fate)  # noqa: E731
        else:
            into = c2.selectbox("Merge into", others, key=f"{prefix}_into")
            op = lambda: class_edits.merge_class(ws, name, into)  # noqa: E731
    may = access.can(ws.root, "classes")
    if st.button(action, key=f"{prefix}_apply", type="primary", disabled=not may) and access.allowed(ws.root, "classes"):
        try:
            change = op()
            access.did(ws.root, "classes", change.summary())
            flash(prefix, change.summary(), more=[("warning", f"Left as it is: {p}") for p in change.unreadable])
        except ValueError as err:
            st.error(str(err))
    points = class_edits.restore_points(ws)
    if st.button("Undo the last class change", key=f"{prefix}_undo", disabled=not points or not may,
                 help=f"Undo: {class_edits.describe(points[0])}" if points else "No class change to undo") \
            and access.allowed(ws.root, "classes"):
        try:
            point = class_edits.restore_class_change(ws, points[0])
            access.did(ws.root, "classes", f"undid: {class_edits.describe(point)}")
            flash(prefix, f"Undone: {class_edits.describe(point)}.")
        except FileNotFoundError:  # undone meanwhile (another tab)
            st.info("That class change was undone already.")
