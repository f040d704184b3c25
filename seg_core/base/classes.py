"""Class names and colours of a data set, and the one reader of ``classes.json`` (``ClassList.from_json``:
lenient for a folder's own file, strict for an upload)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.atomic import atomic_write_text
from seg_core.base.mask_values import MAX_CLASSES

# A fixed, high-contrast palette (first colours of the Pascal VOC / CamVid style palettes).
DEFAULT_PALETTE: list[tuple[int, int, int]] = [
    (0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
]
UNLABELLED_COLOUR = (255, 255, 255)


def default_colour(index: int) -> tuple[int, int, int]:
    """Colour of class ``index`` in the fixed palette (cycled, then derived)."""
    if index < len(DEFAULT_PALETTE):
        return DEFAULT_PALETTE[index]
    r, g, b = DEFAULT_PALETTE[index % len(DEFAULT_PALETTE)]
    k = index // len(DEFAULT_PALETTE)
    return ((r + 97 * k) % 256, (g + 57 * k) % 256, (b + 151 * k) % 256)


@dataclass
class ClassList:
    """Ordered class names with an RGB colour each; index in the list is the mask value."""

    names: list[str]
    colours: list[tuple[int, int, int]] = field(default_factory=list)
    ignore_index: int | None = None  # mask value meaning "unlabelled / void" (classes.json: "unlabelled")

    def __post_init__(self):
        self.colours = [tuple(int(v) for v in c) for c in self.colours]
        while len(self.colours) < len(self.names):
            self.colours.append(default_colour(len(self.colours)))
        self.colours = self.colours[: len(self.names)]

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def default(cls, num_classes: int) -> "ClassList":
        return cls([f"class_{i}" for i in range(num_classes)])

    def to_json(self) -> dict:
        """``{"classes": [{"name", "color"}], "unlabelled": value or null}``: the unlabelled value is always
        written, null when masks have none, so a folder's classes.json says what its masks mean."""
        return {"classes": [{"name": n, "color": list(c)} for n, c in zip(self.names, self.colours)],
                "unlabelled": self.ignore_index}

    @classmethod
    def from_json(cls, data: dict | str | bytes, strict: bool = False) -> "ClassList":
        """The one reader of classes.json (an object, or its JSON text): ``{"classes": [{"name", "color"}]}``
        or ``{"names": [...], "colors": [...]}`` ("colour" and "colours" too), with the unlabelled value as
        ``"unlabelled"`` (or the older ``"ignore_index"``). ``ClassesError`` says what is wrong.

        Lenient (``strict=False``: a data folder's own file): colours that do not match the names in number
        are dropped (each class takes its default colour), no other check. Strict (an uploaded file, checked
        before it is applied): that and everything ``check_classes`` checks are refused."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise ClassesError(f"not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise ClassesError(f"must be a JSON object {EXAMPLE}, not a {type(data).__name__}")
        if "classes" in data:
            items = data["classes"]
            if not isinstance(items, list):
                raise ClassesError(f"'classes' must be a list {EXAMPLE}")
            names, colours = [], []
            for i, c in enumerate(items):
                if isinstance(c, dict):
                    if "name" not in c:
                        raise ClassesError(f"class {i} has no name")
                    names.append(c["name"])
                    if "color" in c or "colour" in c:
                        colours.append(c.get("color", c.get("colour")))
                else:
                    names.append(c)
        else:
            names = data.get("names", None if strict else [])
            colours = data.get("colors", data.get("colours", []))
            if not isinstance(names, list) or not isinstance(colours, list):
                raise ClassesError(f"needs a list of class names {EXAMPLE}")
        if colours and len(colours) != len(names):
            if strict:
                raise ClassesError(f"{len(colours)} colours for {len(names)} classes; give every class a colour "
                                   "or none")
            colours = []
        unlabelled = _unlabelled(data)
        if strict:
            check_classes(names, colours)
        return cls([str(n) for n in names], [tuple(c) for c in colours], unlabelled)

    @classmethod
    def load(cls, path: Path) -> "ClassList":
        """A data folder's classes.json, read leniently (``from_json``); ValueError naming the file."""
        try:
            return cls.from_json(Path(path).read_bytes())
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a valid classes.json ({err})") from err

    def check(self) -> None:
        """``ClassesError`` when these classes cannot be a workspace's (``check_classes``)."""
        check_classes(self.names, self.colours)

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_json(), indent=2))

    @property
    def unlabelled(self) -> int | None:
        """The mask value of unlabelled pixels (the same as ``ignore_index``)."""
        return self.ignore_index

    def palette(self) -> "list[int]":
        """A 768-entry PIL palette: class colours first, white for everything else (unlabelled)."""
        flat: list[int] = []
        for i in range(256):
            flat.extend(self.colours[i] if i < len(self.colours) else UNLABELLED_COLOUR)
        return flat


class ClassesError(ValueError):
    """A classes.json (or a list of classes) that cannot be used; the message says what is wrong."""


EXAMPLE = 'like {"classes": [{"name": "background", "color": [0, 0, 0]}, ...]}'


def check_classes(names: list, colours: list) -> None:
    """``ClassesError`` unless there are 2 to ``MAX_CLASSES`` names, each non-empty text, all different, and
    each colour (when given) is three whole numbers 0-255."""
    if not 2 <= len(names) <= MAX_CLASSES:
        raise ClassesError(f"needs 2 to {MAX_CLASSES} classes, got {len(names)}")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n.strip():
            raise ClassesError(f"class {i}: the name must be non-empty text, got {n!r}")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ClassesError(f"class names must differ from each other ({', '.join(dup)} repeat)")
    for i, c in enumerate(colours):
        check_colour(c, f"class {i} ({names[i]})")


def check_colour(c, what: str) -> None:
    """``ClassesError`` naming ``what`` unless ``c`` is three whole numbers 0-255."""
    ok = (isinstance(c, (list, tuple)) and len(c) == 3
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in c))
    if not ok:
        raise ClassesError(f"{what}: the colour must be three whole numbers 0-255 like [230, 25, 75], got {c!r}")


def _unlabelled(data: dict) -> int | None:
    """The unlabelled value of a classes.json: ``"unlabelled"``, else the older ``"ignore_index"``; a whole
    number or null."""
    v = data.get("unlabelled", data.get("ignore_index"))
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, float) and v.is_integer()):
        raise ClassesError(f'"unlabelled" must be a whole number (like 255) or null, got {v!r}')
    return int(v)
