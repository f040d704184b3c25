"""Scoring a model against ground-truth masks: a list of image/mask pairs, or a run on a labelled folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seg_core.infer.crf import CRFParams
from seg_core.data.dataset import DatasetError, scan_dataset
from seg_core.data.imageio import read_image
from seg_core.base.mask_values import IGNORE, MODE_FLAG, UNLABELLED
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


def evaluate_run(run: Run, data: Path, crf: CRFParams | None = None, tta: bool = False,
                 ignore_index: int | None = None, device: str = "auto", require_masks: bool = True,
                 mask_values: str = "auto", unlabelled_source: str = "--ignore-index", on_image=None) -> dict:
    """Score ``run`` on a labelled folder: dataset metrics plus one row per image.

    Each row's ``split`` says whether the run trained on that image ("train"), held it out for
    validation ("validation") or never saw it ("unseen"); ``held_out`` scores the last two together.

    The masks read by ``mask_values.decide_reading`` (``mask_values``: auto, index or binary): the
    unlabelled value is ``ignore_index`` when given, else the folder's classes.json's, else the run's;
    ``mask_values`` in the result states the reading. Unlabelled pixels are skipped and counted:
    ``ignored_pixels`` (in all and per image), ``ignored_pixels_per_class`` (by the class the model
    predicted there) and ``labelled_pixels_per_class``. ``on_image(image path, image, Prediction)``, when
    given, returns more fields for each image's row (the object scores of ``seg_core.objects.scoring``). A class with no labelled pixel left while pixels
    were skipped is listed in ``hidden_classes`` with a sentence in ``warnings``: its score says nothing.
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
        image, mask = read_image(s.image), ds.load_mask(s)
        p = pred.predict(image)
        c = cm.add(p.mask, mask)
        skipped = mask == IGNORE
        ignored_pred += np.bincount(p.mask[skipped].ravel().astype(np.int64), minlength=n)[:n]
        sc = scores(c, names)
        split_of = role.get(s.stem, "unseen")
        per_image.append({"image": s.image.name, "split": split_of, "miou": sc["miou"],
                          "pixel_accuracy": sc["pixel_accuracy"], "labelled_pixels": int(c.sum()),
                          "ignored_pixels": int(skipped.sum())} | (on_image(s.image, image, p) if on_image else {}))
        if split_of != "train":
            held.matrix += c
            n_held += 1
        secs.append(p.seconds + p.crf_seconds)
        crf_secs.append(p.crf_seconds)
    result = cm.scores(names)
    result.update(images=len(per_image), seconds_per_image=float(np.mean(secs)) if secs else 0.0,
                  crf=crf is not None, tta=tta, per_image=per_image)
    result.update(_ignored_report(cm.matrix, ignored_pred, names, ds.reading, len(per_image), result["per_class_iou"]))
    result["mask_values"] = ds.mask_rules
    result["unlabelled_value"] = ds.ignore_index
    if n_held:
        result["held_out"] = held.scores(names) | {"images": n_held}
    if crf is not None:
        result["crf_seconds_per_image"] = float(np.mean(crf_secs)) if crf_secs else 0.0
    return result


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
            w += f"; if {UNLABELLED} means '{name}' in these masks, pass {MODE_FLAG} binary"
        warnings.append(w)
    return {"ignored_pixels": total,
            "ignored_pixels_per_class": {nm: int(v) for nm, v in zip(names, ignored_pred)},
            "labelled_pixels_per_class": {nm: int(v) for nm, v in zip(names, labelled)},
            "hidden_classes": hidden, "warnings": warnings}


