"""The label canvas on a stored file, in one call: ``save_canvas_edits`` lays the edits that arrived onto the
file (a mask, ``seg_core.workspace.masks.MaskStore``, or a proposal, ``seg_core.workspace.proposals.Proposals``)
and returns what the file holds now, and which version of it the canvas shows.

Every edit is laid onto a fresh read of the file under the mask lock (so another tab's edits are kept), and the
store says the file's version before and after. Two versions are kept per canvas (in its ``label_canvas``
bookkeeping): ``shown``, the version the canvas was sent (its ``mask_id``), and ``seen``, the version this
session last knew. When the file changed elsewhere (another tab, Clear, Restore, an import) the canvas shows it
again (a new ``mask_id``: the browser's undo history restarts then): on a run of the whole page, or right after
this canvas's next edit (a rerun of the canvas's fragment); not on the canvas's other fragment runs (asking for
a suggestion), which would restart the undo history under the user's hands."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from seg_core.base.classes import ClassList
from seg_core.base.mask_values import UNLABELLED
from segapp.flash import flash
from segapp.label_canvas import _store, in_fragment_run, take_edits


@dataclass(frozen=True)
class CanvasFile:
    """What a canvas's file holds after ``save_canvas_edits``."""

    mask: np.ndarray  # the labels as the file holds them now (all unlabelled when there is no file)
    version: tuple | None  # the file's version that ``mask`` is (``mask_version``)
    mask_id: str  # for ``label_canvas(mask_id=...)``: the version the canvas shows
    saved_at: str | None  # when this run saved edits to the file (HH:MM:SS); None when it saved none


def _show_file_again() -> None:
    """Rerun the canvas only (a fragment rerun) so it shows the file as it is now; the whole page when this
    run is not a fragment's."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def save_canvas_edits(key: str, store, stem: str, shape: tuple[int, int], classes: ClassList, name: str,
                      flash_to: str) -> CanvasFile | None:
    """Take the edits that arrived for canvas ``key`` and save them to ``stem``'s file in ``store``; return what
    the file holds now (None when it cannot be read: said with ``st.error``). A save that found the file changed
    elsewhere reruns the canvas to show it; a file gone meanwhile (a proposal accepted or rejected in another tab)
    is said at ``flash_to`` (``segapp.flash``) after a rerun of the page. ``name``: the image's, in messages."""
    h, w = shape
    bookkeeping = _store(key)
    now = store.version(stem)
    sync = bookkeeping.get("file")
    reloaded = sync is None or (now != sync["seen"] and not in_fragment_run())
    if reloaded:
        sync = bookkeeping["file"] = {"shown": now, "seen": now}
    patches = take_edits(key, shape, classes, name)
    current, version, saved_at = None, now, None
    if patches:
        try:
            out = store.save_patches(stem, patches, shape=shape)
        except FileNotFoundError as err:  # the proposal was accepted or rejected in another tab
            flash(flash_to, str(err), "error")
        except (OSError, ValueError) as err:  # the mask or image went bad meanwhile: say which, keep going
            st.error(str(err))
        else:
            if out.kept_theirs:
                st.toast(f"{out.kept_theirs} pixel(s) changed in another tab since were left as they are")
            changed_elsewhere = reloaded or out.before != sync["seen"]
            sync["seen"] = out.after
            if changed_elsewhere:  # the file held another tab's edits too: show it as saved now
                sync["shown"] = out.after
                _show_file_again()
            current = np.full((h, w), UNLABELLED, np.uint8) if out.mask is None else out.mask
            version, saved_at = out.after, time.strftime("%H:%M:%S")
    if current is None:
        try:
            current = store.read(stem)
        except (OSError, ValueError) as err:
            st.error(str(err))
            return None
        current = np.full((h, w), UNLABELLED, np.uint8) if current is None else current
    return CanvasFile(current, version, str(sync["shown"]), saved_at)
