"""Segmentation metrics: a confusion matrix summed over images (``Confusion``), and scores as pure functions of it.

Every score in the engine (validation during training, ``evaluate``, post-processing, the Review page) is
``Confusion.add(prediction, mask)`` per image, then ``scores``."""
from __future__ import annotations

import numpy as np

from seg_core.base.mask_values import IGNORE


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts, rows = true class, columns = predicted; IGNORE pixels are skipped."""
    valid = target != IGNORE
    idx = target[valid].astype(np.int64) * num_classes + pred[valid].astype(np.int64)
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores(cm: np.ndarray, class_names: list[str] | None = None) -> dict:
    """IoU and Dice per class (None where a class is absent from both truth and prediction),
    mIoU / mean Dice over the classes that occur, and pixel accuracy."""
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    union = tp + fp + fn
    present = union > 0
    iou = np.where(present, tp / np.maximum(union, 1), np.nan)
    dice = np.where(present, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
    names = class_names or [f"class_{i}" for i in range(len(tp))]
    total = cm.sum()
    return {
        "miou": float(np.nanmean(iou)) if present.any() else 0.0,
        "dice": float(np.nanmean(dice)) if present.any() else 0.0,
        "pixel_accuracy": float(tp.sum() / total) if total else 0.0,
        "per_class_iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, iou)},
        "per_class_dice": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names, dice)},
    }


class Confusion:
    """(C, C) counts of (true, predicted) pixel pairs summed over images; ``add`` returns the image's own."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def add(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        c = confusion(pred, target, self.num_classes)
        self.matrix += c
        return c

    def scores(self, class_names: list[str] | None = None) -> dict:
        return scores(self.matrix, class_names)


def image_miou(pred: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """One image's mIoU (over the classes in its truth or prediction; unlabelled pixels skipped)."""
    return scores(confusion(pred, target, num_classes))["miou"]
