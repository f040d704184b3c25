"""Classes that change safely: add, rename, recolour, reorder, remove and merge a workspace's classes at any time.

Every change is one ``change_classes`` call: the new ``ClassList`` and, for each old class, the class its pixels
become (by name, or None: unlabelled). Under the mask lock (so a concurrent save waits and is not lost) it

1. makes a restore point: a fresh trash folder ``trash/<time>_classes-<what>/`` holding a copy of the old
   ``data/classes.json`` and of every mask and proposal it is about to rewrite (at their paths in the
   workspace) with ``change.json`` saying what was done;
2. rewrites every mask and proposal pixel by pixel through one lookup table (old value -> new value): a removed
   class's pixels become unlabelled or the class chosen, the classes after it shift down by one; no other
   class's pixels change. Values that are no class (a mask left from an earlier removal) stay as they are;
3. writes the new classes.json.

A mask that cannot be read is named in ``ClassChange.unreadable`` and left as it is. ``restore_class_change``
puts the newest (or a given) restore point back: classes.json and the masks and proposals as they were; one
saved since the change keeps its new strokes, its values mapped back to the old classes.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.atomic import atomic_write, atomic_write_text
from seg_core.base.classes import ClassesError, ClassList, check_colour
from seg_core.base.mask_values import UNLABELLED
from seg_core.data.imageio import read_mask_raw, write_index_mask
from seg_core.workspace.trash import DIR as TRASH, move_to_trash

PREFIX = "classes-"  # trash folders of class changes: <time>_classes-<what>
MANIFEST = "change.json"
RESTORED = ".restored"  # change.json.restored: a restore point put back already
UNLABELLED_NAME = "unlabelled"


@dataclass
class ClassChange:
    """What a class change did (``--json`` prints ``to_json``)."""

    what: str  # "remove cell (pixels to unlabelled)"
    classes: ClassList  # the classes after the change
    masks: list[str] = field(default_factory=list)  # images whose mask was rewritten
    proposals: list[str] = field(default_factory=list)  # images whose proposal was rewritten
    pixels_moved: int = 0  # pixels of a removed or merged class that became another value
    pixels_changed: int = 0  # pixels whose stored value changed (with the shift of the classes after it)
    unreadable: list[str] = field(default_factory=list)  # "a.png: why" for masks left as they are
    restore_point: Path | None = None

    def summary(self) -> str:
        """One line for a person: what was done and what it rewrote."""
        moved = f", {self.pixels_moved} pixel(s) of the class moved" if self.pixels_moved else ""
        props = f", {len(self.proposals)} proposal(s)" if self.proposals else ""
        return f"{self.what}: {len(self.masks)} mask(s) changed{moved}{props}."

    def to_json(self) -> dict:
        return {"change": self.what, "classes": self.classes.to_json()["classes"],
                "masks_changed": len(self.masks), "masks": self.masks, "proposals_changed": len(self.proposals),
                "pixels_moved": self.pixels_moved, "pixels_changed": self.pixels_changed,
                "unreadable": self.unreadable,
                "restore_point": str(self.restore_point) if self.restore_point else None}


def parse_colour(text: str) -> tuple[int, int, int]:
    """``"R,G,B"`` (or ``#rrggbb``) as three whole numbers 0-255; ClassesError saying what is wrong."""
    t = str(text).strip()
    try:
        if t.startswith("#") and len(t) == 7:
            rgb = [int(t[i:i + 2], 16) for i in (1, 3, 5)]
        else:
            rgb = [int(v) for v in t.split(",")]
    except ValueError:
        raise ClassesError(f"colour {text!r}: give three whole numbers 0-255 like 230,25,75") from None
    check_colour(rgb, f"colour {text!r}")
    return tuple(rgb)


def _index(classes: ClassList, name: str) -> int:
    if name not in classes.names:
        raise ClassesError(f"no class named {name!r} (the classes are: {', '.join(classes.names)})")
    return classes.names.index(name)


def _new_name(classes: ClassList, name: str) -> str:
    name = str(name).strip()
    if not name:
        raise ClassesError("a class needs a name")
    if name in classes.names:
        raise ClassesError(f"there is a class named {name!r} already")
    if name == UNLABELLED_NAME:
        raise ClassesError(f"{name!r} is what pixels nobody labelled are called; choose another name")
    return name


# -- the operations -----------------------------------------------------------------------------------------
def add_class(ws, name: str, colour=None) -> ClassChange:
    """A new class at the end (its colour given, or the next one of the palette); no mask changes."""
    old = ws.classes()
    name = _new_name(old, name)
    rgb = [parse_colour(colour)] if isinstance(colour, str) else [tuple(colour)] if colour is not None else []
    new = ClassList(old.names + [name], old.colours + rgb)
    return change_classes(ws, new, {n: n for n in old.names}, f"add {name}")


def rename_class(ws, old_name: str, new_name: str) -> ClassChange:
    old = ws.classes()
    i = _index(old, old_name)
    new_name = _new_name(old, new_name)
    names = list(old.names)
    names[i] = new_name
    return change_classes(ws, ClassList(names, old.colours), {n: names[k] for k, n in enumerate(old.names)},
                          f"rename {old_name} to {new_name}")


def recolour_class(ws, name: str, colour) -> ClassChange:
    old = ws.classes()
    i = _index(old, name)
    colours = list(old.colours)
    colours[i] = parse_colour(colour) if isinstance(colour, str) else tuple(colour)
    check_colour(list(colours[i]), f"class {name}")
    return change_classes(ws, ClassList(old.names, colours), {n: n for n in old.names}, f"recolour {name}")


def reorder_classes(ws, names: list[str]) -> ClassChange:
    """The same classes in the order ``names`` gives: every mask's values follow their class."""
    old = ws.classes()
    if sorted(names) != sorted(old.names) or len(set(names)) != len(names):
        raise ClassesError(f"a new order must name each class once: {', '.join(old.names)}")
    colours = [old.colours[_index(old, n)] for n in names]
    return change_classes(ws, ClassList(list(names), colours), {n: n for n in old.names}, "reorder")


def move_class(ws, name: str, position: int) -> ClassChange:
    """Move ``name`` to ``position`` (0-based) in the list."""
    names = list(ws.classes().names)
    _index(ws.classes(), name)
    names.remove(name)
    names.insert(max(0, min(int(position), len(names))), name)
    return reorder_classes(ws, names)


def remove_class(ws, name: str, pixels_to: str = UNLABELLED_NAME) -> ClassChange:
    """Remove ``name``; its pixels become unlabelled (``pixels_to="unlabelled"``) or the class ``pixels_to``;
    the classes after it move up one place (their mask values shift down by one)."""
    target = None if pixels_to in (None, UNLABELLED_NAME) else pixels_to
    return _remove(ws, name, target, f"remove {name} (pixels to {target or UNLABELLED_NAME})", f"remove {name!r}")


def merge_class(ws, name: str, into: str) -> ClassChange:
    """Merge ``name`` into ``into``: its pixels become ``into``'s and the class is removed."""
    return _remove(ws, name, into, f"merge {name} into {into}", f"merge {name!r} into {into!r}")


def _remove(ws, name: str, target: str | None, what: str, doing: str) -> ClassChange:
    """Remove class ``name``, its pixels to ``target`` (None: unlabelled); ``doing`` names it in errors."""
    old = ws.classes()
    _index(old, name)
    if target is not None:
        _index(old, target)
        if target == name:
            raise ClassesError(f"cannot {doing}: its pixels must go to another class (or unlabelled), not to "
                               "the class itself")
    if len(old) <= 2:
        raise ClassesError(f"cannot {doing}: a workspace needs at least two classes ({', '.join(old.names)}); "
                           "add another first")
    keep = [i for i, n in enumerate(old.names) if n != name]
    new = ClassList([old.names[i] for i in keep], [old.colours[i] for i in keep])
    fate = {n: (target if n == name else n) for n in old.names}
    return change_classes(ws, new, fate, what, moved=old.names.index(name))


# -- the one rewrite ----------------------------------------------------------------------------------------
def lookup_table(old: ClassList, new: ClassList, fate: dict[str, str | None]) -> np.ndarray:
    """Old mask value -> new mask value (256 entries): each old class to the new index of the class its
    pixels become (None: unlabelled); 255 and values that are no class stay as they are."""
    lut = np.arange(256, dtype=np.int32)
    for i, n in enumerate(old.names):
        target = fate.get(n)
        lut[i] = UNLABELLED if target is None else new.names.index(target)
    return lut


def inverse_table(lut: np.ndarray, moved: int | None) -> np.ndarray:
    """New mask value -> old mask value, for an undo: each class kept goes back to its old value (a removed
    class's pixels stay as what they became); 255 and values that are no class stay as they are."""
    inv = np.arange(256, dtype=np.int32)
    for i in range(256):
        if i != moved and lut[i] != i and lut[i] != UNLABELLED:
            inv[lut[i]] = i
    return inv


def change_classes(ws, new: ClassList, fate: dict[str, str | None], what: str,
                   moved: int | None = None) -> ClassChange:
    """Make ``new`` the workspace's classes, rewriting every mask and proposal by ``fate`` (old class name ->
    the name its pixels become, None: unlabelled), after a restore point is made (module docstring).
    ``moved``: the old value whose pixels count as moved (a removed class). A mask counts as changed when a
    stored value changed or it held pixels of the removed class; each changed one is kept in the restore
    point with the digest of what it became, so an undo knows whether it was saved again since."""
    new.check()
    new.ignore_index = UNLABELLED
    with ws.masks.lock():
        old = ws.classes()
        lut = lookup_table(old, new, fate)
        point = move_to_trash(ws.root, f"{PREFIX}{_slug(what)}", [])
        change = ClassChange(what, new, restore_point=point)
        written: dict[str, str] = {}
        if ws.classes_file.exists():
            _copy(ws.root, ws.classes_file, point)
        for kind, path in _label_files(ws):
            values = _read(ws, path, change.unreadable)
            if values is None:
                continue
            out = lut[values]
            diff = out != values
            n_moved = int((values == moved).sum()) if moved is not None else 0
            if not diff.any() and not n_moved:
                continue
            _copy(ws.root, path, point)
            if diff.any():
                write_index_mask(path, out.astype(np.uint8), new)
            written[str(path.relative_to(ws.root))] = _digest(path)
            getattr(change, kind).append(path.stem)
            if kind == "masks":
                change.pixels_changed += int(diff.sum())
                change.pixels_moved += n_moved
        ws.save_classes(new)
        _write_manifest(change, {"inverse": inverse_table(lut, moved).tolist(), "written": written})
    return change


def _label_files(ws) -> list[tuple[str, Path]]:
    """Every mask and proposal file: ("masks" | "proposals", path)."""
    return [(kind, p) for kind, folder in (("masks", ws.masks_dir), ("proposals", ws.proposals.dir))
            for p in _pngs(folder)]


def _read(ws, path: Path, unreadable: list[str]) -> np.ndarray | None:
    """The file's values, or None after naming it in ``unreadable`` (damaged, or values outside 0-255)."""
    name = path.relative_to(ws.root)
    try:
        values = read_mask_raw(path)
    except Exception as err:  # damaged: named, left as it is
        unreadable.append(f"{name}: cannot be read ({err})")
        return None
    if values.min(initial=0) < 0 or values.max(initial=0) > 255:
        unreadable.append(f"{name}: holds values outside 0-255; left as it is")
        return None
    return values


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pngs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.png") if not p.name.startswith(".")) if folder.is_dir() else []


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-" else "-" for c in text)[:40].strip("-")


def _copy(root: Path, path: Path, point: Path) -> None:
    dest = point / path.relative_to(root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, dest)


def _write_manifest(change: ClassChange, undo: dict) -> None:
    data = change.to_json() | {"time": time.strftime("%Y-%m-%d %H:%M:%S")} | undo
    atomic_write_text(change.restore_point / MANIFEST, json.dumps(data, indent=2))


# -- restore ------------------------------------------------------------------------------------------------
def restore_points(ws) -> list[Path]:
    """The class changes that can be undone, newest first (``trash/<time>_classes-*`` with their change.json)."""
    trash = ws.root / TRASH
    if not trash.is_dir():
        return []
    found = [p for p in trash.iterdir() if p.is_dir() and f"_{PREFIX}" in p.name and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: (p / MANIFEST).stat().st_mtime_ns, reverse=True)


def describe(point: Path) -> str:
    """What the class change kept at ``point`` did ("remove cell (pixels to unlabelled)")."""
    for name in (MANIFEST, f"{MANIFEST}{RESTORED}"):
        try:
            return json.loads((point / name).read_text()).get("change", point.name)
        except (OSError, ValueError):
            continue
    return point.name


def restore_class_change(ws, point: Path | None = None) -> Path:
    """Undo a class change (the newest when ``point`` is None): its classes.json comes back; each mask and
    proposal it changed comes back as it was, unless it was saved again since, and every other one (saved
    since, or whose values it did not touch) has its values mapped back (``inverse_table``), so new work is
    kept and means the same classes. The files as they are now are copied to the trash first. The restore
    point is used up (its change.json becomes change.json.restored). Returns the point used;
    FileNotFoundError when there is nothing to restore."""
    with ws.masks.lock():
        if point is None:
            points = restore_points(ws)
            if not points:
                raise FileNotFoundError("no class change to undo")
            point = points[0]
        point = Path(point)
        try:
            manifest = json.loads((point / MANIFEST).read_text())
            inverse, written = np.asarray(manifest["inverse"], np.int32), manifest["written"]
        except (OSError, ValueError, KeyError) as err:
            raise FileNotFoundError(f"{point}: not a class change's restore point ({err})") from None
        files = _label_files(ws)
        where = move_to_trash(ws.root, "undone-class-change", [])  # the files of now, restorable by hand
        for path in [ws.classes_file] + [p for _, p in files]:
            if path.exists():
                _copy(ws.root, path, where)
        old = ClassList.load(point / "data" / "classes.json")
        for _, path in files:
            rel = str(path.relative_to(ws.root))
            if rel in written and _digest(path) == written[rel]:  # as the change left it: put it back whole
                src = point / rel
                atomic_write(path, lambda tmp, src=src: shutil.copy2(src, tmp))
                continue
            values = _read(ws, path, [])  # one that cannot be read is left as it is
            if values is not None and (inverse[values] != values).any():
                write_index_mask(path, inverse[values].astype(np.uint8), old)
        src = point / "data" / "classes.json"
        atomic_write(ws.classes_file, lambda tmp: shutil.copy2(src, tmp))
        (point / MANIFEST).rename(point / f"{MANIFEST}{RESTORED}")
    return point
