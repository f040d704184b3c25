"""Which image to label next (the Review page's "Label next", ``python -m seg_core rank``): every image
given, in the order to label them, each with the reason in plain words (``selection.py`` decides the
order: the ones the model hesitates on once a few images are labelled, typical and diverse images before). The run's own labelled images (``run_images``) count as covered.

Where the model hesitates (``hesitation``, the Review page's heat map) is where its answer changes when
the image is mirrored (``selection.flip_disagreement``); an image's ``uncertainty`` is its mean.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seg_core.base.progress import Progress, Steps
from seg_core.data.imageio import IMAGE_EXTS, ImageReadError
from seg_core.infer.selection import choose_order, class_shares, describe, flip_disagreement
from seg_core.runs.folder import Run
from seg_core.runs.labels import LabelSet

EXPLAIN = ("In the order to label them: the images the model hesitates on (its answer changes when the image is "
           "mirrored) first, which measured better than other choices once a few images are labelled; with "
           "fewer than 4 labelled, typical images of kinds not labelled yet count too. Score: 1 for the first, "
           "down to 0 for the last.")


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """The image with the uncertainty map blended over it (dark blue: sure, yellow-red: unsure)."""
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    return (image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).clip(0, 255).astype(np.uint8)


@dataclass
class Ranked:
    image: str  # file name
    score: float  # 1 for the first to label, falling to 0 for the last (nan: not ranked)
    unsure_fraction: float  # share of pixels whose class changes when the image is mirrored
    error: str | None = None  # why the image could not be ranked
    reason: str = ""  # why it is proposed, in plain words
    uncertainty: float = float("nan")  # mean disagreement between the image and its mirror image, 0..1


def hesitation(predictor, image: np.ndarray, name: str = "image") -> tuple[np.ndarray, float]:
    """(H, W) 0..1: how much the model's answer changes where the image is mirrored, and the share of pixels
    whose class changes. ValueError for an image too large for full-size class probabilities."""
    pred = predictor.predict(image, crf=False, tta=False)
    if pred.probs is None:
        raise ValueError(f"{name}: not ranked: {pred.note}")
    mirrored = predictor.predict(np.ascontiguousarray(image[:, ::-1]), crf=False, tta=False).probs[:, :, ::-1]
    return flip_disagreement(pred.probs, mirrored), float((pred.probs.argmax(0) != mirrored.argmax(0)).mean())


def run_images(run: Run) -> list[Path]:
    """The images ``run`` trained and validated on that still exist: from its labels' manifest, or (a run from
    before runs kept their labels) its config's split and data folder."""
    labels = LabelSet.of(run.path)
    if labels is not None:
        src = labels.sources
        where = {False: src.get("data"), True: src.get("val_data") or src.get("data")}
        files = [Path(where[i.held_out]) / "images" / i.image for i in labels.images if where[i.held_out]]
        return [f for f in files if f.is_file()]
    cfg = run.settings
    split, folder = cfg.get("split") or {}, Path(str(cfg.get("data", ""))) / "images"
    stems = set(split.get("train") or ()) | (set() if cfg.get("val_data") else set(split.get("val") or ()))
    return sorted(p for p in folder.glob("*") if p.stem in stems and p.suffix.lower() in IMAGE_EXTS) \
        if folder.is_dir() else []


def rank_images(predictor, files: list[Path], labelled: list[Path] | None = None, progress: Progress | None = None,
                cancel: threading.Event | None = None, class_weight: float | None = None) -> list[Ranked]:
    """Every file in the order to label it, for ``predictor`` (a ``Predictor``); ``labelled``: images with
    labels already (default: the run's own, ``run_images``), which count as covered. Unreadable files come
    last with their error. ``progress`` gets a ``Count`` per image ("3/12 images ranked"); when ``cancel``
    is set, it stops before the next image and raises ``Cancelled`` (``partial``: the rows so far, the
    most hesitant first). ``class_weight``: how much the classes an image adds count (``choose_order``; None:
    ``selection.CLASS_WEIGHT``)."""
    labelled = run_images(predictor.run) if labelled is None else labelled
    names = {Path(f).name for f in files}
    feats_lab, shares_lab = [], []
    for f in labelled:
        if Path(f).name in names:  # given as a candidate too: ranked as one
            continue
        try:
            image = predictor.prepare(predictor.read(f))  # as the network sees it
            feats_lab.append(describe(predictor.model, image))
            shares_lab.append(class_shares(predictor.model, image))
        except (ImageReadError, ValueError, OSError):
            pass  # removed or damaged since: it covers nothing
    rows: list[Ranked] = []
    feats: list[np.ndarray] = []
    shares: list[np.ndarray] = []
    steps = Steps(progress, cancel, len(files), "images ranked")
    for f in files:
        steps.check(lambda: f"ranking cancelled after {steps.done} of {len(files)} images", _by_hesitation(rows))
        try:
            image = predictor.read(f)
            heat, changed = hesitation(predictor, image, f.name)
            seen = predictor.prepare(image)
            feats.append(describe(predictor.model, seen))
            shares.append(class_shares(predictor.model, seen))
            rows.append(Ranked(f.name, float("nan"), changed, uncertainty=float(heat.mean())))
        except (ImageReadError, ValueError) as err:
            rows.append(Ranked(f.name, float("nan"), float("nan"), str(err)))
        steps.tick(f.name)
    ok = [r for r in rows if r.error is None]
    if not ok:
        return rows
    picks = choose_order(np.array(feats), np.array(feats_lab).reshape(len(feats_lab), len(feats[0])),
                         np.array([r.uncertainty for r in ok]), len(labelled), shares=np.array(shares),
                         labelled_shares=np.array(shares_lab).reshape(len(shares_lab), len(shares[0])),
                         class_weight=class_weight)
    ordered = []
    for place, p in enumerate(picks):
        r = ok[p.index]
        r.score, r.reason = 1.0 - place / max(len(picks) - 1, 1), p.reason
        ordered.append(r)
    return ordered + [r for r in rows if r.error is not None]


def _by_hesitation(rows: list[Ranked]) -> list[Ranked]:
    """The rows ranked so far, the most hesitant first, unreadable files last."""
    return sorted(rows, key=lambda r: (r.error is not None, -r.uncertainty if r.error is None else 0))
