"""What the values of a stored mask mean, decided in one place for the app, ``validate``, ``train``,
``evaluate`` and the workspace's uploads (``predict`` and ``rank`` read no masks: they use the run's classes).

A mask stores one integer per pixel. How a folder's values become training labels (class indices, and
``IGNORE`` for pixels nobody labelled) is a ``MaskReading``, chosen by ``decide_reading`` from what is
stated (the folder's ``classes.json``, the flags, the run being scored) and the values found across the
folder. Where values could be read two ways, the choice is a stated rule (``MaskReading.rule``, which
``validate`` prints) or the folder is refused with a message naming the files and the flag that settles it:

1. The unlabelled value is ``--ignore-index`` when given, else the folder's ``classes.json``
   (``"unlabelled"``; a ``classes.json`` without it says there is none), else the scored run's, else none.
2. ``--mask-values index``: values are class indices; the unlabelled value marks unlabelled pixels.
   ``--mask-values binary``: two classes; 0 is class 0, 1 and 255 are class 1.
3. ``--mask-values auto`` (the default) reads class indices, except in a two-class folder holding masks
   with only 0 and 255:

   a. with no unlabelled value they are binary masks (255 = class 1), stated;
   b. with no unlabelled value, if other masks hold 1 (0/1 and 0/255 in one folder), it is refused;
   c. with 255 as the unlabelled value from ``--ignore-index`` or the run, not from the folder's own
      ``classes.json``, it is refused (255 could be class 1 or unlabelled);
   d. with 255 unlabelled by the folder's ``classes.json``, 255 is unlabelled, as it says.
4. A value that is neither a class nor the unlabelled value is refused, naming the file and the values
   (negative, too large, 16-bit or float values included).
5. Palette PNGs are read by index (a pixel's palette number is its class; the palette's colours are
   not used); colour (RGB) masks by the class colours of ``classes.json``.

The app's workspace stores class indices with 255 unlabelled and says so in its ``classes.json``; an
uploaded mask enters it by ``upload_reading``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seg_core.base.messages import given, setting_names

UNLABELLED = 255  # the value of pixels nobody labelled: stored by the app, skipped by losses and metrics
IGNORE = UNLABELLED  # the same value in training labels (every reading maps unlabelled pixels to it)
MAX_CLASSES = 255  # class indices 0..254; 255 is reserved for unlabelled
MODES = ("auto", "index", "binary")
UNLABELLED_KEY = "unlabelled"  # the classes.json key of the unlabelled value
FOLDER = "masks/"  # the Problem file of a rule about the whole masks folder
WORKSPACE = "the workspace"  # the source of the app's unlabelled value (its masks are read by index)

UPLOAD_RULE = (f"An uploaded mask holds class indices with {UNLABELLED} for unlabelled pixels, except a grey-level "
               f"mask holding only 0 and 255 in a 2-class workspace: that is a binary mask (255 = class 1) and is "
               "stored as 0/1. Palette PNGs (what the app saves and exports) are read by index.")
UNDECIDED = f"not decided: the error about {FOLDER} below says why, naming the files and {given()} that settles it."
PALETTE_RULE = ("Palette masks ({count} of {total}) are read by index: a pixel's palette number is its class; the "
                "palette's colours are not used.")


class MaskValueError(ValueError):
    """A mask holds values its reading does not allow; the message names the file and the values."""


def show_values(values, limit: int = 8) -> str:
    """``[-1, 300]``, or the first ``limit`` values and how many more."""
    vals = [int(v) for v in np.asarray(values).ravel()[:limit]]
    more = np.asarray(values).size - len(vals)
    return f"{vals}" + (f" and {more} more" if more > 0 else "")


def show_files(names: list[str], limit: int = 3) -> str:
    """``a.png, b.png, c.png and 4 more``."""
    head = ", ".join(names[:limit])
    return head + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _class_list(n: int, names) -> str:
    names = list(names)[:n]
    if len(names) != n:
        return ""
    items = [f"{i} {nm}" for i, nm in enumerate(names)]
    if n > 6:
        items = items[:4] + ["...", items[-1]]
    return f" ({', '.join(items)})"


@dataclass(frozen=True)
class MaskReading:
    """How stored mask values become labels: class indices 0..C-1 and ``IGNORE`` for unlabelled pixels."""

    num_classes: int
    unlabelled: int | None = None  # the stored value of unlabelled pixels (becomes IGNORE)
    binary: bool = False  # two classes: 0 is class 0, 1 and 255 are class 1
    source: str = ""  # where the unlabelled value (or its absence) comes from, in words
    how: str = "auto"  # "auto": by the stated rules; "index"/"binary": said by --mask-values; "upload"
    class_names: tuple[str, ...] = ()
    note: str = ""  # a further sentence of the rule (how 0/255 masks read under it)

    def bad_values(self, values: np.ndarray) -> np.ndarray:
        """The distinct values of ``values`` that are neither a class nor the unlabelled value."""
        u = np.unique(np.asarray(values))
        ok = np.isin(u, (0, 1, 255)) if self.binary else (u >= 0) & (u < self.num_classes)
        if self.unlabelled is not None:
            ok |= u == self.unlabelled
        return u[~ok]

    def problem(self, values: np.ndarray) -> str | None:
        """Why ``values`` cannot be read this way (without the file name), or None."""
        bad = self.bad_values(values)
        if not bad.size:
            return None
        if self.binary:
            msg = f"values {show_values(bad)} are not 0, 1 or 255 (binary masks: 0 is class 0, 1 and 255 are class 1)"
        else:
            msg = f"values {show_values(bad)} are not classes 0..{self.num_classes - 1}"
            if self.unlabelled is not None:
                msg += f" nor the unlabelled value {self.unlabelled}"
            elif UNLABELLED in bad:
                msg += (f"; if {UNLABELLED} marks unlabelled pixels, put \"{UNLABELLED_KEY}\": {UNLABELLED} in "
                        f"classes.json or pass {given(ignore_index=UNLABELLED)}")
        return msg

    def labels(self, raw: np.ndarray, name: str = "mask", values: np.ndarray | None = None) -> np.ndarray:
        """``raw`` (stored values) as uint8 labels, ``IGNORE`` where unlabelled; raises MaskValueError
        naming ``name`` and the values when some value is neither a class nor the unlabelled value
        (``values``: the distinct values of ``raw`` when known already)."""
        msg = self.problem(raw if values is None else values)
        if msg:
            raise MaskValueError(f"{name}: {msg}")
        raw = np.asarray(raw)
        out = (raw != 0).astype(np.uint8) if self.binary else raw.astype(np.uint8, copy=True)
        if self.unlabelled is not None:
            out[raw == self.unlabelled] = IGNORE
        return out

    def rule(self) -> str:
        """The reading as the sentence ``validate`` prints."""
        if self.binary:
            n0, n1 = ((f" '{self.class_names[0]}'", f" '{self.class_names[1]}'") if len(self.class_names) == 2
                      else ("", ""))
            said = f" ({given(mask_values='binary')})" if self.how == "binary" else ""
            head = (f"Binary masks{said}: 0 is class 0{n0}, 1 and 255 are class 1{n1}" if self.how == "binary" else
                    f"Binary masks: every mask holds only 0 and 255 (or 0); 0 is class 0{n0}, 255 is class 1{n1}")
            tail = (f"; {self.unlabelled} marks unlabelled pixels ({self.source})." if self.unlabelled is not None
                    else f"; no value marks unlabelled pixels ({self.source or 'none is stated'}).")
            return head + tail + (f" {self.note}" if self.note else "")
        said = f" ({given(mask_values='index')})" if self.how == "index" and self.source != WORKSPACE else ""
        head = (f"Mask values are class indices 0..{self.num_classes - 1}"
                f"{_class_list(self.num_classes, self.class_names)}{said}")
        tail = (f"; {self.unlabelled} marks unlabelled pixels ({self.source}), skipped in training and scoring."
                if self.unlabelled is not None
                else f"; no value marks unlabelled pixels ({self.source or 'none is stated'}).")
        return head + tail + (f" {self.note}" if self.note else "")

    def to_json(self) -> dict:
        return {"reading": "binary" if self.binary else "index", "unlabelled": self.unlabelled,
                "rule": setting_names(self.rule())}


def _is_zero255(u: np.ndarray) -> bool:
    return bool(u.size) and int(u[-1]) == 255 and bool(np.isin(u, (0, 255)).all())


def _infer_num_classes(uniques: dict[str, np.ndarray], unlabelled: int | None) -> int:
    """Highest class value found + 1 (at least 2); the unlabelled value, 255 and out-of-range values do not count."""
    top = 1
    for u in uniques.values():
        v = u[(u >= 0) & (u < MAX_CLASSES)]
        if unlabelled is not None:
            v = v[v != unlabelled]
        if v.size:
            top = max(top, int(v.max()))
    return min(top + 1, MAX_CLASSES)


def decide_reading(uniques: dict[str, np.ndarray], *, num_classes: int | None = None,
                   unlabelled: int | None = None, source: str = "", stated: bool = False, mode: str = "auto",
                   class_names=()) -> tuple[MaskReading, list[tuple[str, str, str]]]:
    """Choose how a folder's masks read, from the distinct values of each mask (file name -> values).

    ``unlabelled``/``source``: the unlabelled value and where it comes from; ``stated``: said by the
    folder's own classes.json. Returns the reading and the problems about the folder as a whole,
    ``(file, message, severity)``: a refusal (severity "error") means the folder cannot be read until the
    flag named in the message is given.
    """
    if mode not in MODES:
        raise ValueError(f"mask_values must be one of {', '.join(MODES)}, not '{mode}'")
    names = tuple(class_names)
    uniques = {k: np.unique(np.asarray(v)) for k, v in uniques.items()}
    problems: list[tuple[str, str, str]] = []
    if mode == "binary":
        if num_classes not in (None, 2):
            problems.append((FOLDER, f"{given(mask_values='binary')} reads 2 classes, but there are {num_classes}",
                             "error"))
        unl = None if unlabelled == UNLABELLED else unlabelled
        return MaskReading(2, unl, True, source if unl is not None else "", "binary", names), problems
    if mode == "index":
        n = num_classes or _infer_num_classes(uniques, unlabelled)
        return MaskReading(n, unlabelled, False, source, "index", names), problems

    zero255 = sorted(k for k, u in uniques.items() if _is_zero255(u))
    others = set()
    for u in uniques.values():
        others |= set(u[~np.isin(u, (0, UNLABELLED) if unlabelled is None else (0, UNLABELLED, unlabelled))].tolist())
    two = num_classes == 2 or (num_classes is None and others <= {1})
    with_ones = sorted(k for k, u in uniques.items() if 1 in u and k not in zero255)
    n = num_classes or (2 if two else _infer_num_classes(uniques, unlabelled))
    if two and zero255:
        c1 = f" '{names[1]}'" if len(names) == 2 else ""
        if unlabelled is None and not with_ones:
            return MaskReading(2, None, True, source, "auto", names), problems
        if unlabelled is None:
            problems.append((FOLDER, (
                f"the masks mix two encodings: {show_files(with_ones)} hold{'s' if len(with_ones) == 1 else ''} 1 "
                f"(0/1 masks) and {show_files(zero255)} only 0 and 255 (0/255 masks), so 255 could be class 1{c1} "
                f"or unlabelled; say which: {given(mask_values='binary')} (255 is class 1 in every mask) or "
                f"{given(ignore_index=UNLABELLED, mask_values='index')} (255 marks unlabelled pixels)"), "error"))
        elif unlabelled == UNLABELLED and not stated:
            problems.append((FOLDER, (
                f"{show_files(zero255)} hold{'s' if len(zero255) == 1 else ''} only 0 and 255, which reads two ways "
                f"for 2 classes with 255 as the unlabelled value ({source}): 255 = class 1{c1} (a binary mask) or "
                f"255 = unlabelled (only class 0 labelled); say which: {given(mask_values='binary')} (255 is class 1) "
                f"or {given(mask_values='index')} (255 is unlabelled)"), "error"))
        elif unlabelled == UNLABELLED:
            note = (f"Masks holding only 0 and 255 ({show_files(zero255)}) read as class 0 plus unlabelled pixels, "
                    f"as {source} says.")
            if not with_ones:
                problems.append((FOLDER, (
                    f"every mask holds only 0 and 255 and {source} makes 255 unlabelled, so class 1{c1} has no "
                    f"labelled pixel; if 255 means class 1 here, pass {given(mask_values='binary')}"), "warning"))
            return MaskReading(n, unlabelled, False, source, "auto", names, note), problems
    return MaskReading(n, unlabelled, False, source, "auto", names), problems


def upload_reading(values: np.ndarray, num_classes: int, palette: bool, class_names=()) -> MaskReading:
    """How the workspace reads one uploaded mask (``UPLOAD_RULE``): class indices with 255 unlabelled,
    except a grey-level 0/255 mask in a 2-class workspace, which is binary (255 = class 1)."""
    if num_classes == 2 and not palette and _is_zero255(np.unique(values)):
        return MaskReading(2, None, True, "an uploaded binary mask", "upload", tuple(class_names))
    return MaskReading(num_classes, UNLABELLED, False, WORKSPACE, "upload", tuple(class_names))


def workspace_reading(num_classes: int, class_names=()) -> MaskReading:
    """The workspace's own masks: class indices 0..C-1, 255 unlabelled."""
    return MaskReading(num_classes, UNLABELLED, False, WORKSPACE, "index", tuple(class_names))
