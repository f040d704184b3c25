"""How objects are found in a predicted mask, with defaults nobody has to touch; kept as JSON in the
workspace (``objects.json``) so the Review page and its downloads agree from one visit to the next."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from seg_core.base.atomic import atomic_write_text


@dataclass(frozen=True)
class ObjectSettings:
    """``split_touching``: separate touching objects of a class by a watershed on the distance to the class's
    edge, one object per centre: the peaks of that distance at least ``split_spacing`` times the typical
    object's radius apart (on nuclei-he 0.7 did best, and better than cutting at necks, see
    benchmarks/bench_objects.py, benchmarks/results/2026-12-03-bench_objects.md);
    ``min_size``: objects (and split pieces) of fewer pixels are dropped; ``min_confidence``: so are objects
    where the model's probability for their class reaches that nowhere (0: none dropped; faint specks on
    tissue the model half believes in; on nuclei-he 0.95 raised the object F1 by 0.05-0.09, benchmarks/results/2026-12-03-bench_objects.md;
    a run relaxes it where its held-out images say so: ``faint.py``);
    ``fill_holes``: background enclosed
    by an object counts as the object; ``pixel_size``: micrometres per pixel (None: sizes in pixels only).
    Class 0 is the background: every other class's regions are objects."""

    split_touching: bool = True
    split_spacing: float = 0.7
    min_size: int = 10
    min_confidence: float = 0.95
    fill_holes: bool = True
    pixel_size: float | None = None

    def __post_init__(self):
        if self.min_size < 0:
            raise ValueError(f"the minimum object size must be 0 or more pixels, not {self.min_size}")
        if self.pixel_size is not None and not self.pixel_size > 0:
            raise ValueError(f"the pixel size must be a positive number of micrometres, not {self.pixel_size}")
        if not 0 <= self.min_confidence < 1:
            raise ValueError(f"the confidence an object needs must lie between 0 and 1 (0: keep every object), "
                             f"not {self.min_confidence}")
        if not 0 < self.split_spacing <= 10:
            raise ValueError(f"the spacing of separated objects must lie above 0 and at most 10 typical radii, "
                             f"not {self.split_spacing}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ObjectSettings":
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: Path) -> "ObjectSettings":
        """The settings saved at ``path``; the defaults when there is none, or it cannot be read."""
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_json(), indent=2))
