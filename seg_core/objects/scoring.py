"""``evaluate --instances DIR``: the pixel scores of ``evaluate_run`` and, beside them, how well the run's
objects match the true ones (label images in DIR, one id per object, named as the images)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seg_core.infer.evaluation import evaluate_run
from seg_core.objects.folder import objects_of, read_instances
from seg_core.objects.matching import Match, match_objects
from seg_core.objects.settings import ObjectSettings
from seg_core.runs.folder import Run


def evaluate_objects(run: Run, data: Path, instances: Path, settings: ObjectSettings = ObjectSettings(),
                     **kwargs) -> dict:
    """``evaluate_run(run, data, **kwargs)`` with, per image, ``objects_true``, ``objects_predicted``,
    ``object_f1``, ``matched_iou``, ``count_error``, and ``objects``: the folder's object F1 at IoU 0.5 (matches
    summed over images), mean matched IoU, median and mean count error, the settings used."""
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
        return m.row()

    res = evaluate_run(run, Path(data), on_image=score, **kwargs)
    errors = [r["count_error"] for r in res["per_image"] if r.get("count_error") is not None]
    res["objects"] = {"object_f1": total.f1, "matched_iou": total.mean_iou,
                      "median_count_error": float(np.median(errors)) if errors else None,
                      "mean_count_error": float(np.mean(errors)) if errors else None,
                      "objects_true": total.true, "objects_predicted": total.predicted,
                      "iou_threshold": 0.5, "settings": settings.to_json()}
    return res
