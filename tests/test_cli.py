"""The command line: train, evaluate, predict and their errors, through real subprocesses."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from seg_core import Run

from conftest import ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_train_evaluate_predict(tiny_data, tmp_path):
    run = tmp_path / "run"
    res = cli("train", "--data", str(tiny_data), "--out", str(run), "--epochs", "3", "--img-size", "64x64",
              "--freeze-depth", "3", "--unfreeze-after", "1", "--loss", "focal", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "unfroze the encoder" in res.stdout and "run saved to" in res.stdout
    hist = Run(run).history()
    assert hist[0]["trainable_params"] < hist[-1]["trainable_params"]  # unfreezing added parameters

    res = cli("evaluate", "--run", str(run), "--data", str(tiny_data), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"miou", "per_class_iou", "dice", "pixel_accuracy", "images", "seconds_per_image"} <= set(out)
    assert out["images"] == 6 and 0 <= out["miou"] <= 1 and set(out["per_class_iou"]) == {"background", "cell", "nucleus"}
    val_stems = Run(run).config["split"]["val"]  # held out automatically: scored apart from the training images
    assert len(val_stems) == 1 and out["held_out"]["images"] == 1
    assert {Path(r["image"]).stem for r in out["per_image"] if r["split"] == "validation"} == set(val_stems)

    res = cli("predict", "--run", str(run), "--images", str(tiny_data / "images"), "--out", str(tmp_path / "pred"),
              "--crf", "--tta")
    assert res.returncode == 0, res.stderr
    assert "6/6" in res.stdout  # progress, one line per image
    masks = sorted((tmp_path / "pred" / "masks").glob("*.png"))
    assert len(masks) == 6 and len(list((tmp_path / "pred" / "overlays").glob("*.png"))) == 6
    m = np.array(Image.open(masks[0]))
    assert m.shape == (64, 64) and set(np.unique(m).tolist()) <= {0, 1, 2}


def test_cli_errors_name_the_flag_and_the_setting(tiny_data, tmp_path):
    res = cli("train", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--img-size", "100x64")
    assert res.returncode == 2
    assert "error: --img-size: Training crop: sides must be positive multiples of 32" in res.stderr
    res = cli("train", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--class-weights", "1,2")
    assert res.returncode == 2 and "--class-weights: Class weights: 2 values given for 3 classes" in res.stderr
    assert not (tmp_path / "r" / "model.safetensors").exists()


def test_cli_defaults_come_from_the_dataclasses():
    from seg_core.cli import parser
    from seg_core.train_config import TrainConfig

    args = parser().parse_args(["train", "--data", "d", "--out", "o"])
    d = TrainConfig(data="d", out="o")
    for name in ("backbone", "arch", "weights", "freeze_depth", "unfreeze_after", "loss", "class_weights", "lr",
                 "batch_size", "seed", "precision", "device"):
        assert getattr(args, name) == getattr(d, name), name
    assert args.rotate == d.augment.rotate
