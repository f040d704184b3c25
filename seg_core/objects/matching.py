"""Predicted objects against true ones (label images, one id per object, 0 background): pairs of IoU above
0.5 (so each object has at most one partner), object F1, the mean IoU of the matched pairs, and the error of
the count. Class-blind: the true label images hold ids, not classes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATCH_IOU = 0.5


@dataclass
class Match:
    """One image's (or, summed, a folder's) matching: true positives, false positives, false negatives, the
    IoU of each matched pair, and both counts."""

    tp: int
    fp: int
    fn: int
    ious: list[float]
    predicted: int
    true: int

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.predicted + self.true else 1.0

    @property
    def mean_iou(self) -> float | None:
        return float(np.mean(self.ious)) if self.ious else None

    @property
    def count_error(self) -> float | None:
        """|predicted - true| / true (None without true objects)."""
        return abs(self.predicted - self.true) / self.true if self.true else None

    def __add__(self, other: "Match") -> "Match":
        return Match(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.ious + other.ious,
                     self.predicted + other.predicted, self.true + other.true)

    def row(self) -> dict:
        return {"objects_true": self.true, "objects_predicted": self.predicted, "object_f1": self.f1,
                "matched_iou": self.mean_iou, "count_error": self.count_error}


def match_objects(pred: np.ndarray, true: np.ndarray, threshold: float = MATCH_IOU) -> Match:
    """Match the objects of two label images of one size by IoU above ``threshold`` (0.5 or more, so that
    each object has at most one partner). Only overlapping pairs are counted (memory: the pixels, not
    predicted x true objects)."""
    if pred.shape != true.shape:
        raise ValueError(f"the label images differ in size: {pred.shape[1]}x{pred.shape[0]} predicted, "
                         f"{true.shape[1]}x{true.shape[0]} true")
    p_ids, p = np.unique(pred.ravel(), return_inverse=True)  # ids made dense: 0..n-1
    t_ids, t = np.unique(true.ravel(), return_inverse=True)
    area_p, area_t = np.bincount(p, minlength=len(p_ids)), np.bincount(t, minlength=len(t_ids))
    both = (pred.ravel() != 0) & (true.ravel() != 0)
    pairs, inter = np.unique(p[both].astype(np.int64) * len(t_ids) + t[both], return_counts=True)
    i, j = np.divmod(pairs, len(t_ids))
    iou = inter / (area_p[i] + area_t[j] - inter)
    ious = iou[iou > max(threshold, MATCH_IOU)].tolist()
    n_pred, n_true = int((p_ids != 0).sum()), int((t_ids != 0).sum())
    tp = len(ious)
    return Match(tp, n_pred - tp, n_true - tp, ious, n_pred, n_true)
