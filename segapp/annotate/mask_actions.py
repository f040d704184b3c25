"""The buttons on the image's mask and its proposal: accept or reject the proposal, clear and restore the mask,
mark it reviewed; each says what it did once, at the top of the page (``segapp.flash``, "annotate")."""
from __future__ import annotations

import streamlit as st

from seg_core.infer.overlay import overlay
from seg_core.workspace.masks import backup_reason
from seg_core.workspace.review_state import set_reviewed
from segapp.annotate.image import Picture
from segapp.flash import flash
from segapp import access

FLASH = "annotate"  # where the page says what a button did (show_flash)


def accept_proposal(ws, stem: str) -> None:
    if not access.allowed(ws.root, "accept"):
        return
    try:
        ws.proposals.accept(stem)
        access.did(ws.root, "accept", f"the proposal for {stem}")
    except (OSError, ValueError) as err:
        st.error(str(err))
    else:
        flash(FLASH, f"{stem}: the proposal is now the mask, marked reviewed")


def mark_reviewed(ws, stem: str) -> None:
    if not access.allowed(ws.root, "paint"):
        return
    set_reviewed(ws.root, stem, True)
    flash(FLASH, f"{stem}: marked as reviewed")


def clear_and_restore(ws, stem: str, where) -> None:
    """Clear the mask (kept as a backup) and Restore the previous one, in ``where``."""
    may = access.can(ws.root, "paint")
    if where.button("Clear mask (all unlabelled)", help="The cleared mask is kept as a backup: Restore brings it back.",
                    disabled=not may) and access.allowed(ws.root, "paint"):
        ws.replace_mask(stem, None, "clear")
        access.did(ws.root, "paint", f"cleared the mask of {stem}")
        st.rerun()
    backups = ws.mask_backups(stem)
    if backups and where.button("Restore the previous mask",
                                help=f"Undo the last replacement ({backup_reason(backups[0])}); its reviewed mark "
                                     "comes back with it.", disabled=not may) and access.allowed(ws.root, "paint"):
        ws.restore_mask(stem)
        access.did(ws.root, "paint", f"restored the previous mask of {stem}")
        flash(FLASH, f"{stem}: restored the mask from before '{backup_reason(backups[0])}'")


def proposal_bar(ws, stem: str, proposal):
    """What a proposal is and its Accept / Reject buttons; returns the columns for its canvas and the saved mask."""
    st.warning(f"**Proposal from run {proposal.run or '(unknown run)'} — not your label yet.** Correct it on the "
               "canvas (each edit is saved to the proposal), then **Accept** it: it becomes this image's mask, "
               "marked reviewed, and the mask it replaces is kept (Restore the previous mask). **Reject** "
               "moves it to the workspace trash and leaves the mask as it is.")
    a1, a2, _ = st.columns([1, 1, 2])
    may = access.can(ws.root, "accept")
    if a1.button("Accept the proposal", type="primary", help="Key: A on the canvas.", disabled=not may):
        accept_proposal(ws, stem)
    if a2.button("Reject the proposal", disabled=not may) and access.allowed(ws.root, "accept"):
        ws.proposals.reject(stem)
        access.did(ws.root, "accept", f"rejected the proposal for {stem}")
        flash(FLASH, f"{stem}: the proposal went to the trash; the mask is unchanged", "info")
    return st.columns([3, 1])


def saved_mask_panel(ws, picture: Picture, classes, where) -> None:
    """Beside a proposal: the mask as saved, with Clear and Restore."""
    with where:
        st.subheader("Saved mask")
        st.image(overlay(picture.on_screen, picture.saved_or_unlabelled(), classes, 0.45),
                 caption=f"{picture.stem}: the mask as saved (unchanged until you accept)", width="stretch")
        clear_and_restore(ws, picture.stem, where)


def mask_bar(ws, picture: Picture, marks: set[str]) -> None:
    """Above the mask's canvas: Clear, Restore, and the reviewed mark with its button."""
    b1, b2, b3, _ = st.columns([1, 1, 1, 1])
    clear_and_restore(ws, picture.stem, b1)
    if picture.saved is None:
        return
    reviewed = picture.stem in marks
    if b2.button("Mark as not reviewed" if reviewed else "Mark as reviewed",
                 help="Reviewed: a person checked this whole mask (shown on the Data page).",
                 disabled=not access.can(ws.root, "paint")) and access.allowed(ws.root, "paint"):
        try:
            set_reviewed(ws.root, picture.stem, not reviewed)
        except ValueError as err:
            st.error(str(err))
        else:
            st.rerun()
    b3.markdown("✓ **reviewed**" if reviewed else "labelled, not reviewed")
