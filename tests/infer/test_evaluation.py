"""``evaluate_run``'s result: typed fields, and ``to_json()``, the one JSON object ``evaluate --json`` prints
(its keys and their order are the command line's interface)."""
import json

import numpy as np
from PIL import Image
from skimage.measure import label

from seg_core import evaluate_run
from seg_core.infer.crf import CRFParams
from seg_core.objects.scoring import evaluate_objects

from helpers import cli

SCORES = ["miou", "dice", "pixel_accuracy", "per_class_iou", "per_class_dice"]
TOP = SCORES + ["images", "seconds_per_image", "crf", "tta", "per_image", "ignored_pixels", "ignored_pixels_per_class",
                "labelled_pixels_per_class", "hidden_classes", "warnings", "mask_values", "unlabelled_value"]
ROW = ["image", "split", "miou", "pixel_accuracy", "labelled_pixels", "ignored_pixels"]
TIMES = ("seconds_per_image", "crf_seconds_per_image")


def _without_times(out: dict) -> dict:
    return {k: v for k, v in out.items() if k not in TIMES}


def test_evaluation_fields_and_json_keys(tiny_run, tiny_data):
    ev = evaluate_run(tiny_run, tiny_data)
    out = ev.to_json()
    assert list(out) == TOP + ["held_out"]  # held-out images: their scores last; no CRF: no CRF time
    assert all(list(r) == ROW for r in out["per_image"])
    assert list(out["held_out"]) == SCORES + ["images"]
    assert list(out["per_class_iou"]) == list(out["per_class_dice"]) == ["background", "cell", "nucleus"]
    # the fields are what the JSON says
    assert (ev.miou, ev.images, ev.crf, ev.tta) == (out["miou"], 6, False, False) and ev.unlabelled_value is None
    held = [r for r in ev.per_image if r.split != "train"]
    assert held and ev.held_out.images == len(held) == out["held_out"]["images"]
    assert [r.image for r in ev.per_image] == [r["image"] for r in out["per_image"]]
    assert sum(r.labelled_pixels for r in ev.per_image) == 6 * 64 * 64 and ev.ignored_pixels == 0
    assert json.loads(json.dumps(out)) == out  # plain JSON values only

    res = cli("evaluate", "--run", str(tiny_run.path), "--data", str(tiny_data), "--json", "--no-crf", "--no-tta")
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    assert list(printed) == list(out) and _without_times(printed) == _without_times(out)

    with_crf = evaluate_run(tiny_run, tiny_data, crf=CRFParams(iterations=1), tta=True).to_json()
    assert list(with_crf) == TOP + ["held_out", "crf_seconds_per_image"]
    assert with_crf["crf"] is True and with_crf["tta"] is True and with_crf["crf_seconds_per_image"] >= 0


def test_object_evaluation_adds_the_objects_to_each_row_and_at_the_end(tiny_run, tiny_data, tmp_path):
    truth = tmp_path / "instances"
    truth.mkdir()
    for p in sorted((tiny_data / "masks").iterdir()):  # one id per connected region of the cells
        Image.fromarray(label(np.asarray(Image.open(p)) == 1, connectivity=1).astype(np.uint16)).save(truth / p.name)
    ev = evaluate_objects(tiny_run, tiny_data, truth)
    out = ev.to_json()
    assert list(out) == TOP + ["held_out", "objects"]
    assert all(list(r) == ROW + ["objects_true", "objects_predicted", "object_f1", "matched_iou", "count_error"]
               for r in out["per_image"])
    assert list(out["objects"]) == ["object_f1", "matched_iou", "median_count_error", "mean_count_error",
                                    "objects_true", "objects_predicted", "iou_threshold", "settings"]
    assert ev.objects.objects_true == sum(r.extra.true for r in ev.per_image) == out["objects"]["objects_true"] > 0
    assert out["objects"]["settings"] == ev.objects.settings.to_json()
