"""Class names and colours of a data set (``classes.json``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from seg_core.base.atomic import atomic_write_text

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
    def from_json(cls, data: dict) -> "ClassList":
        """Accepts ``{"classes": [{"name", "color"}]}`` or ``{"names": [...], "colors": [...]}``, with the
        unlabelled value as ``"unlabelled"`` (or the older ``"ignore_index"``)."""
        unl = _unlabelled(data)
        if "classes" in data:
            items = data["classes"]
            names = [str(c["name"] if isinstance(c, dict) else c) for c in items]
            colours = [tuple(c["color"]) for c in items if isinstance(c, dict) and "color" in c]
            if len(colours) != len(names):
                colours = []
            return cls(names, colours, unl)
        names = [str(n) for n in data.get("names", [])]
        colours = [tuple(c) for c in data.get("colors", data.get("colours", []))]
        return cls(names, colours, unl)

    @classmethod
    def load(cls, path: Path) -> "ClassList":
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a valid classes.json ({err})") from err

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


def _unlabelled(data: dict) -> int | None:
    """The unlabelled value of a classes.json: ``"unlabelled"``, else the older ``"ignore_index"``; a whole
    number or null."""
    v = data.get("unlabelled", data.get("ignore_index"))
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, float) and v.is_integer()):
        raise ValueError(f'"unlabelled" must be a whole number (like 255) or null, got {v!r}')
    return int(v)
