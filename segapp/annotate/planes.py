"""The planes of a stack on the Annotate page: a slider over the planes of the stack the image belongs to
(``seg_core.workspace.planes.stack_of``), and the canvas's "." / "," keys moving to the next / previous one."""
from __future__ import annotations

import streamlit as st

from seg_core.workspace.planes import split_plane, stack_of

WHAT = {"z": "depth", "t": "time"}


def go_to_plane(stem: str, stems: list[str], step: int) -> None:
    """Open the plane ``step`` planes on from ``stem`` in its stack (``ann_goto``), or say there is none."""
    group = stack_of(stem, stems)
    if len(group) < 2:
        st.toast("This image is not a plane of a stack.")
        return
    i = group.index(stem) + step
    if 0 <= i < len(group):
        st.session_state["ann_goto"] = group[i]
        st.rerun()
    st.toast("This is the last plane." if step > 0 else "This is the first plane.")


def _pick(key: str, planes: dict[str, str]) -> None:
    st.session_state["ann_stem"] = planes[st.session_state[key]]  # before the image selector is drawn again


def plane_slider(where, stem: str, stems: list[str]) -> None:
    """Under the image selector, for a plane of a stack: a slider over the stack's planes (moving it opens that
    plane) and which plane this is."""
    group = stack_of(stem, stems)
    if len(group) < 2:
        return
    base, label = split_plane(stem)
    planes = {split_plane(s)[1]: s for s in group}
    key = f"ann_plane_{base}"
    st.session_state[key] = label  # follows the image shown, however it was picked
    where.select_slider(f"Plane of {base}", options=list(planes), key=key, on_change=_pick, args=(key, planes),
                        help="Each plane of the stack is an image of its own, painted and saved on its own. Keys on "
                             "the canvas: . (or >) the next plane, , (or <) the previous one.")
    kinds = " and ".join(WHAT[c] for c in "tz" if c in label)
    where.caption(f"Plane {group.index(stem) + 1} of {len(group)} ({kinds}).")
