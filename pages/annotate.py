"""Annotate: paint class labels over an image at full resolution (every edit is saved to the mask file at
once); propose a mask from a run, correct it and accept or reject it; mark masks as reviewed."""
import time

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from segapp.navigation import through_app
from segapp.class_editor import class_editor, show_change_message
from segapp.heap import settled
from segapp.state import legend_html, predictor, workspace
from segapp.words import say
from segapp.label_canvas import in_fragment_run, label_canvas, rerun_waiting, take_command, take_edits
from seg_core.data.annotation import coverage, stale_values
from seg_core.infer.overlay import overlay
from seg_core.workspace.masks import backup_reason
from seg_core.workspace.proposals import best_run
from seg_core.workspace.overview import image_states
from seg_core.workspace.review_state import review_marks, set_reviewed
from seg_core.runner.suggestions import suggester
from seg_core.workspace.suggestions import MAX_PIXELS

through_app()  # first, before any widget (segapp.navigation)

SUGGESTION_WAIT_S = 0.6  # a run that saved an edit waits this long at most for its suggestion

ws = workspace()
st.title("Annotate")
st.caption("Zoom with the wheel, pan with space+drag; brush and eraser sizes are in image pixels. Keys on the "
           "canvas: 1-9 pick a class, PageDown / PageUp the next / previous image, A accepts (the proposal, the "
           "suggestion on screen, or else marks the mask reviewed). Every edit is saved to the mask file at once; "
           "undo takes back only this tab's edits. When "
           "the mask changed elsewhere (another tab, Clear, Restore) the canvas shows it as saved and its undo "
           "starts afresh. Pixels nobody painted stay unlabelled (not used in training).")
for level, text in st.session_state.pop("ann_flash", []):  # said by the run before a rerun
    getattr(st, level)(text)
show_change_message("ann_class")  # a class changed from the Classes menu below
stems = ws.stems()
if not stems:
    st.info("No images yet: add some on the **Data** page.")
    st.stop()

try:
    classes = ws.classes()
except ValueError as err:  # a damaged classes.json: nothing can be painted until it is fixed
    st.error(f"{err}. Fix it on the **Data** page (Classes: Save classes writes a new one).")
    st.stop()
try:
    marks = set(review_marks(ws.root))
except ValueError as err:  # a damaged reviewed.json: named; painting still works
    st.error(str(err))
    marks = set()
states = image_states(ws, marks)
MARKS = {"unlabelled": "  (unlabelled)", "proposal": "  (proposal)", "labelled": "", "reviewed": "  ✓ reviewed"}
if (goto := st.session_state.pop("ann_goto", None)) in stems:  # PageDown / PageUp on the canvas
    st.session_state["ann_stem"] = goto
if st.session_state.get("ann_stem") not in stems:  # removed meanwhile (another tab, the Data page)
    st.session_state.pop("ann_stem", None)
top1, top2 = st.columns([3, 2])
stem = top1.selectbox("Image", stems, format_func=lambda s: s + MARKS.get(states.get(s, ""), ""), key="ann_stem")
with top1.popover("Classes: add, rename, recolour, remove, merge", icon=":material/palette:"):
    class_editor(ws, classes, prefix="ann_class")


@st.cache_resource(show_spinner=False, max_entries=2)
def _read_image(root: str, stem: str, mtime_ns: int) -> np.ndarray:
    return ws.read_image(stem)


try:
    image_file = ws.image_path(stem)
    image_mtime = image_file.stat().st_mtime_ns
    image = _read_image(str(ws.root), stem, image_mtime)
except (OSError, ValueError) as err:  # removed meanwhile, or not readable: pick another image
    say("error", f"{stem}: {err}" if stem not in str(err) else err)
    st.stop()
h, w = image.shape[:2]
try:
    saved = ws.read_mask(stem)  # None: nobody labelled this image yet
    if saved is not None and saved.shape != (h, w):
        raise ValueError(f"{ws.mask_path(stem).name}: the mask is {saved.shape[1]}x{saved.shape[0]} but the image is "
                         f"{w}x{h}")
except (OSError, ValueError) as err:
    st.error(f"{err if ws.mask_path(stem).name in str(err) else f'{ws.mask_path(stem).name}: {err}'}")
    if st.button("Put the damaged mask aside (kept as a backup) and start a new one", key="ann_damaged"):
        ws.replace_mask(stem, None, "damaged")
        st.rerun()
    st.stop()
if saved is not None and (stale := stale_values(saved, classes)):
    st.warning(f"{stem}.png holds the values {stale}, which are no classes now (0..{len(classes) - 1}): they show "
               "grey and stay as they are. Paint over them, or add the classes back on the **Data** page.")

# -- propose from a run ------------------------------------------------------------------------------
with top2:
    runs = ws.runs_to_propose()
    if runs:
        best = best_run(runs)
        runs = [best] + [r for r in runs if r is not best]  # the best first: the default
        scores = {r.name: r.best_val_miou for r in runs}
        if st.session_state.get("ann_run") not in scores:
            st.session_state.pop("ann_run", None)
        run_name = st.selectbox("Propose from run", list(scores), key="ann_run",
                                format_func=lambda n: n + ("" if scores[n] is None else f" · overlap {scores[n]:.3f}")
                                + (" (best)" if n == best.name else ""),
                                help="Models that finished training on these classes; the one with the best "
                                     "overlap with your masks (IoU, on the images kept aside) first.")
    else:
        run_name = None
        st.selectbox("Propose from run", ["no model trained on these classes yet"], disabled=True)
    if st.button("Propose a mask", disabled=run_name is None,
                 help="The run predicts this image; the prediction is kept as a proposal you correct on the canvas "
                      "and then accept (it becomes the mask, the old one is kept as a backup) or reject."):
        run = next(r for r in runs if r.name == run_name)
        try:
            with st.spinner(f"Predicting {stem} with {run.name}…"):
                pred = predictor(run).predict(image, crf=False).mask
            ws.proposals.save(stem, pred, run.name)
        except Exception as err:  # a damaged run or checkpoint: say which
            st.error(f"Could not predict {stem} with {run.name}: {err}")
        else:
            st.rerun()


# -- the canvas: every edit saved at once, within a fragment ------------------------------------------
def _show_file_again() -> None:
    """Rerun the canvas only (a fragment rerun) so it shows the file as it is now; the whole page when this
    run is not a fragment's."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def suggestions_switch(stem: str, image: np.ndarray):
    """Above the canvas: the switch for suggestions. Returns the image's ``Suggester`` (None when suggestions are
    off) and the row's two columns left for ``suggestion_actions``."""
    c1, c2, c3 = st.columns([2, 1, 1])
    on = c1.toggle("Suggest labels as I paint", value=False, key="ann_suggest",
                   help="After each stroke the whole image is labelled for you as a see-through layer, learned "
                        "from what you painted here and from your other labelled images (and, if you let it, from "
                        "a trained model). Take it with Accept or "
                        "Fill, or keep painting where it is wrong. Least sure (on the canvas) shows where to "
                        "paint next.")
    if not on:
        return None, (c1, c2, c3)
    if h * w > MAX_PIXELS:
        c1.caption(f"Suggestions work on images of up to {MAX_PIXELS / 1e6:.0f} megapixels; this one has "
                   f"{h * w / 1e6:.1f}.")
        return None, (c1, c2, c3)
    source = None
    if run_name and c1.toggle("Let the trained model help", value=False, key="ann_suggest_run",
                              help=f"The suggestion also learns from what the model of run {run_name} (chosen under "
                                   "Propose from run) predicts here. It helps on images like those the model was "
                                   "trained on and can mislead on images unlike them, so it is off until you turn it "
                                   "on (measured: benchmarks/bench_assist.py in the README)."):
        source = next((r for r in runs if r.name == run_name), None)
    return suggester(ws, stem, image, len(classes), image_mtime, source), (c1, c2, c3)


def suggestion_shown(sg, current: np.ndarray, version) -> dict:
    """What the canvas shows of the suggestions: the newest suggestion (asked for the labels as saved), its
    unsure pixels, whether a newer one is on its way, and the object tools."""
    from seg_core.workspace.suggestions import find_object

    finder = {"find_object": lambda kind, where: find_object(image, kind, where)}
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


def accept_suggestion(got) -> None:
    ws.replace_mask(stem, got.mask, "accept suggestion", reviewed=True)
    st.session_state["ann_flash"] = [("success", f"{stem}: the suggestion is now the mask, marked reviewed")]
    st.rerun()


def accept_proposal() -> None:
    try:
        ws.proposals.accept(stem)
    except (OSError, ValueError) as err:
        st.error(str(err))
    else:
        st.session_state["ann_flash"] = [("success", f"{stem}: the proposal is now the mask, marked reviewed")]
        st.rerun()


def follow_key(command: str, target: str, sg, version) -> None:
    """A key pressed on the canvas (its edits before it are saved): PageDown / PageUp open the next / previous
    image; A accepts the proposal, else the suggestion on screen, else marks the mask reviewed."""
    if command in ("next", "previous"):
        i = stems.index(stem) + (1 if command == "next" else -1)
        if 0 <= i < len(stems):
            st.session_state["ann_goto"] = stems[i]
            st.rerun()
        st.toast("This is the last image." if command == "next" else "This is the first image.")
    elif target == "proposal":
        accept_proposal()
    elif sg is not None and (got := sg.latest()) is not None and got.version == version:
        accept_suggestion(got)
    elif ws.read_mask(stem) is None:
        st.toast("Nothing to accept yet: paint the mask first.")
    else:
        set_reviewed(ws.root, stem, True)
        st.session_state["ann_flash"] = [("success", f"{stem}: marked as reviewed")]
        st.rerun()


def suggestion_actions(sg, columns, version) -> None:
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
        accept_suggestion(got)
    if c3.button("Fill the unlabelled pixels from it", disabled=not fresh, key="ann_sugg_fill",
                 help="Every pixel you painted stays; the others take the suggestion. The mask before is kept "
                      "(Restore the previous mask)." + wait):
        saved_now = ws.read_mask(stem)
        filled = got.mask if saved_now is None else np.where(saved_now == 255, got.mask, saved_now)
        ws.replace_mask(stem, filled.astype(np.uint8), "fill from suggestion")
        st.session_state["ann_flash"] = [("success", f"{stem}: the unlabelled pixels took the suggestion")]
        st.rerun()
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


@st.fragment
@settled
def canvas(stem: str, image: np.ndarray, target: str) -> None:
    """The canvas on the stem's mask (``target`` "mask") or its proposal ("proposal"). The store lays edits
    onto a fresh read of the file under the mask lock, so another tab's edits are kept, and says the file's
    version before and after. When the file changed elsewhere (another tab, Clear, Restore, an import) the
    canvas shows it again (``mask_id``: the version it was shown at; the browser's undo history restarts
    then)."""
    store = ws.masks if target == "mask" else ws.proposals
    path = store.path(stem)
    key = f"ann_{target}_{stem}"
    helper, bar = suggestions_switch(stem, image) if target == "mask" else (None, None)
    syncs = st.session_state.setdefault("ann_sync", {})  # key -> the file's version shown, and last seen
    now = store.version(stem)
    sync = syncs.get(key)
    # the canvas shows the file again when it changed elsewhere: on a run of the whole page, or after this
    # canvas's next edit (below); not on the canvas's other runs (asking for a suggestion), which would restart
    # the browser's undo history under the user's hands
    reloaded = sync is None or (now != sync["seen"] and not in_fragment_run())
    if reloaded:
        sync = syncs[key] = {"shown": now, "seen": now}
    patches = take_edits(key, (h, w), classes, image_file.name)  # saved before the canvas shows what follows
    current, saved_at = None, None
    if patches:
        try:
            out = store.save_patches(stem, patches, shape=(h, w))
            current, kept = (np.full((h, w), 255, np.uint8) if out.mask is None else out.mask), out.kept_theirs
        except FileNotFoundError as err:  # the proposal was accepted or rejected in another tab
            st.session_state["ann_flash"] = [("error", str(err))]
            st.rerun()
        except (OSError, ValueError) as err:  # the mask or image went bad meanwhile: say which, keep going
            st.error(str(err))
        else:
            if kept:
                st.toast(f"{kept} pixel(s) changed in another tab since were left as they are")
            changed_elsewhere = reloaded or out.before != sync["seen"]
            sync["seen"] = out.after
            if changed_elsewhere:  # the file held another tab's edits too: show it as saved now
                sync["shown"] = out.after
                _show_file_again()
            saved_at = time.strftime('%H:%M:%S')
    if current is None:
        try:
            current = store.read(stem)
        except (OSError, ValueError) as err:
            st.error(str(err))
            return
        current = np.full((h, w), 255, np.uint8) if current is None else current
    version = out.after if saved_at else now  # the file's version that ``current`` holds
    if (command := take_command(key)) is not None:
        follow_key(command, target, helper, version)
    shown = suggestion_shown(helper, current, version) if target == "mask" else {}
    label_canvas(image, lambda: store.read(stem), classes, key=key, image_id=f"{stem}:{image_mtime}",
                 mask_id=str(sync["shown"]), name=image_file.name, height=620, commands=("next", "previous", "accept"),
                 **shown)
    if target == "mask":
        suggestion_actions(helper, bar, version)
    if saved_at:
        st.caption(f"Saved {path.name} at {saved_at}{' (the proposal)' if target == 'proposal' else ''}.")
    st.markdown(legend_html(classes), unsafe_allow_html=True)
    shares, unlabelled_share = coverage(current, classes)
    st.caption(" · ".join(f"**{n}** {share:.1%}" for n, share in zip(classes.names, shares))
               + f" · *unlabelled* {unlabelled_share:.1%}")


def clear_and_restore(where) -> None:
    if where.button("Clear mask (all unlabelled)", help="The cleared mask is kept as a backup: Restore brings it back."):
        ws.replace_mask(stem, None, "clear")
        st.rerun()
    backups = ws.mask_backups(stem)
    if backups and where.button("Restore the previous mask",
                                help=f"Undo the last replacement ({backup_reason(backups[0])}); its reviewed mark "
                                     "comes back with it."):
        ws.restore_mask(stem)
        st.session_state["ann_flash"] = [("success", f"{stem}: restored the mask from before "
                                                     f"'{backup_reason(backups[0])}'")]
        st.rerun()


proposal = ws.proposals.get(stem)
if proposal is not None:
    st.warning(f"**Proposal from run {proposal.run or '(unknown run)'} — not your label yet.** Correct it on the "
               "canvas (each edit is saved to the proposal), then **Accept** it: it becomes this image's mask, "
               "marked reviewed, and the mask it replaces is kept (Restore the previous mask). **Reject** "
               "moves it to the workspace trash and leaves the mask as it is.")
    a1, a2, _ = st.columns([1, 1, 2])
    if a1.button("Accept the proposal", type="primary", help="Key: A on the canvas."):
        accept_proposal()
    if a2.button("Reject the proposal"):
        ws.proposals.reject(stem)
        st.session_state["ann_flash"] = [("info", f"{stem}: the proposal went to the trash; the mask is unchanged")]
        st.rerun()
    left, right = st.columns([3, 1])
    with left:
        st.subheader(f"Proposal from {proposal.run or 'a run'}")
        canvas(stem, image, "proposal")
    with right:
        st.subheader("Saved mask")
        st.image(overlay(image, np.full((h, w), 255, np.uint8) if saved is None else saved, classes, 0.45),
                 caption=f"{stem}: the mask as saved (unchanged until you accept)", width="stretch")
        clear_and_restore(right)
else:
    b1, b2, b3, _ = st.columns([1, 1, 1, 1])
    clear_and_restore(b1)
    if saved is not None:
        reviewed = stem in marks
        if b2.button("Mark as not reviewed" if reviewed else "Mark as reviewed",
                     help="Reviewed: a person checked this whole mask (shown on the Data page)."):
            try:
                set_reviewed(ws.root, stem, not reviewed)
            except ValueError as err:
                st.error(str(err))
            else:
                st.rerun()
        b3.markdown("✓ **reviewed**" if reviewed else "labelled, not reviewed")
    st.subheader("Mask")
    canvas(stem, image, "mask")
