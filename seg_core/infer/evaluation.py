"""Scoring a model against ground-truth masks: a list of image/mask pairs, or a run on a labelled folder.

``evaluate_run`` returns an ``Evaluation``: typed fields (``Scores`` at the top, one ``ImageScore`` per image,
``HeldOut`` for the images the run did not learn from); ``to_json()`` is what ``evaluate --json`` prints."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from seg_core.infer.crf import CRFParams
from seg_core.data.dataset import GIVEN_UNLABELLED, DatasetError, scan_dataset
from seg_core.base.mask_values import IGNORE, UNLABELLED
from seg_core.base.messages import given
from seg_core.infer.metrics import Confusion, scores
from seg_core.infer.predictor import Predictor
from seg_core.runs.folder import Run
from seg_core.infer.sliding_window import predict_labels


def confusion_of(model, pairs, num_classes: int, amp_dtype=None, tta: bool = False) -> Confusion:
    """The confusion of ``model`` (a network) over (image, label mask) pairs: an iterable, read as it goes."""
    cm = Confusion(num_classes)
    model.eval()
    for image, mask in pairs:
        cm.add(predict_labels(model, image, tta=tta, amp_dtype=amp_dtype), mask)
    return cm


def evaluate_pairs(model, pairs, num_classes: int, amp_dtype=None, tta: bool = False) -> dict:
    """Dataset scores of ``model`` over (image, label mask) pairs (validation, benchmarks)."""
    return confusion_of(model, pairs, num_classes, amp_dtype, tta).scores()


@dataclass(frozen=True)
class Scores:
    """The scores of a confusion (``metrics.scores``): IoU and Dice per class (None where a class is absent from
    both truth and prediction), their means over the classes that occur, and pixel accuracy."""

    miou: float
    dice: float
    pixel_accuracy: float
    per_class_iou: dict[str, float | None]
    per_class_dice: dict[str, float | None]

    def to_json(self) -> dict:
        return {"miou": self.miou, "dice": self.dice, "pixel_accuracy": self.pixel_accuracy,
                "per_class_iou": dict(self.per_class_iou), "per_class_dice": dict(self.per_class_dice)}


@dataclass(frozen=True)
class HeldOut(Scores):
    """The scores on the images the run did not learn from (held out for validation, or never seen)."""

    images: int

    def to_json(self) -> dict:
        return super().to_json() | {"images": self.images}


class ImageExtra(Protocol):
    """What ``evaluate_run``'s ``on_image`` gives an image beyond its pixel scores (``seg_core.objects.scoring``:
    the objects matched); ``row()`` is its part of the image's JSON row."""

    def row(self) -> dict: ...


@dataclass(frozen=True)
class ImageScore:
    """One image's row: whether the run trained on it (``split``: "train", "validation" or "unseen"), its
    scores, and the pixels labelled and skipped (unlabelled)."""

    image: str
    split: str
    miou: float
    pixel_accuracy: float
    labelled_pixels: int
    ignored_pixels: int
    extra: ImageExtra | None = None  # what ``on_image`` returned for it

    def to_json(self) -> dict:
        return {"image": self.image, "split": self.split, "miou": self.miou, "pixel_accuracy": self.pixel_accuracy,
                "labelled_pixels": self.labelled_pixels, "ignored_pixels": self.ignored_pixels} | (
            self.extra.row() if self.extra is not None else {})


@dataclass(frozen=True)
class Evaluation(Scores):
    """A run scored on a labelled folder (``evaluate_run``): the folder's scores, one row per image, the
    unlabelled pixels skipped, how the masks were read, and the scores on the held-out images."""

    images: int
    seconds_per_image: float
    crf: bool
    tta: bool
    per_image: list[ImageScore]
    ignored_pixels: int
    ignored_pixels_per_class: dict[str, int]  # skipped (unlabelled) pixels by the class predicted there
    labelled_pixels_per_class: dict[str, int]
    hidden_classes: list[str]  # classes with no labelled pixel left while pixels were skipped
    warnings: list[str]
    mask_values: list[str]  # how the masks' values read, in sentences (``Dataset.mask_rules``)
    unlabelled_value: int | None
    held_out: HeldOut | None = None  # None when the run learned from every scored image
    crf_seconds_per_image: float | None = None  # with the dense CRF only

    def to_json(self) -> dict:
        out = super().to_json() | {
            "images": self.images, "seconds_per_image": self.seconds_per_image, "crf": self.crf, "tta": self.tta,
            "per_image": [r.to_json() for r in self.per_image], "ignored_pixels": self.ignored_pixels,
            "ignored_pixels_per_class": dict(self.ignored_pixels_per_class),
            "labelled_pixels_per_class": dict(self.labelled_pixels_per_class),
            "hidden_classes": list(self.hidden_classes), "warnings": list(self.warnings),
            "mask_values": list(self.mask_values), "unlabelled_value": self.unlabelled_value}
        if self.held_out is not None:
            out["held_out"] = self.held_out.to_json()
        if self.crf_seconds_per_image is not None:
            out["crf_seconds_per_image"] = self.crf_seconds_per_image
        return out


def evaluate_run(run: Run, data: Path, crf: CRFParams | None = None, tta: bool = False,
                 ignore_index: int | None = None, device: str = "auto", require_masks: bool = True,
                 mask_values: str = "auto", unlabelled_source: str = GIVEN_UNLABELLED,
                 on_image=None) -> Evaluation:
    """Score ``run`` on a labelled folder: dataset metrics plus one row per image.

    Each row's ``split`` says whether the run trained on that image ("train"), held it out for
    validation ("validation") or never saw it ("unseen"); ``held_out`` scores the last two together.

    The masks read by ``mask_values.decide_reading`` (``mask_values``: auto, index or binary): the
    unlabelled value is ``ignore_index`` when given, else the folder's classes.json's, else the run's;
    ``mask_values`` in the result states the reading. Unlabelled pixels are skipped and counted:
    ``ignored_pixels`` (in all and per image), ``ignored_pixels_per_class`` (by the class the model
    predicted there) and ``labelled_pixels_per_class``. ``on_image(image path, image, Prediction)``, when
    given, returns the ``ImageExtra`` of each image's row (the object scores of ``seg_core.objects.scoring``).
    A class with no labelled pixel left while pixels were skipped is listed in ``hidden_classes`` with a
    sentence in ``warnings``: its score says nothing.
    """
    cfg = run.config
    split = cfg.get("split") or {}
    role = {s: "train" for s in split.get("train", [])} | {s: "validation" for s in split.get("val", [])}
    names = run.classes.names
    ds = scan_dataset(Path(data), len(run.classes), ignore_index, classes=run.classes, require_masks=require_masks,
                      mask_values=mask_values, fallback_unlabelled=cfg.get("ignore_index"),
                      fallback_source=f"the unlabelled value run {run.name} trained with",
                      unlabelled_source=unlabelled_source)
    if ds.errors:
        raise DatasetError(ds.errors)
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    n = len(run.classes)
    cm, held, n_held = Confusion(n), Confusion(n), 0
    ignored_pred = np.zeros(n, np.int64)  # skipped (unlabelled) pixels by the class predicted there
    per_image, secs, crf_secs = [], [], []
    for s in ds.labelled:
        image, mask = pred.read(s.image), ds.load_mask(s)
        p = pred.predict(image)
        c = cm.add(p.mask, mask)
        skipped = mask == IGNORE
        ignored_pred += np.bincount(p.mask[skipped].ravel().astype(np.int64), minlength=n)[:n]
        sc = scores(c, names)
        split_of = role.get(s.stem, "unseen")
        per_image.append(ImageScore(s.image.name, split_of, sc["miou"], sc["pixel_accuracy"], int(c.sum()),
                                    int(skipped.sum()), on_image(s.image, image, p) if on_image else None))
        if split_of != "train":
            held.matrix += c
            n_held += 1
        secs.append(p.seconds + p.crf_seconds)
        crf_secs.append(p.crf_seconds)
    overall = cm.scores(names)
    return Evaluation(
        **overall, images=len(per_image), seconds_per_image=float(np.mean(secs)) if secs else 0.0,
        crf=crf is not None, tta=tta, per_image=per_image,
        **_ignored_report(cm.matrix, ignored_pred, names, ds.reading, len(per_image), overall["per_class_iou"]),
        mask_values=ds.mask_rules, unlabelled_value=ds.ignore_index,
        held_out=HeldOut(**held.scores(names), images=n_held) if n_held else None,
        crf_seconds_per_image=(float(np.mean(crf_secs)) if crf_secs else 0.0) if crf is not None else None)


def _ignored_report(cm: np.ndarray, ignored_pred: np.ndarray, names: list[str], reading, images: int,
                    iou: dict) -> dict:
    """Counts of skipped pixels, and the classes whose every ground-truth pixel was skipped (hidden)."""
    labelled = cm.sum(1)
    total = int(ignored_pred.sum())
    hidden = [names[c] for c in range(len(names)) if labelled[c] == 0 and total > 0]
    warnings = []
    for name in hidden:
        c = names.index(name)
        v = iou.get(name)
        said = "undefined" if v is None else f"{v:.4f}"
        w = (f"class '{name}' has no labelled ground-truth pixel in the {images} scored image(s) while "
             f"{total} pixels were skipped as unlabelled (value {reading.unlabelled if reading else '?'}), "
             f"{int(ignored_pred[c])} of them predicted '{name}': its IoU ({said}) says nothing about how the "
             f"model finds '{name}'")
        if (reading is not None and reading.how == "auto" and not reading.binary and reading.num_classes == 2
                and reading.unlabelled == UNLABELLED and c == 1):
            w += f"; if {UNLABELLED} means '{name}' in these masks, pass {given(mask_values='binary')}"
        warnings.append(w)
    return {"ignored_pixels": total,
            "ignored_pixels_per_class": {nm: int(v) for nm, v in zip(names, ignored_pred)},
            "labelled_pixels_per_class": {nm: int(v) for nm, v in zip(names, labelled)},
            "hidden_classes": hidden, "warnings": warnings}


