"""Scoring a model against ground-truth masks: a list of image/mask pairs, or a run on a labelled folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .crf import CRFParams
from .dataset import DatasetError, scan_dataset
from .imageio import read_image
from .metrics import confusion, scores
from .predictor import Predictor
from .runs import Run
from .sliding_window import predict_probs


def evaluate_pairs(model, pairs, num_classes: int, amp_dtype=None, tta: bool = False) -> dict:
    """Dataset scores of ``model`` over (image, label mask) pairs held in memory (validation)."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    model.eval()
    for image, mask in pairs:
        pred = predict_probs(model, image, tta=tta, amp_dtype=amp_dtype).argmax(0)
        cm += confusion(pred, mask, num_classes)
    return scores(cm)


def evaluate_run(run: Run, data: Path, crf: CRFParams | None = None, tta: bool = False,
                 ignore_index: int | None = None, device: str = "auto", require_masks: bool = True) -> dict:
    """Score ``run`` on a labelled folder: dataset metrics plus one row per image.

    Each row's ``split`` says whether the run trained on that image ("train"), held it out for
    validation ("validation") or never saw it ("unseen"); ``held_out`` scores the last two together.
    """
    cfg = run.config
    split = cfg.get("split") or {}
    role = {s: "train" for s in split.get("train", [])} | {s: "validation" for s in split.get("val", [])}
    if ignore_index is None:
        ignore_index = cfg.get("ignore_index")
    ds = scan_dataset(Path(data), len(run.classes), ignore_index, classes=run.classes, require_masks=require_masks)
    if ds.errors:
        raise DatasetError(ds.errors)
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    n = len(run.classes)
    cm = np.zeros((n, n), np.int64)
    held, n_held = np.zeros((n, n), np.int64), 0
    per_image, secs, crf_secs = [], [], []
    for s in ds.labelled:
        image, mask = read_image(s.image), ds.load_mask(s)
        p = pred.predict(image)
        c = confusion(p.mask, mask, n)
        cm += c
        sc = scores(c, run.classes.names)
        split_of = role.get(s.stem, "unseen")
        per_image.append({"image": s.image.name, "split": split_of, "miou": sc["miou"],
                          "pixel_accuracy": sc["pixel_accuracy"]})
        if split_of != "train":
            held += c
            n_held += 1
        secs.append(p.seconds + p.crf_seconds)
        crf_secs.append(p.crf_seconds)
    result = scores(cm, run.classes.names)
    result.update(images=len(per_image), seconds_per_image=float(np.mean(secs)) if secs else 0.0,
                  crf=crf is not None, tta=tta, per_image=per_image)
    if n_held:
        result["held_out"] = scores(held, run.classes.names) | {"images": n_held}
    if crf is not None:
        result["crf_seconds_per_image"] = float(np.mean(crf_secs)) if crf_secs else 0.0
    return result


