"""Which way up: whether the images read the same turned, measured on the run's held-out images.

A street scene has an up (the sky above the road); a slide, an aerial tile or a surface under inspection reads the
same any way round, and training on every crop also flipped and turned a quarter (all eight orientations) shows
the model more of what it will meet from the same images. ``TrainConfig.orientation``: "upright" trains on the
images as they are (left-right flips, small rotations); "any" on all eight orientations from the start; "measure"
(the default) trains upright until ``AFTER`` of the run, then scores the held-out images turned a quarter (the
prediction turned back): when the model scores them at least ``SAME`` of its score upright, the images have no up
for it and the rest of the run trains on all eight orientations. Without held-out images nothing is measured and
the run stays upright. Measured: docs/training.md#which-way-up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from seg_core.base.messages import with_details
from seg_core.runs.config import TrainConfig

AFTER = 0.3  # share of the run trained upright before the check (the model has learned where things are by then)
SAME = 0.98  # the turned score at least this share of the upright one: the images read the same any way round
# (EM membranes scored 0.96 of upright turned, and trained turned they lost 0.002-0.007 Dice; nuclei 0.997: they gained)


def turns_from_start(cfg: TrainConfig) -> bool:
    """Whether the run trains on all eight orientations from its first step."""
    return cfg.orientation == "any" and cfg.augment.hflip


def to_measure(cfg: TrainConfig, held_out: int) -> bool:
    """Whether the run checks which way up its images are (it needs held-out images, and flips at all)."""
    return cfg.orientation == "measure" and cfg.augment.hflip and held_out > 0


def quarter_turned(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray) -> np.ndarray:
    """``predict``'s labels of ``image`` turned a quarter, turned back onto the image."""
    return np.rot90(predict(np.ascontiguousarray(np.rot90(image))), -1)


@dataclass(frozen=True)
class Finding:
    """The held-out images' score (mIoU) as they are and turned a quarter, at the share ``at`` of the run."""

    upright: float
    turned: float
    at: float

    @property
    def any_way_round(self) -> bool:
        return self.turned >= SAME * self.upright

    def message(self) -> str:
        scores = (f"mIoU on the held-out images {self.upright:.3f} upright, {self.turned:.3f} turned a quarter "
                  f"(at {self.at:.0%} of the run; eight orientations from {SAME:.0%} of upright)")
        if self.any_way_round:
            return with_details("your images read the same turned: from now on the model also learns from each "
                                "piece turned and mirrored", scores + ": vertical flips and quarter turns on")
        return with_details("your images have an up: the model keeps learning from them upright", scores)

    def to_dict(self) -> dict:
        return {"any_way_round": self.any_way_round, "upright_miou": round(self.upright, 4),
                "turned_miou": round(self.turned, 4), "at": round(self.at, 3), "reason": self.message()}
