"""Training through the library and the command line: run folders, metrics, cancel, repeatability."""
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_core import REGISTRY, JobRefused, Run, TrainConfig, train
from seg_core.losses import LOSSES, build_loss
from seg_core.metrics import confusion, scores

from conftest import ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)


def test_run_folder_holds_everything_and_reloads(tiny_run, tiny_data):
    files = {p.name for p in tiny_run.path.iterdir()}
    assert {"config.json", "history.csv", "model.safetensors", "classes.json", "status.json"} <= files
    cfg = tiny_run.config
    assert cfg["num_classes"] == 3 and cfg["class_names"] == ["background", "cell", "nucleus"]
    assert len(cfg["split"]["val"]) >= 1  # a validation split was held out automatically
    hist = tiny_run.history()
    assert len(hist) == 2 and hist[-1]["val_miou"] is not None and hist[0]["trainable_params"] > 0
    model = Run(tiny_run.path).load_model()
    assert model(__import__("torch").rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)


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
    masks = sorted((tmp_path / "pred" / "masks").glob("*.png"))
    assert len(masks) == 6 and len(list((tmp_path / "pred" / "overlays").glob("*.png"))) == 6
    m = np.array(Image.open(masks[0]))
    assert m.shape == (64, 64) and set(np.unique(m).tolist()) <= {0, 1, 2}


def test_training_learns_the_sample(tiny_data, tmp_path):
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=12, img_size=(64, 64),
                            val_fraction=0, val_interval_s=0))
    from seg_core import evaluate_run

    res = evaluate_run(run, tiny_data)
    assert res["pixel_accuracy"] > 0.85 and res["per_class_iou"]["cell"] > 0.3


def test_cancel_stops_within_a_step_and_keeps_a_checkpoint(tiny_data, tmp_path):
    stop = threading.Event()
    steps = []

    def progress(info):
        if info["event"] == "step":
            steps.append(info["step"])
            stop.set()

    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=50, img_size=(64, 64)), progress, stop)
    assert run.status["state"] == "cancelled" and steps == [1]
    assert run.has_checkpoint


def test_same_seed_same_run(tiny_data, tmp_path):
    kw = dict(data=str(tiny_data), epochs=2, img_size=(64, 64), precision="fp32", seed=3, val_interval_s=0)
    a = train(TrainConfig(out=str(tmp_path / "a"), **kw)).history()
    b = train(TrainConfig(out=str(tmp_path / "b"), **kw)).history()
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]


def test_job_registry_refuses_a_second_job_and_reports_errors(tiny_data, tmp_path):
    gate = threading.Event()
    job = REGISTRY.start("train", "first", lambda progress, stop: gate.wait(10))
    with pytest.raises(JobRefused, match="'first' is still running"):
        REGISTRY.start("train", "second", lambda p, s: None)
    gate.set()
    job.wait(10)
    bad = REGISTRY.start("train", "broken", lambda p, s: train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "r")), p, s))
    bad.wait(30)
    snap = bad.snapshot()
    assert snap["state"] == "failed" and "DatasetError" in snap["error"] and "no images/ folder" in snap["error"]


def test_losses_skip_ignored_pixels():
    import torch

    logits = torch.randn(1, 3, 8, 8)
    target = torch.randint(0, 3, (1, 8, 8))
    target[:, :4] = 255
    for name in LOSSES:
        fn = build_loss(name, torch.tensor([1.0, 2.0, 3.0]) if name in ("ce", "focal") else None)
        other = logits.clone()
        other[..., :4, :] = torch.randn(1, 3, 4, 8) * 10  # change only ignored pixels
        assert torch.allclose(fn(logits, target), fn(other, target)), name


def test_dice_matches_smp_dice_loss():
    """Our gather-based Dice equals smp's one-hot DiceLoss in value and gradient (absent class included)."""
    import segmentation_models_pytorch as smp
    import torch

    logits = torch.randn(2, 5, 16, 20, requires_grad=True)
    target = torch.randint(0, 4, (2, 16, 20))  # class 4 absent
    target[:, :3] = 255
    ours, ref = build_loss("dice")(logits, target), smp.losses.DiceLoss("multiclass", ignore_index=255)(logits, target)
    assert torch.allclose(ours, ref, atol=1e-6)
    g1, = torch.autograd.grad(ours, logits)
    g2, = torch.autograd.grad(ref, logits)
    assert torch.allclose(g1, g2, atol=1e-7)


def test_metrics_from_confusion():
    pred = np.array([[0, 0, 1, 1]])
    true = np.array([[0, 1, 1, 255]])
    s = scores(confusion(pred, true, 2), ["a", "b"])
    assert s["per_class_iou"] == {"a": 0.5, "b": 0.5} and s["pixel_accuracy"] == pytest.approx(2 / 3)


def test_crops_as_large_as_the_image_are_never_padded():
    """Zooming out is limited so the crop stays inside the image: no unlabelled border to train on."""
    from seg_core.augment import AugmentConfig, random_crop

    rng = np.random.default_rng(0)
    image, mask = np.zeros((40, 60, 3), np.uint8), np.ones((40, 60), np.uint8)
    for _ in range(30):
        _, m = random_crop(image, mask, (32, 60), AugmentConfig(rotate=0, scale=(0.5, 1.5)), rng)
        assert m.shape == (32, 60) and not (m == 255).any()
    small = [random_crop(image, mask, (16, 16), AugmentConfig(rotate=0, scale=(0.5, 0.5)), rng)[1] for _ in range(5)]
    assert all((m == 1).all() for m in small)  # zoomed out 2x, still inside the 40x60 image


def test_balanced_class_weights_favour_rare_classes(tiny_data):
    from seg_core import scan_dataset
    from seg_core.train import balanced_weights

    ds = scan_dataset(tiny_data)
    counts = sum(ds.class_pixels.values())
    w = balanced_weights(ds, [s.stem for s in ds.labelled])
    rare, common = int(np.argmin(counts)), int(np.argmax(counts))
    assert w[rare] > 1 > w[common]
    assert balanced_weights(ds, []) == [1.0, 1.0, 1.0]  # nothing to count: no weighting
