"""Post-processing chosen by measurement: a run records whether CRF and flips helped on held-out images, and
prediction follows that choice unless the user overrides it."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from seg_core.infer.postprocess import Choice, MIN_GAIN, MIN_IMAGES, choose, measure, resolve
from seg_core.runs.folder import Run


class NoisyModel(torch.nn.Module):
    """Logits of 'red or not' from the image itself, plus fixed salt-and-pepper flips on a pattern that is not
    mirror-symmetric: a dense CRF (the colour edges say where the classes are) and flip averaging both clean
    it up. ``noise=0``: a perfect model that nothing can improve."""

    def __init__(self, noise: float):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.noise = noise

    def forward(self, x):
        red = (x[:, :1] > 0.5).float()
        g = torch.Generator().manual_seed(0)
        flip = (torch.rand(red.shape[-2:], generator=g) < self.noise).float()
        red = red * (1 - flip) + (1 - red) * flip
        return torch.cat([2 * (1 - red) - 1, 2 * red - 1], 1) * 1.5


def _pairs(n=3, size=64):
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(n):
        label = np.zeros((size, size), np.uint8)
        x0, y0 = rng.integers(5, 30, 2)
        label[y0:y0 + 25, x0:x0 + 25] = 1
        image = np.zeros((size, size, 3), np.uint8)
        image[..., 0] = 200 * label
        image[..., 2] = 120
        pairs.append((image, label))
    return pairs


def test_measure_chooses_what_cleans_up_a_noisy_model():
    m = measure(NoisyModel(0.15), _pairs(4), 2)
    assert m["images"] == 4 and set(m["miou"]) == {"plain", "tta", "crf", "crf+tta"}
    assert m["miou"]["crf"] > m["miou"]["plain"] + MIN_GAIN
    assert m["crf"] is True and m["chosen"] in ("crf", "crf+tta")
    assert m["reason"].startswith("the dense CRF") and "on 4 held-out images" in m["reason"]


def test_too_few_held_out_images_measure_but_never_choose():
    """Three held-out images that favour the CRF are scored and recorded, but the CRF stays off and flips on
    (the default): a choice needs MIN_IMAGES images (on 2 EM slices the CRF gained, on unseen ones it lost)."""
    m = measure(NoisyModel(0.15), _pairs(MIN_IMAGES - 1), 2)
    assert m["images"] == MIN_IMAGES - 1 and m["miou"]["crf"] > m["miou"]["plain"] + MIN_GAIN
    assert (m["crf"], m["tta"], m["chosen"]) == (False, True, "tta")
    assert m["reason"] == (f"flips on, CRF off: {MIN_IMAGES - 1} held-out images were too few to choose by (at "
                           f"least {MIN_IMAGES}; best was {max(m['miou'], key=m['miou'].get)} "
                           f"{max(m['gain'].values()):+.3f} mIoU)")


def test_measure_keeps_flips_and_no_crf_when_nothing_helps():
    m = measure(NoisyModel(0.0), _pairs(4), 2)
    assert m["miou"]["plain"] == 1.0 == m["miou"]["tta"]
    assert (m["crf"], m["tta"], m["chosen"]) == (False, True, "tta")
    assert m["reason"].startswith("flips on (TTA), CRF off: flips +0.000 mIoU on 4 held-out images; the CRF added")


def test_choice_needs_a_real_gain_and_prefers_the_simpler_variant():
    small = {"images": 4, "miou": {"plain": 0.5, "tta": 0.503, "crf": 0.501, "crf+tta": 0.507}}
    assert (choose(small).crf, choose(small).tta) == (False, True)  # the CRF adds 0.004 to flips: not enough
    tie = {"images": 4, "miou": {"plain": 0.5, "tta": 0.55, "crf": 0.52, "crf+tta": 0.55}}
    assert (choose(tie).crf, choose(tie).tta) == (False, True)
    gains = {"images": 4, "miou": {"plain": 0.5, "tta": 0.51, "crf": 0.52, "crf+tta": 0.53}}
    assert (choose(gains).crf, choose(gains).tta) == (True, True)
    assert choose(gains).reason == ("the dense CRF and flips (TTA): +0.030 mIoU on 4 held-out images "
                                    "(0.500 -> 0.530; flips +0.010)")
    assert choose(None) == Choice(False, True, "flips on, CRF off: not measured (no held-out images)")


def test_flips_go_off_only_when_enough_held_out_images_score_them_lower():
    lower = {"images": 4, "miou": {"plain": 0.5, "tta": 0.49, "crf": 0.502, "crf+tta": 0.49}}
    assert choose(lower) == Choice(False, False, "plain predictions: flips scored lower (flips -0.010 mIoU on 4 "
                                                 "held-out images); the CRF added +0.002 mIoU, under 0.005")
    crf_alone = dict(lower, miou=dict(lower["miou"], crf=0.52))
    assert (choose(crf_alone).crf, choose(crf_alone).tta) == (True, False)
    assert (choose(dict(lower, images=3)).crf, choose(dict(lower, images=3)).tta) == (False, True)


def test_user_override_wins_and_says_so():
    recorded = {"crf": True, "tta": False, "reason": "the dense CRF: +0.040 mIoU on 4 held-out images"}
    assert (resolve(recorded).crf, resolve(recorded).tta) == (True, False)
    c = resolve(recorded, crf=False)
    assert (c.crf, c.tta) == (False, False) and "set by you" in c.reason and "+0.040" in c.reason
    assert (resolve(None).crf, resolve(None).tta) == (False, True)


def test_training_records_the_measurement(tiny_run):
    """tiny_data has 6 pairs, so the run holds 1 out for validation: the finished run measured on it."""
    pp = Run(tiny_run.path).postprocess
    assert pp is not None and pp["images"] == 1
    assert set(pp["miou"]) == {"plain", "tta", "crf", "crf+tta"} and pp["chosen"] in pp["miou"]
    assert pp["reason"]


def test_cli_predict_follows_the_run_and_can_be_overridden(tiny_data, tiny_run, tmp_path):
    run = Run(tmp_path / "run")
    import shutil

    shutil.copytree(tiny_run.path, run.path)
    run.write_postprocess({"crf": True, "tta": True, "reason": "the dense CRF and flips (TTA): +0.050 mIoU"})

    def predict(*flags):
        out = tmp_path / ("out" + "".join(flags))
        r = subprocess.run([sys.executable, "-m", "seg_core", "predict", "--run", str(run.path), "--images",
                            str(tiny_data / "images"), "--out", str(out), *flags],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stderr

    assert "post-processing: the dense CRF and flips (TTA): +0.050 mIoU" in predict()
    said = predict("--no-crf", "--no-tta")
    assert "post-processing: CRF off, flips off (set by you; the run measured: the dense CRF" in said


def test_cli_evaluate_reports_what_it_applied(tiny_data, tiny_run):
    r = subprocess.run([sys.executable, "-m", "seg_core", "evaluate", "--run", str(tiny_run.path), "--data",
                        str(tiny_data), "--json", "--crf", "--no-tta"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["crf"] is True and res["tta"] is False and "crf_seconds_per_image" in res


def test_large_held_out_images_are_skipped_not_measured(monkeypatch):
    import seg_core.infer.postprocess as pp

    monkeypatch.setattr(pp, "MAX_PIXELS", 50 * 50)
    m = measure(NoisyModel(0.15), _pairs(), 2)  # 64x64 images: above the limit
    assert m["images"] == 0 and m["skipped_large"] == 3 and "not measured" in m["reason"]
