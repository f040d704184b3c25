"""``evaluate --instances DIR``: the pixel scores of ``evaluate_run`` and, beside them, how well the run's
objects match the true ones (label images in DIR, one id per object, named as the images)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from seg_core.infer.evaluation import Evaluation, evaluate_run
from seg_core.objects.folder import objects_of, read_instances
from seg_core.objects.matching import MATCH_IOU, Match, match_objects
from seg_core.objects.settings import ObjectSettings
from seg_core.runs.folder import Run


@dataclass(frozen=True)
class ObjectScores:
    """The folder's objects against the true ones: object F1 at IoU ``iou_threshold`` (matches summed over
    images), mean matched IoU, median and mean count error (None without true objects), both counts, and the
    objects' settings used."""

    object_f1: float
    matched_iou: float | None
    median_count_error: float | None
    mean_count_error: float | None
    objects_true: int
    objects_predicted: int
    iou_threshold: float
    settings: ObjectSettings

    def to_json(self) -> dict:
        return {"object_f1": self.object_f1, "matched_iou": self.matched_iou,
                "median_count_error": self.median_count_error, "mean_count_error": self.mean_count_error,
                "objects_true": self.objects_true, "objects_predicted": self.objects_predicted,
                "iou_threshold": self.iou_threshold, "settings": self.settings.to_json()}


@dataclass(frozen=True)
class ObjectEvaluation(Evaluation):
    """``evaluate_run``'s Evaluation, each image's row with its ``Match`` (``extra``), and the folder's objects."""

    objects: ObjectScores | None = None

    def to_json(self) -> dict:
        return super().to_json() | ({"objects": self.objects.to_json()} if self.objects is not None else {})


def evaluate_objects(run: Run, data: Path, instances: Path, settings: ObjectSettings = ObjectSettings(),
                     **kwargs) -> ObjectEvaluation:
    """``evaluate_run(run, data, **kwargs)`` with, per image, the objects matched (``ImageScore.extra``: a
    ``Match``: its row adds ``objects_true``, ``objects_predicted``, ``object_f1``, ``matched_iou``,
    ``count_error``), and ``objects``: the folder's ``ObjectScores``."""
    instances = Path(instances)
    if not instances.is_dir():
        raise FileNotFoundError(f"{instances}: no such folder of label images")
    total = Match(0, 0, 0, [], 0, 0)
    n = len(run.classes)

    def score(path: Path, image, prediction) -> dict:
        nonlocal total
        true = read_instances(instances, path.stem)
        if true.shape != prediction.mask.shape:
            raise ValueError(f"{instances / path.stem}: the label image is {true.shape[1]}x{true.shape[0]}, "
                             f"{path.name} {prediction.mask.shape[1]}x{prediction.mask.shape[0]}")
        m = match_objects(objects_of(prediction, settings, n).labels, true)
        total += m
        return m

    res = evaluate_run(run, Path(data), on_image=score, **kwargs)
    errors = [r.extra.count_error for r in res.per_image if r.extra.count_error is not None]
    objects = ObjectScores(total.f1, total.mean_iou, float(np.median(errors)) if errors else None,
                           float(np.mean(errors)) if errors else None, total.true, total.predicted, MATCH_IOU,
                           settings)
    return ObjectEvaluation(**{f.name: getattr(res, f.name) for f in fields(res)}, objects=objects)
