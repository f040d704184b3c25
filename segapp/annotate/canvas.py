"""The Annotate page's canvas on the image's mask or its proposal, in a fragment: every edit saved at once
(``segapp.label_canvas.file_sync``), the keys pressed on it followed, the suggestion shown, the classes' shares
under it."""
from __future__ import annotations

import streamlit as st

from seg_core.data.annotation import coverage
from seg_core.infer.overlay import overlay
from segapp import access
from segapp.annotate.image import Picture
from segapp.annotate.mask_actions import FLASH, accept_proposal, mark_reviewed
from segapp.annotate.planes import go_to_plane
from segapp.annotate.suggestions import accept_suggestion, suggestion_actions, suggestion_shown, suggestions_switch
from segapp.heap import settled
from segapp.label_canvas import label_canvas, take_command
from segapp.label_canvas.file_sync import save_canvas_edits
from segapp.state import legend_html


def follow_key(ws, stem: str, stems: list[str], command: str, target: str, sg, version) -> None:
    """A key pressed on the canvas (its edits before it are saved): PageDown / PageUp open the next / previous
    image, "." / "," the next / previous plane of a stack; A accepts the proposal, else the suggestion on screen, else marks the mask reviewed."""
    if command in ("plane_next", "plane_previous"):
        go_to_plane(stem, stems, 1 if command == "plane_next" else -1)
    elif command in ("next", "previous"):
        i = stems.index(stem) + (1 if command == "next" else -1)
        if 0 <= i < len(stems):
            st.session_state["ann_goto"] = stems[i]
            st.rerun()
        st.toast("This is the last image." if command == "next" else "This is the first image.")
    elif target == "proposal":
        accept_proposal(ws, stem)
    elif sg is not None and (got := sg.latest()) is not None and got.version == version:
        accept_suggestion(ws, stem, got)
    elif ws.read_mask(stem) is None:
        st.toast("Nothing to accept yet: paint the mask first.")
    else:
        mark_reviewed(ws, stem)


def read_only(picture: Picture, store, classes) -> None:
    """The labels over the image, for someone who may look at the project but not change its masks."""
    try:
        labels = store.read(picture.stem)
    except (OSError, ValueError) as err:
        st.error(str(err))
        return
    shown = picture.saved_or_unlabelled() if labels is None else labels
    st.image(overlay(picture.on_screen, shown, classes, 0.45), caption=picture.path.name, width="stretch")
    st.caption("You may look at this project's masks; changing them needs the annotator's or owner's role.")
    st.markdown(legend_html(classes), unsafe_allow_html=True)


@st.fragment
@settled
def canvas(ws, picture: Picture, classes, target: str, stems: list[str], run) -> None:
    """The canvas on the image's mask (``target`` "mask", with the suggestion's switch above it; ``run``: the run
    it may learn from) or its proposal ("proposal"); ``stems``: the images PageDown / PageUp go through."""
    stem = picture.stem
    store = ws.masks if target == "mask" else ws.proposals
    if not access.can(ws.root, "paint"):  # may look only: the labels over the image, no canvas to send edits from
        read_only(picture, store, classes)
        return
    key = f"ann_{target}_{stem}"
    helper, bar = suggestions_switch(ws, picture, classes, run) if target == "mask" else (None, None)
    file = save_canvas_edits(key, store, stem, picture.shape, classes, picture.path.name, flash_to=FLASH)
    if file is None:
        return
    if (command := take_command(key)) is not None:
        follow_key(ws, stem, stems, command, target, helper, file.version)
    shown = suggestion_shown(helper, picture.image, file.mask, file.version, run) if target == "mask" else {}
    label_canvas(picture.on_screen, lambda: store.read(stem), classes, key=key,
                 image_id=f"{stem}:{picture.mtime}:{picture.display_id}", mask_id=file.mask_id,
                 name=picture.path.name, height=620,
                 commands=("next", "previous", "accept", "plane_next", "plane_previous"), **shown)
    if target == "mask":
        suggestion_actions(ws, stem, helper, bar, file.version)
    if file.saved_at:
        access.did(ws.root, "paint", f"saved the {target} of {stem}")  # once per image and five minutes
        st.caption(f"Saved {store.path(stem).name} at {file.saved_at}{' (the proposal)' if target == 'proposal' else ''}.")
    st.markdown(legend_html(classes), unsafe_allow_html=True)
    shares, unlabelled_share = coverage(file.mask, classes)
    st.caption(" · ".join(f"**{n}** {share:.1%}" for n, share in zip(classes.names, shares))
               + f" · *unlabelled* {unlabelled_share:.1%}")
