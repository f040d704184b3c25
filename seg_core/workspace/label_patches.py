"""Label patches: one edit of a mask (a brush stroke, an erase, a fill, a polygon, an undo or redo) as the
changed region only, so saving an edit on a 4000x4000 image moves kilobytes, not the whole mask.

A ``Patch`` is a box of the image (``x``, ``y``, ``values.shape``) with, per pixel of the box, whether the
edit sets it (``touched``), the label it sets (``values``: a class index, or 255 for unlabelled) and what
the editor showed there before the edit (``before``). Pixels the edit does not touch are left alone.

On the wire (the browser canvas, ``label_canvas``) a patch is a JSON object::

    {"sid": "...", "seq": 3, "kind": "brush", "x": 120, "y": 40, "w": 31, "h": 18,
     "data": "<base64 of zlib(touched plane + values plane + before plane)>"}

three ``h*w`` uint8 planes, row-major: ``touched`` (0/1), ``values``, ``before``. ``decode_patch`` turns it
into a ``Patch`` and refuses anything malformed (given the image's size, a box outside it before its data is
decompressed); ``check_patch`` checks it against an image's size and its
classes; ``apply_patch`` lays it onto a mask; the mask store does all of it under the workspace's mask lock on a
fresh read of the file (``MaskStore.save_patches``). Every message names the image.
"""
from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from seg_core.base.mask_values import UNLABELLED

KINDS = ("brush", "eraser", "fill", "polygon", "object", "box", "undo", "redo", "edit")
MAX_PATCH_BYTES = 64 * 1024 * 1024  # the base64 text of one patch (a whole-image fill compresses to far less)


class PatchError(ValueError):
    """A patch that cannot be applied; the message names the image and says why."""


@dataclass(frozen=True, eq=False)
class Patch:
    """One edit of a mask: inside the box at (``x``, ``y``) of ``values.shape``, the pixels where
    ``touched`` is true take ``values``; ``before`` is what the editor showed there before the edit."""

    x: int
    y: int
    values: np.ndarray  # (h, w) uint8: the label each touched pixel takes (class index, 255 = unlabelled)
    touched: np.ndarray  # (h, w) bool: the pixels this edit sets
    before: np.ndarray | None = None  # (h, w) uint8: what the editor showed before (None: not known)
    kind: str = "edit"
    seq: int = 0  # the editor's running number of this edit (its session: ``sid``)
    sid: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def h(self) -> int:
        return int(self.values.shape[0])

    @property
    def w(self) -> int:
        return int(self.values.shape[1])

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), x1 and y1 exclusive."""
        return self.x, self.y, self.x + self.w, self.y + self.h

    @property
    def pixels(self) -> int:
        """How many pixels the edit sets."""
        return int(self.touched.sum())

    def inverse(self, kind: str = "undo") -> "Patch":
        """The patch that takes this edit back (needs ``before``)."""
        if self.before is None:
            raise ValueError("a patch without 'before' values cannot be inverted")
        return Patch(self.x, self.y, self.before.copy(), self.touched.copy(), self.values.copy(), kind, self.seq,
                     self.sid)


def make_patch(x: int, y: int, values: np.ndarray, touched: np.ndarray | None = None,
               before: np.ndarray | None = None, **kw) -> Patch:
    """A ``Patch`` from arrays (``touched`` None: every pixel of the box)."""
    values = np.asarray(values, np.uint8)
    touched = np.ones(values.shape, bool) if touched is None else np.asarray(touched, bool)
    before = None if before is None else np.asarray(before, np.uint8)
    return Patch(int(x), int(y), values, touched, before, **kw)


def diff_patch(old: np.ndarray, new: np.ndarray, **kw) -> Patch | None:
    """The patch that turns mask ``old`` into ``new`` (the box around the pixels that differ); None if equal."""
    old, new = np.asarray(old), np.asarray(new)
    if old.shape != new.shape:
        raise ValueError(f"masks differ in size: {old.shape} and {new.shape}")
    changed = old != new
    if not changed.any():
        return None
    rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return make_patch(x0, y0, new[y0:y1, x0:x1], changed[y0:y1, x0:x1], old[y0:y1, x0:x1], **kw)


# -- the wire format ----------------------------------------------------------------------------------
def encode_patch(patch: Patch) -> dict[str, Any]:
    """The JSON object the browser canvas sends (see the module's docstring)."""
    before = patch.before if patch.before is not None else np.full(patch.values.shape, UNLABELLED, np.uint8)
    raw = b"".join(np.ascontiguousarray(a, np.uint8).tobytes() for a in (patch.touched, patch.values, before))
    return {"sid": patch.sid, "seq": patch.seq, "kind": patch.kind, "x": patch.x, "y": patch.y, "w": patch.w,
            "h": patch.h, "data": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def _int(payload: dict, key: str, name: str) -> int:
    v = payload.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise PatchError(f"{name}: the patch's '{key}' is {v!r}, not a whole number")
    return int(v)


def _check_box(x: int, y: int, w: int, h: int, shape: tuple[int, int], name: str) -> None:
    H, W = int(shape[0]), int(shape[1])
    if x < 0 or y < 0 or x + w > W or y + h > H:
        raise PatchError(f"{name}: the patch covers x {x}..{x + w - 1}, y {y}..{y + h - 1}, outside the {W}x{H} image")


def decode_patch(payload: Any, name: str = "image", shape: tuple[int, int] | None = None) -> Patch:
    """A wire patch (dict) as a ``Patch``; ``PatchError`` naming ``name`` when it is malformed.

    With the image's ``shape`` = (H, W), a box that does not fit the image is refused before its data is
    decoded or decompressed (a crafted message declaring a huge box costs nothing); the decompressed data is
    never more than the box needs either way (zlib's ``max_length``)."""
    if not isinstance(payload, dict):
        raise PatchError(f"{name}: a patch must be an object, got {type(payload).__name__}")
    x, y, w, h = (_int(payload, k, name) for k in ("x", "y", "w", "h"))
    seq = _int(payload, "seq", name) if "seq" in payload else 0
    if w <= 0 or h <= 0:
        raise PatchError(f"{name}: the patch's box is {w}x{h}; it must be at least 1x1")
    if shape is not None:
        _check_box(x, y, w, h, shape, name)
    kind = payload.get("kind", "edit")
    if kind not in KINDS:
        raise PatchError(f"{name}: unknown patch kind {kind!r} (one of {', '.join(KINDS)})")
    text = payload.get("data")
    if not isinstance(text, str):
        raise PatchError(f"{name}: the patch has no 'data' text")
    if len(text) > MAX_PATCH_BYTES:
        raise PatchError(f"{name}: the patch's data is {len(text) // 1_000_000} MB; at most "
                         f"{MAX_PATCH_BYTES // 1_000_000} MB")
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise PatchError(f"{name}: the patch's data is not base64 ({err})") from None
    size = w * h
    try:
        d = zlib.decompressobj()
        raw = d.decompress(packed, 3 * size + 1)  # never more than the box needs (a zip bomb stops here)
    except zlib.error as err:
        raise PatchError(f"{name}: the patch's data is not zlib-compressed ({err})") from None
    if len(raw) != 3 * size or d.unconsumed_tail:
        raise PatchError(f"{name}: the patch's data holds {len(raw)}{'+' if d.unconsumed_tail else ''} bytes; a "
                         f"{w}x{h} box needs {3 * size} (touched, values, before)")
    planes = np.frombuffer(raw, np.uint8).reshape(3, h, w)
    if planes[0].max(initial=0) > 1:
        raise PatchError(f"{name}: the patch's 'touched' plane holds values other than 0 and 1")
    sid = payload.get("sid", "")
    return Patch(x, y, planes[1].copy(), planes[0].astype(bool), planes[2].copy(), kind, seq,
                 sid if isinstance(sid, str) else str(sid))


def check_patch(patch: Patch, shape: tuple[int, int], num_classes: int, name: str = "image") -> None:
    """``PatchError`` naming ``name`` when ``patch`` reaches outside an image of ``shape`` = (H, W) or sets a
    value that is neither a class (0..num_classes-1) nor unlabelled (255)."""
    _check_box(patch.x, patch.y, patch.w, patch.h, shape, name)
    if patch.touched.shape != patch.values.shape or (patch.before is not None
                                                    and patch.before.shape != patch.values.shape):
        raise PatchError(f"{name}: the patch's planes differ in size")
    valid = np.zeros(256, bool)
    valid[:num_classes] = True
    valid[UNLABELLED] = True
    wrong = patch.touched & ~valid[patch.values]
    if wrong.any():
        bad = [int(v) for v in np.unique(patch.values[wrong])]
        raise PatchError(f"{name}: the patch sets values {bad[:8]}, which are no classes (0..{num_classes - 1}) "
                         f"nor unlabelled ({UNLABELLED})")


# -- applying ----------------------------------------------------------------------------------------
@dataclass
class Applied:
    """What laying patches onto a mask did."""

    mask: np.ndarray
    changed: int = 0  # pixels whose value changed
    kept_theirs: int = 0  # touched pixels left alone because the file no longer held ``before`` there


def _guarded(patch: Patch, keep_theirs: bool | str) -> bool:
    return patch.before is not None and (keep_theirs is True or (keep_theirs == "undo" and patch.kind == "undo"))


def apply_patch(mask: np.ndarray, patch: Patch, *, keep_theirs: bool | str = False) -> np.ndarray:
    """``mask`` (H, W) with ``patch`` laid over it, as a new uint8 array (``mask`` is not changed).

    ``keep_theirs``: True: set a touched pixel only where ``mask`` still holds the patch's ``before`` value
    there (someone else's later change wins); ``"undo"``: so for undo patches only (taking an edit back never
    undoes another writer's later change, while painting, a redo included, paints); False: every touched
    pixel. The patch must fit (``check_patch``)."""
    return apply_patches(mask, [patch], keep_theirs=keep_theirs).mask


def apply_patches(mask: np.ndarray | None, patches: Iterable[Patch], *, keep_theirs: bool | str = False,
                  shape: tuple[int, int] | None = None) -> Applied:
    """Lay ``patches`` in order onto ``mask`` (None: all unlabelled, of ``shape``); see ``apply_patch``."""
    if mask is None:
        if shape is None:
            raise ValueError("no mask and no shape")
        out = np.full(shape, UNLABELLED, np.uint8)
    else:
        out = np.array(mask, np.uint8)  # a copy
    changed = kept = 0
    for p in patches:
        x0, y0, x1, y1 = p.box
        if x0 < 0 or y0 < 0 or x1 > out.shape[1] or y1 > out.shape[0]:
            raise PatchError(f"the patch covers x {x0}..{x1 - 1}, y {y0}..{y1 - 1}, outside the "
                             f"{out.shape[1]}x{out.shape[0]} mask")
        region = out[y0:y1, x0:x1]
        sel = p.touched
        if _guarded(p, keep_theirs):
            ours = sel & (region == p.before)
            kept += int((sel & ~ours & (region != p.values)).sum())
            sel = ours
        changed += int((sel & (region != p.values)).sum())
        region[sel] = p.values[sel]
    return Applied(out, changed, kept)
