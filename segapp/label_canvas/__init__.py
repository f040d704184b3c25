"""A canvas for painting class labels over real images: ``label_canvas(image, mask, classes, key=...)``.

A Streamlit components-v2 element (``st.components.v2``: inline HTML/CSS/JS, no iframe). Its browser side is
``js/`` (one file per job: ``common``, ``doc`` (image, labels, undo), ``view`` (the element), ``delivery`` (to
Python and back), ``viewport`` (zoom, pan, drawing), ``tools``, ``keys``, ``main`` (the entry)), joined in
that order (``JS_FILES``) into the one module the element runs; the CSS is the file next to this one. In the browser the image and the label layer are held at full resolution and
shown through a view transform:

- zoom with the wheel around the cursor (up to 64 screen pixels per image pixel), pan with space+drag or
  the middle button, Fit (F) and 1:1;
- brush (B) and eraser (E, back to unlabelled) with their size in image pixels, shown as a cursor ring
  ([ and ] change it); fill (G) of the connected region of equal labels under the click; polygon (P: click
  the corners, double-click or Enter fills, Esc cancels);
- class picker, keys 1-9 and 0 for the first ten classes; undo / redo (Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y);
- the label layer's opacity (live, no rerun) and a toggle for it (H);
- where the page gives them: a suggestion layer under the labels (S, its own opacity) with its least sure
  pixels (N), and the object tools, a click (O) or a dragged box (R) whose object Python finds and the browser
  paints as one edit.

Each edit, undo and redo included (an undo sends the inverse patch), reaches Python as a
``seg_core.workspace.label_patches.Patch`` of its bounding box only, so saving a stroke on a 4000x4000 image moves
kilobytes. The page applies the patches onto a fresh read of the mask file, e.g. with
``seg_core.workspace.masks.MaskStore.save_patches``; ``file_sync.save_canvas_edits`` does that in one call and
keeps which version of the file the canvas shows (it shows the file again when it changed elsewhere).

Protocol (all per ``key``, in ``st.session_state["_label_canvas_<key>"]``):

- The image (a PNG data URL) and the mask (zlib of its uint8 values, base64) are sent only the first time
  this key shows them (``image_id`` / ``mask_id``), or when the browser says it lacks them (state ``need``,
  e.g. after its cache dropped them); never again on other reruns.
- Edits come as a trigger ``edits``: ``{"patches": [wire patch, ...]}``, numbered per edit session
  (``sid``, ``seq``). They are taken in order, each once; ``ack`` in the next data tells the browser which
  arrived, and it sends unacknowledged ones again (after 10 s, then 20 s, ...).
- Everything comes in that one trigger (Streamlit keeps only an element's newest trigger value when two arrive
  during one run, so each message repeats every unacknowledged patch): a click or box as ``gesture`` (a
  random id ``n``, the class), repeated until ``region`` in the data answers it (the object's bounding box and
  its bits, or ``failed``); a message with neither (while ``suggestion_pending``) only asks for a rerun.
- A key the page asked for (``commands``: PageDown "next", PageUp "previous", A "accept") comes as ``command``
  (``{"what", "n"}``) in that trigger, sent only together with every edit made before it (so the page saves
  them first), repeated until ``command_ack`` in the data answers it; ``take_command`` gives it to the page once.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import threading
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import streamlit as st
from PIL import Image

from seg_core.base.classes import ClassList
from seg_core.workspace.label_patches import Patch, PatchError, check_patch, decode_patch
from seg_core.base.mask_values import UNLABELLED

__all__ = ["in_fragment_run", "label_canvas", "take_command", "take_edits", "Patch", "PatchError"]

_HERE = Path(__file__).resolve().parent
# the browser side's files, in the order they are joined (they share one module scope: no imports between them)
JS_FILES = ("common.js", "doc.js", "view.js", "delivery.js", "viewport.js", "tools.js", "keys.js", "main.js")
_JS = "\n".join((_HERE / "js" / name).read_text(encoding="utf-8") for name in JS_FILES)
_CSS = (_HERE / "label_canvas.css").read_text(encoding="utf-8")
NAME = "segmentation_studio.label_canvas"
_component = st.components.v2.component(NAME, css=_CSS, js=_JS)

_STATE = "_label_canvas_"  # + key: this canvas's bookkeeping in st.session_state
_SESSIONS_KEPT = 8  # edit sessions whose acknowledgements are kept
_URLS: OrderedDict[str, str] = OrderedDict()  # image_id -> data URL (shared by sessions; the newest few)
_URLS_KEPT = 4
_URLS_LOCK = threading.Lock()
AUTO_PNG_PIXELS = 2048 * 2048  # image_format="auto": PNG up to this size, JPEG above (4000x4000: 4 MB, not 28)


def image_digest(image: np.ndarray) -> str:
    """A content id of an image (its size and every byte): what ``image_id`` defaults to."""
    a = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((a.shape, a.dtype.str)).encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def image_data_url(image: np.ndarray, image_id: str, image_format: str = "auto") -> str:
    """The image as a data URL (PNG with fast compression, or JPEG quality 95 without chroma subsampling;
    ``auto``: PNG up to ``AUTO_PNG_PIXELS``, JPEG above), cached by ``image_id``."""
    cache_key = f"{image_id}|{image_format}"
    with _URLS_LOCK:
        url = _URLS.get(cache_key)
        if url is not None:
            _URLS.move_to_end(cache_key)
            return url
    img = Image.fromarray(np.ascontiguousarray(image))
    if image_format == "auto":
        image_format = "png" if img.width * img.height <= AUTO_PNG_PIXELS else "jpeg"
    buf = io.BytesIO()
    if image_format == "jpeg":
        img.convert("RGB").save(buf, format="JPEG", quality=95, subsampling=0)
    else:
        img.save(buf, format="PNG", compress_level=1)
    url = f"data:image/{image_format};base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    with _URLS_LOCK:
        _URLS[cache_key] = url
        while len(_URLS) > _URLS_KEPT:
            _URLS.popitem(last=False)
    return url


def mask_payload(mask: np.ndarray | None, shape: tuple[int, int]) -> str:
    """The mask's values (None: all unlabelled) as base64 zlib, row-major uint8."""
    values = np.full(shape, UNLABELLED, np.uint8) if mask is None else np.ascontiguousarray(mask, np.uint8)
    return base64.b64encode(zlib.compress(values.tobytes(), 1)).decode("ascii")


def _store(key: str) -> dict:
    return st.session_state.setdefault(_STATE + key, {"applied": {}, "inbox": [], "served": {}, "need": None})


def _on_edits(key: str) -> None:
    """Callback (before the script runs): keep the edits that just arrived until ``label_canvas`` runs, and the
    click or box that came with them (the newest; one answered already is not taken again)."""
    value = (st.session_state.get(key) or {}).get("edits")
    if value is not None:
        store = _store(key)
        store["inbox"].append(value)
        gesture = value.get("gesture") if isinstance(value, dict) else None
        if isinstance(gesture, dict) and gesture.get("n") != (store.get("region") or {}).get("n"):
            store["gesture"] = gesture
        command = value.get("command") if isinstance(value, dict) else None
        if isinstance(command, dict) and command.get("n") != store.get("command_done"):
            store["command"] = command


def in_fragment_run() -> bool:
    """Whether this run of the script is a fragment's own (an edit, a request for a suggestion or a widget of the
    fragment), not a run of the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def rerun_waiting() -> bool | None:
    """Whether the browser asked for another run while this one runs (e.g. the canvas sent a new edit), which
    Streamlit queues behind a fragment's run; None when this Streamlit cannot tell (the queue's state is its
    own, read without changing it): then nothing should wait on it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    state = getattr(getattr(ctx, "script_requests", None), "_state", None)
    return None if state is None else getattr(state, "name", "") == "RERUN"


def _on_need(key: str) -> None:
    _store(key)["need"] = (st.session_state.get(key) or {}).get("need")


def _gesture_box(g: dict, shape: tuple[int, int]) -> tuple[str, tuple[int, ...]] | None:
    """A gesture from the browser as ("object", (row, col)) or ("box", (row0, col0, row1, col1)) inside the image;
    None when it is malformed or outside."""
    h, w = shape
    try:
        if g.get("kind") == "object":
            r, c = int(g["y"]), int(g["x"])
            return ("object", (r, c)) if 0 <= r < h and 0 <= c < w else None
        if g.get("kind") == "box":
            x0, x1 = sorted((int(g["x0"]), int(g["x1"])))
            y0, y1 = sorted((int(g["y0"]), int(g["y1"])))
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            return ("box", (y0, x0, y1, x1)) if x1 - x0 >= 2 and y1 - y0 >= 2 else None
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _region_payload(region: np.ndarray, n: str, cls: int) -> dict:
    """An object's pixels (H, W) bool as its bounding box (x, y, w, h) and zlib+base64 of the box's 0/1 values."""
    rows, cols = np.nonzero(region)
    if not len(rows):
        return {"n": n, "cls": cls, "empty": True}
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = np.ascontiguousarray(region[y0:y1, x0:x1], np.uint8)
    return {"n": n, "cls": cls, "x": int(x0), "y": int(y0), "w": int(x1 - x0), "h": int(y1 - y0),
            "data": base64.b64encode(zlib.compress(crop.tobytes(), 1)).decode("ascii")}


def _take(store: dict, shape: tuple[int, int], num_classes: int, name: str) -> tuple[list[Patch], list[str]]:
    """The new patches that arrived, in order, each once; the problems of those refused."""
    applied: dict[str, int] = store["applied"]
    patches, problems = [], []
    inbox, store["inbox"] = store["inbox"], []
    for value in inbox:
        wires = value.get("patches") if isinstance(value, dict) else None
        for wire in wires if isinstance(wires, list) else []:
            sid, seq = (wire.get("sid"), wire.get("seq")) if isinstance(wire, dict) else (None, None)
            if not isinstance(sid, str) or isinstance(seq, bool) or not isinstance(seq, int):
                problems.append(f"{name}: an edit without its number was ignored")
                continue
            # an edit session not seen yet starts where the browser's batch starts (it always sends from its
            # oldest unacknowledged edit: after a server restart that is not 1)
            done = applied.get(sid, seq - 1)
            if seq != done + 1:  # seen already, or one before it is missing: the browser sends them again
                continue
            applied[sid] = seq
            try:
                patch = decode_patch(wire, name, shape)  # a box outside the image: refused before decompressing
                check_patch(patch, shape, num_classes, name)
            except PatchError as err:
                problems.append(str(err))
                continue
            patches.append(patch)
    while len(applied) > _SESSIONS_KEPT:
        applied.pop(next(iter(applied)))
    return patches, problems


def take_edits(key: str, shape: tuple[int, int], classes: ClassList, name: str = "image") -> list[Patch]:
    """The edits that arrived for canvas ``key`` since the last run, taken now (in order, each once; refused ones
    reported with ``st.error``), before ``label_canvas`` shows the canvas: so a page can save them and show the
    canvas with what follows from them (e.g. a suggestion). ``label_canvas`` then returns only later ones."""
    patches, problems = _take(_store(key), shape, len(classes), name)
    for problem in problems:
        st.error(problem)
    return patches


def take_command(key: str) -> str | None:
    """The command of a key pressed on canvas ``key`` since the last run ("next", "previous", "accept"; each
    once), None if none. It arrives after the edits made before it: call ``take_edits`` first and save them."""
    store = _store(key)
    command = store.pop("command", None)
    if command is None:
        return None
    store["command_done"] = command.get("n")
    what = command.get("what")
    return what if what in COMMANDS else None


COMMANDS = ("next", "previous", "accept", "plane_next", "plane_previous")  # PageDown, PageUp, A, ".", ","


def label_canvas(image: np.ndarray, mask: np.ndarray | Callable[[], np.ndarray | None] | None, classes: ClassList,
                 *, key: str,
                 opacity: float = 0.45, brush_size: int | None = None, cls: int | None = None,
                 height: int = 600, image_id: str | None = None, mask_id: str | int | None = None,
                 name: str = "image", image_format: str = "auto",
                 suggestion: np.ndarray | None = None, suggestion_id: str | None = None,
                 unsure: np.ndarray | None = None, suggestion_pending: bool = False,
                 find_object: Callable[[str, tuple[int, ...]], np.ndarray] | None = None,
                 commands: tuple[str, ...] = ()) -> list[Patch] | None:
    """Show ``image`` with ``mask`` (class indices, 255 unlabelled; None: all unlabelled) for painting;
    return the edits made since the last run as patches (in order, each returned once), or None.

    ``mask`` may also be a function returning it: it is then called only when the browser needs the mask
    (the first time, or after ``mask_id`` changed), so reruns do not read the mask file.

    - ``key``: this canvas (one per image is usual, e.g. ``f"canvas_{stem}"``).
    - ``opacity``, ``brush_size`` (image pixels), ``cls`` (class index): starting values; the browser's own
      controls change them without a rerun, and a new value passed here overrides them.
    - ``height``: of the view in CSS pixels (its width fills the column).
    - ``image_id``: identifies the image (default: a digest of its bytes, about 50 ms for 4000x4000 RGB);
      the image is sent to the browser only when this changes.
    - ``mask_id``: identifies the mask version to show. The browser keeps its own labels (with the edits
      made there) and takes ``mask`` again only when ``mask_id`` (or the image) changes, which also starts
      a new undo history. Pass e.g. the file's version when it was changed elsewhere.
    - ``name``: the image's name, used in messages (e.g. ``"cells.png"``).
    - ``image_format``: how the image travels to the browser (only what is shown; the labels are exact):
      ``"png"`` (lossless), ``"jpeg"`` (quality 95, no chroma subsampling: 7x smaller and 20x faster to
      encode for a 4000x4000 micrograph), ``"auto"`` (default: PNG up to 2048x2048, JPEG above).

    - ``suggestion``: (H, W) class indices suggested for every pixel, shown as a layer of its own under the
      labels (the browser's "Suggestion" checkbox (S) and its opacity); ``unsure``: (H, W) bool, the pixels it
      is least sure of, shown on request ("Least sure", N). Both are sent only when ``suggestion_id`` changes.
      ``suggestion_pending``: a newer suggestion is on its way; the browser then asks again shortly (a rerun
      of the canvas's script or fragment, more slowly the longer it waits) until it is not.
    - ``find_object``: enables the object tools, click (O) and box (R): called as ``find_object("object",
      (row, col))`` or ``find_object("box", (row0, col0, row1, col1))``, it returns the object's (H, W) bool
      pixels, which the browser paints in the chosen class as one edit (undo takes it back). Only the newest
      gesture is answered.
    - ``commands``: the keys the page acts on, of ``COMMANDS`` ("next": PageDown, "previous": PageUp, "accept":
      A, "plane_next": "." or ">", "plane_previous": "," or "<"); a key pressed reaches the page through ``take_command(key)``.

    The patches are checked against the image's size and the classes (refused ones are reported with
    ``st.error``). They count as delivered when this returns: apply them in this run (e.g.
    ``ws.masks.save_patches(stem, patches)``: ``seg_core.workspace.masks``).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{name}: label_canvas shows uint8 (H, W), (H, W, 3) or (H, W, 4) images, got "
                         f"{image.dtype} {image.shape}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    h, w = image.shape[:2]
    if image_format not in ("auto", "png", "jpeg"):
        raise ValueError(f"image_format must be 'auto', 'png' or 'jpeg', not {image_format!r}")
    store = _store(key)
    patches, problems = _take(store, (h, w), len(classes), name)

    image_id = str(image_id) if image_id is not None else image_digest(image)
    mask_token = f"{image_id}/{'' if mask_id is None else mask_id}"
    served, need = store["served"], store.get("need") or {}
    asked = need.get("n") is not None and need.get("n") != served.get("n")
    send_image = served.get("image") != image_id or (asked and need.get("image") == image_id)
    send_mask = served.get("mask") != mask_token or (asked and need.get("mask") == mask_token)
    if asked:
        served["n"] = need.get("n")
    if send_mask and callable(mask):
        mask = mask()
    if send_mask and mask is not None and np.shape(mask) != (h, w):
        raise ValueError(f"{name}: the mask is {np.shape(mask)[1]}x{np.shape(mask)[0]} but the image is {w}x{h}")
    data: dict[str, Any] = {
        "key": key, "w": w, "h": h, "image_id": image_id, "mask_id": mask_token,
        "image": image_data_url(image, image_id, image_format) if send_image else None,
        "mask": mask_payload(mask, (h, w)) if send_mask else None,
        "classes": [{"name": n, "color": [int(v) for v in c]} for n, c in zip(classes.names, classes.colours)],
        "ack": dict(store["applied"]), "opacity": float(opacity), "cls": cls, "brush": brush_size,
        "height": int(height),
    }
    if send_image:
        served["image"] = image_id
    if send_mask:
        served["mask"] = mask_token
    data["suggestion_id"] = None if suggestion is None else f"{image_id}/{suggestion_id}"
    send_suggestion = suggestion is not None and (served.get("suggestion") != data["suggestion_id"]
                                                  or (asked and need.get("suggestion") == data["suggestion_id"]))
    if send_suggestion:
        if np.shape(suggestion) != (h, w) or (unsure is not None and np.shape(unsure) != (h, w)):
            raise ValueError(f"{name}: the suggestion is not the image's size {w}x{h}")
        data["suggestion"] = mask_payload(suggestion, (h, w))
        data["unsure"] = None if unsure is None else mask_payload(np.asarray(unsure, np.uint8), (h, w))
        served["suggestion"] = data["suggestion_id"]
    data["objects"] = find_object is not None
    data["suggestion_pending"] = bool(suggestion_pending)
    if suggestion_pending:  # new data each time, so the browser hears it and asks again
        data["asked_at"] = time.time()
    gesture = store.pop("gesture", None)
    if gesture is not None and find_object is not None:
        what = _gesture_box(gesture, (h, w))
        cls_ = gesture.get("cls")
        n = str(gesture.get("n"))
        store["region"] = {"n": n, "failed": "that click or box was outside the image, or too small"}
        if what is not None and isinstance(cls_, int) and 0 <= cls_ < len(classes):
            try:
                store["region"] = _region_payload(np.asarray(find_object(*what), bool), n, cls_)
            except (ValueError, RuntimeError) as err:
                store["region"] = {"n": n, "failed": f"no object found there ({err})"}
    data["region"] = store.get("region")
    data["commands"] = [c for c in commands if c in COMMANDS]
    data["command_ack"] = store.get("command_done")
    _component(key=key, data=data, default={"need": None},
               on_edits_change=functools.partial(_on_edits, key), on_need_change=functools.partial(_on_need, key),
               width="stretch", height="content")
    for problem in problems:
        st.error(problem)
    return patches or None
