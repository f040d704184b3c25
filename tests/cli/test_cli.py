"""The command line: train, evaluate, predict and their errors, through real subprocesses."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import numpy as np
from PIL import Image

from seg_core import Run

from conftest import ROOT
from helpers import COPIES, cli, interrupted_on_copies


def test_cli_train_evaluate_predict(tiny_data, tmp_path):
    run = tmp_path / "run"
    res = cli("train", "--data", str(tiny_data), "--out", str(run), "--epochs", "3", "--img-size", "64x64",
              "--freeze-depth", "3", "--unfreeze-after", "1", "--loss", "focal", "--no-even-colours", "--quiet")
    assert res.returncode == 0, res.stderr
    cfg = Run(run).config  # trained on the images as they are: predicted on them as they are
    assert cfg["even_colours"] is False and cfg["colour_reference"] is None
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
    assert res.stderr.splitlines()[-1].startswith("  6/6 images predicted · ")  # progress counts on stderr
    assert res.stdout.splitlines()[-1].startswith("wrote 6 masks to ")
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
    from seg_core.cli.parser import parser
    from seg_core.runs.config import TrainConfig

    args = parser().parse_args(["train", "--data", "d", "--out", "o"])
    d = TrainConfig(data="d", out="o")
    for name in ("backbone", "arch", "weights", "freeze_depth", "unfreeze_after", "loss", "class_weights", "lr",
                 "batch_size", "seed", "precision", "device", "mask_values"):
        assert getattr(args, name) == getattr(d, name), name
    assert args.rotate == d.augment.rotate


def test_cli_train_has_a_flag_for_every_setting_declared_with_one():
    """A setting declared in TrainConfig gets its train flag (type, choices, default) there: nothing to add here."""
    import argparse

    from seg_core.cli.parser import parser, setting_values
    from seg_core.runs.config import SETTINGS, TrainConfig, build_config

    ap = parser()
    train = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    flags = {o for a in train._actions for o in a.option_strings}
    assert {s.cli_flag for s in SETTINGS.values() if s.flag} <= flags
    args = ap.parse_args(["train", "--data", "d", "--out", "o", "--epochs", "4", "--lr", "0.01", "--img-size", "64x64",
                          "--ema", "--precision", "fp32"])
    cfg = build_config(setting_values(args))
    assert cfg == TrainConfig(data="d", out="o", epochs=4, lr=0.01, img_size=(64, 64), ema=True, precision="fp32")
    assert build_config(setting_values(ap.parse_args(["train", "--data", "d", "--out", "o"]))).even_colours is True
    off = ap.parse_args(["train", "--data", "d", "--out", "o", "--no-even-colours"])
    assert build_config(setting_values(off)) == TrainConfig(data="d", out="o", even_colours=False)
    # the weights' moving average is on unless turned off (measured: docs/training.md)
    assert build_config(setting_values(ap.parse_args(["train", "--data", "d", "--out", "o"]))).ema is True
    no_ema = build_config(setting_values(ap.parse_args(["train", "--data", "d", "--out", "o", "--no-ema"])))
    assert no_ema.ema is False and TrainConfig(data="d", out="o").ema is True
    # which way up: measured by default, or said (orientation.py)
    assert TrainConfig(data="d", out="o").orientation == "measure"
    turned = ap.parse_args(["train", "--data", "d", "--out", "o", "--orientation", "any"])
    assert build_config(setting_values(turned)).orientation == "any"
    with pytest.raises(Exception) as err:
        TrainConfig(data="d", out="o", orientation="sideways").validate()
    assert "Orientation" in str(err.value) and "upright" in str(err.value)


def test_cli_import_prints_one_line_per_file_and_exits_by_what_was_imported(tmp_path):
    import io
    import zipfile

    def png(arr):
        b = io.BytesIO()
        Image.fromarray(arr).save(b, format="PNG")
        return b.getvalue()

    src = tmp_path / "src"
    (src / "masks").mkdir(parents=True)
    (src / "细胞.png").write_bytes(png(np.zeros((8, 8, 3), np.uint8)))
    (src / "ядро.png").write_bytes(png(np.ones((8, 8, 3), np.uint8)))
    (src / "masks" / "细胞.png").write_bytes(png(np.ones((8, 8), np.uint8)))
    (src / "broken.png").write_bytes(b"not a png")
    with zipfile.ZipFile(src / "set.zip", "w") as z:
        z.writestr("images/细胞.png", png(np.full((8, 8, 3), 9, np.uint8)))  # the same name, other content
        z.writestr("../escape.png", png(np.zeros((4, 4, 3), np.uint8)))
    ws = tmp_path / "ws"
    files = [str(src / n) for n in ("细胞.png", "ядро.png", "masks/细胞.png", "broken.png", "set.zip", "nothere.png")]
    res = cli("import", "--workspace", str(ws), *files)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"{src}/细胞.png: imported as 细胞",
        f"{src}/ядро.png: imported as ядро",
        f"{src}/masks/细胞.png: imported as 细胞 (mask)",
        f"{src}/broken.png: refused: cannot read image: not an image in a format we read, or the file is corrupt",
        f"{src}/set.zip: 细胞.png: renamed to 细胞_2; another file in this upload is named '细胞'",
        f"{src}/set.zip: ../escape.png: refused: its path inside the zip is absolute or climbs out with '..'; such "
        "files are never extracted (zip the files with plain relative paths)",
        f"{src}/nothere.png: refused: file not found"]
    assert sorted(p.name for p in (ws / "data" / "images").iterdir()) == ["ядро.png", "细胞.png", "细胞_2.png"]
    assert not (tmp_path / "escape.png").exists()

    res = cli("import", "--workspace", str(ws), "--json", str(src / "细胞.png"), str(src / "broken.png"))
    assert res.returncode == 1  # nothing imported: all refused
    out = json.loads(res.stdout)
    assert out == {"files": [
        {"file": f"{src}/细胞.png", "status": "refused", "name": None, "kind": "image",
         "reason": "identical to 细胞.png, already in the workspace"},
        {"file": f"{src}/broken.png", "status": "refused", "name": None, "kind": "image",
         "reason": "cannot read image: not an image in a format we read, or the file is corrupt"}],
        "imported": 0, "renamed": 0, "refused": 2}

    (src / "masks" / "ядро.png").write_bytes(png(np.full((8, 8), 1, np.uint8)))  # 2 classes: a new workspace's
    res = cli("import", "--workspace", str(ws), "--json", str(src / "masks" / "细胞.png"), str(src / "masks" / "ядро.png"))
    out = json.loads(res.stdout)
    assert res.returncode == 0 and [f["status"] for f in out["files"]] == ["refused", "imported"]
    assert "'细胞' already has a mask; to replace it" in out["files"][0]["reason"]
    res = cli("import", "--workspace", str(ws), "--replace", str(src / "masks" / "ядро.png"))
    assert res.returncode == 0 and "imported as ядро (mask); replaced the old mask (now in trash/" in res.stdout


def test_cli_train_refuses_a_crop_and_batch_over_the_limit(tiny_data, tmp_path):
    res = cli("train", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--img-size", "1024x1024",
              "--batch-size", "8")
    assert res.returncode == 2
    assert ("error: --img-size: Training crop: 1024x1024 x a batch of 8 = 8.4 megapixels per step, more than the "
            "limit of 4.2 megapixels") in res.stderr and "SEG_CORE_MAX_TRAIN_PIXELS" in res.stderr


def test_cli_trains_on_the_apps_data_folder_with_unlabelled_images(tmp_path):
    """The app's workspace holds images nobody labelled yet: train --data WS/data skips them, no flags."""
    from seg_core import Workspace

    ws = Workspace(tmp_path / "ws")  # the sample: 10 labelled images and 2 without a mask
    res = cli("train", "--data", str(ws.data_dir), "--out", str(tmp_path / "r"), "--epochs", "1", "--img-size", "64x64",
              "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "tissue_10.png: no mask in masks/ (not labelled yet)" not in res.stderr
    run = Run(tmp_path / "r")
    assert run.has_checkpoint and "tissue_10" not in run.config["split"]["train"] + run.config["split"]["val"]
    res = cli("validate", "--data", str(ws.data_dir))
    assert res.returncode == 0 and "WARNING: tissue_10.png: no mask in masks/ (not labelled yet)" in res.stdout


def test_cli_no_longer_learns_from_unlabelled_images(tiny_data, tmp_path):
    res = cli("train", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--unlabelled", str(tiny_data))
    assert res.returncode == 2 and "unrecognized arguments: --unlabelled" in res.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("model", ["--run", "--model"])
def test_cli_predict_ctrl_c_keeps_the_masks_written_and_says_how_many(model, tiny_run, tiny_data, tmp_path, request):
    n = COPIES
    given = tiny_run.path if model == "--run" else request.getfixturevalue("tiny_onnx")
    out, kept, lines, stdout = interrupted_on_copies("predict", "predicted", "masks", given,
                                                     sorted((tiny_data / "images").iterdir())[0], tmp_path, model)
    assert 0 < len(kept) < n and kept == [f"im{i:03d}.png" for i in range(len(kept))]  # whole files, in order
    assert lines[-1] == (f"cancelled after {len(kept)} of {n} images: the {len(kept)} mask(s) written are kept in "
                         f"{out / 'masks'}; {n - len(kept)} not predicted")
    assert "wrote" not in stdout


def test_cli_train_reads_its_settings_from_a_file(tiny_run, tmp_path):
    """train --config: every setting from a JSON file (here a run's config.json: its recipe again), --out
    overriding it; a missing or damaged file and a missing --data/--out are named."""
    res = cli("train", "--config", str(tiny_run.path / "config.json"), "--out", str(tmp_path / "again"),
              "--num-workers", "5")  # other flags are not read with --config
    assert res.returncode == 0, res.stderr
    again = Run(tmp_path / "again")
    assert again.config["epochs"] == tiny_run.config["epochs"] == 2 and again.config["img_size"] == [64, 64]
    assert again.config["num_workers"] == 0 and again.status["state"] == "done"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = cli("train", "--config", str(bad))
    assert res.returncode == 2 and f"error: {bad}: not valid JSON" in res.stderr
    res = cli("train", "--data", "somewhere")
    assert res.returncode == 2 and "train needs --data and --out (or --config FILE)" in res.stderr
    res = cli("train", "--data", str(tiny_run.path), "--out", str(tmp_path / "w"), "--num-workers", "-1")
    assert res.returncode == 2 and "--num-workers: Data loading processes: must be 0" in res.stderr


def test_cli_predicts_with_the_onnx_file_alone_without_torch_as_the_run_does(tiny_run, tiny_onnx, tiny_data, tmp_path):
    code = ("import sys; from seg_core.cli import main; rc = main(sys.argv[1:]); "
            "print('torch loaded' if 'torch' in sys.modules else 'torch not loaded'); sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, "predict", "--model", str(tiny_onnx), "--images",
                          str(tiny_data / "images"), "--out", str(tmp_path / "onnx")], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"wrote 6 masks to {tmp_path / 'onnx' / 'masks'} and overlays to "
                                       f"{tmp_path / 'onnx' / 'overlays'}", "torch not loaded"]
    assert res.stderr.splitlines()[0].startswith("post-processing: ")  # as the run measured, said the same way
    assert res.stderr.splitlines()[-1].startswith("  6/6 images predicted · ")
    assert cli("predict", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out",
               str(tmp_path / "run")).returncode == 0
    for by_run in sorted((tmp_path / "run" / "masks").glob("*.png")):
        a, b = Image.open(by_run), Image.open(tmp_path / "onnx" / "masks" / by_run.name)
        assert b.mode == "P" and b.getpalette() == a.getpalette()  # the classes' colours
        assert (np.asarray(a) == np.asarray(b)).mean() >= 0.995

    (tmp_path / "notes.onnx").write_text("not a model")
    res = cli("predict", "--model", str(tmp_path / "notes.onnx"), "--images", str(tiny_data / "images"), "--out",
              str(tmp_path / "x"))
    assert res.returncode == 2 and f"error: {tmp_path / 'notes.onnx'}: cannot be loaded as an ONNX model" in res.stderr
    res = cli("predict", "--run", str(tiny_run.path), "--model", str(tiny_onnx), "--images", "i", "--out", "o")
    assert res.returncode == 2 and "not allowed with argument" in res.stderr
