"""Which image to label next: how unsure a run's model is about each image, and where.

Per pixel, ``entropy`` is the entropy of the class probabilities divided by log(C) (0: certain,
1: every class equally likely); ``margin`` is 1 - (top probability - second probability). An image's
score is the mean over its pixels. With flips (``tta``), the probabilities are averaged over the image
and its mirror first, so pixels the model sees differently when mirrored count as unsure too.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seg_core.base.progress import Progress, Steps
from seg_core.data.imageio import ImageReadError, read_image

MEASURES = ("entropy", "margin")
EXPLAIN = {
    "entropy": "Score = mean per-pixel entropy of the predicted classes, 0 (sure) to 1 (all classes equally "
               "likely): label the highest first.",
    "margin": "Score = mean of 1 - (best minus second-best class probability) per pixel, 0 (sure) to 1 (a tie): "
              "label the highest first.",
}


def uncertainty_map(probs: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """(H, W) float32 in 0..1 from class probabilities (C, H, W)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown uncertainty measure '{measure}'; choose one of: {', '.join(MEASURES)}")
    p = np.clip(probs.astype(np.float32), 1e-8, 1.0)
    c = p.shape[0]
    if measure == "entropy":
        return (-(p * np.log(p)).sum(0) / np.log(c)).clip(0, 1)
    top2 = np.partition(p, c - 2, axis=0)[c - 2:]
    return (1.0 - (top2[1] - top2[0])).clip(0, 1)


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """The image with the uncertainty map blended over it (dark blue: sure, yellow-red: unsure)."""
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    return (image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).clip(0, 255).astype(np.uint8)


@dataclass
class Ranked:
    image: str  # file name
    score: float  # mean uncertainty, 0..1
    unsure_fraction: float  # share of pixels above 0.5
    error: str | None = None  # why the image could not be scored


def rank_images(predictor, files: list[Path], measure: str = "entropy", progress: Progress | None = None,
                cancel: threading.Event | None = None) -> list[Ranked]:
    """Score every file with ``predictor`` (a ``Predictor``), most uncertain first; unreadable files
    come last with their error. ``progress`` gets a ``Count`` per image ("3/12 images ranked"); when
    ``cancel`` is set, it stops before the next image and raises ``Cancelled`` (``partial``: the rows so far,
    ranked)."""
    rows: list[Ranked] = []
    steps = Steps(progress, cancel, len(files), "images ranked")
    for f in files:
        steps.check(lambda: f"ranking cancelled after {steps.done} of {len(files)} images", _ranked(rows))
        try:
            pred = predictor.predict(read_image(f), crf=False)
            if pred.probs is None:  # too large for full-size probabilities
                raise ValueError(f"{f.name}: not ranked: {pred.note}")
            heat = uncertainty_map(pred.probs, measure)
            rows.append(Ranked(f.name, float(heat.mean()), float((heat > 0.5).mean())))
        except (ImageReadError, ValueError) as err:
            rows.append(Ranked(f.name, float("nan"), float("nan"), str(err)))
        steps.tick(f.name)
    return _ranked(rows)


def _ranked(rows: list[Ranked]) -> list[Ranked]:
    """Most uncertain first, unreadable files last."""
    return sorted(rows, key=lambda r: (r.error is not None, -r.score if r.error is None else 0))
