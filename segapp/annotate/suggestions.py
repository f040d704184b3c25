"""The live suggestion on the Annotate page: its switch above the canvas, what the canvas shows of it, and
Accept / Fill from it (``seg_core.workspace.suggestions``: learned from what was painted while the user paints)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from seg_core.runner.suggestions import suggester
from seg_core.workspace.suggestions import MAX_PIXELS, find_object
from segapp.annotate.image import Picture
from segapp.annotate.mask_actions import FLASH
from segapp.flash import flash
from segapp.label_canvas import rerun_waiting
from segapp import access

SUGGESTION_WAIT_S = 0.6  # a run that saved an edit waits this long at most for its suggestion


def suggestions_switch(ws, picture: Picture, classes, run):
    """Above the canvas: the switch for suggestions (and for letting ``run``, the run picked to propose from,
    help). Returns the image's ``Suggester`` (None when suggestions are off) and the row's columns left for
    ``suggestion_actions``."""
    c1, c2, c3 = st.columns([2, 1, 1])
    on = c1.toggle("Suggest labels as I paint", value=False, key="ann_suggest",
                   help="After each stroke the whole image is labelled for you as a see-through layer, learned "
                        "from what you painted here and from your other labelled images (and, if you let it, from "
                        "a trained model). Take it with Accept or "
                        "Fill, or keep painting where it is wrong. Least sure (on the canvas) shows where to "
                        "paint next.")
    if not on:
        return None, (c1, c2, c3)
    h, w = picture.shape
    if h * w > MAX_PIXELS:
        c1.caption(f"Suggestions work on images of up to {MAX_PIXELS / 1e6:.0f} megapixels; this one has "
                   f"{h * w / 1e6:.1f}.")
        return None, (c1, c2, c3)
    source = None
    if run is not None and c1.toggle("Let the trained model help", value=False, key="ann_suggest_run",
                                     help=f"The suggestion also learns from what the model of run {run.name} "
                                          "(chosen under Propose from run) predicts here. It helps on images like "
                                          "those the model was trained on and can mislead on images unlike them, so "
                                          "it is off until you turn it on (measured: benchmarks/bench_assist.py, "
                                          "benchmarks/results/2026-12-02-bench_assist.md)."):
        source = run
    return suggester(ws, picture.stem, picture.image, len(classes), picture.mtime, source), (c1, c2, c3)


def suggestion_shown(sg, image: np.ndarray, current: np.ndarray, version, run=None) -> dict:
    """What the canvas shows of the suggestions (``label_canvas``'s arguments): the newest suggestion (asked for
    the labels as saved), its unsure pixels, whether a newer one is on its way, and the object tools (a click
    or box gets the object as ``run``, the run picked to propose from, sees it; without one, from the image)."""
    finder = {"find_object": lambda kind, where: find_object(image, kind, where, run)}
    if sg is None:
        return finder
    sg.request(current, version)
    # an update takes about a quarter of a second: waiting for it here (the interpreter is free meanwhile) shows
    # it in this run, and the canvas asks again only when it takes longer (polls cost the CPU the update needs);
    # a new edit ends the wait at once (it would queue behind this run: a stroke is never delayed by a suggestion)
    waiting = sg.ready and rerun_waiting() is False
    got = sg.wait(version, SUGGESTION_WAIT_S, stop=rerun_waiting, step=0.02) if waiting else sg.latest()
    return {"suggestion": None if got is None else got.mask, "unsure": None if got is None else got.unsure,
            "suggestion_id": None if got is None else f"{got.serial}",
            "suggestion_pending": not sg.error and (got is None or got.version != version), **finder}


def accept_suggestion(ws, stem: str, got) -> None:
    if not access.allowed(ws.root, "accept"):
        return
    access.did(ws.root, "accept", f"the suggestion for {stem}")
    ws.replace_mask(stem, got.mask, "accept suggestion", reviewed=True)
    flash(FLASH, f"{stem}: the suggestion is now the mask, marked reviewed")


def suggestion_actions(ws, stem: str, sg, columns, version) -> None:
    """Accept / Fill from the suggestion on screen (when it answers the labels as saved), and under the canvas what
    it learned from."""
    if sg is None:
        return
    _, c2, c3 = columns
    got = sg.latest()
    fresh = got is not None and got.version == version
    wait = "" if fresh else " (waiting for the suggestion of your latest edit)"
    if c2.button("Accept the suggestion", disabled=not fresh, key="ann_sugg_accept",
                 help="The suggestion becomes this image's mask, marked reviewed; the mask it replaces is kept "
                      "(Restore the previous mask). Key: A on the canvas." + wait):
        accept_suggestion(ws, stem, got)
    if c3.button("Fill the unlabelled pixels from it", disabled=not fresh, key="ann_sugg_fill",
                 help="Every pixel you painted stays; the others take the suggestion. The mask before is kept "
                      "(Restore the previous mask)." + wait) and access.allowed(ws.root, "paint"):
        access.did(ws.root, "paint", f"filled {stem} from the suggestion")
        saved_now = ws.read_mask(stem)
        filled = got.mask if saved_now is None else np.where(saved_now == 255, got.mask, saved_now)
        ws.replace_mask(stem, filled.astype(np.uint8), "fill from suggestion")
        flash(FLASH, f"{stem}: the unlabelled pixels took the suggestion")
    # said under the canvas: a line appearing above it would move it while the user paints
    if sg.error:
        st.caption(sg.error)
    elif not sg.ready:
        st.caption("Suggestions: getting ready for this image (a few seconds)…")
    elif got is not None:
        model = "" if got.run is None else f" and the model of run {got.run}"
        st.caption(f"Suggestion learned from {got.painted:,} pixels you painted here, {got.examples} other "
                   f"labelled image{'s' if got.examples != 1 else ''}{model}.")
    else:
        st.caption("Suggestions: working out the first one…")
