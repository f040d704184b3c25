"""One meaning for mask values (mask_values.py): the app's saved folder, validate, train and evaluate read
a mask the same way, settle ambiguous values by a stated rule or refuse naming the file and the flag, and
evaluate never hides a class whose every ground-truth pixel was unlabelled."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from seg_core import Run, Workspace
from seg_core.base.classes import ClassList
from seg_core.base.mask_values import IGNORE, UNLABELLED, MaskReading, MaskValueError, decide_reading
from seg_core.cli.output import flags

from conftest import ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)


# -- the decider ----------------------------------------------------------------------------------------
def test_rules_of_decide_reading():
    z = {"a.png": np.array([0, 255]), "b.png": np.array([0])}
    r, probs = decide_reading(z)  # nothing says 255 is unlabelled: binary masks
    assert r.binary and r.num_classes == 2 and not probs
    assert r.labels(np.array([[0, 255]]), "a.png").tolist() == [[0, 1]]
    r, probs = decide_reading(z, unlabelled=255, source="--ignore-index")  # the collision: refused
    assert probs[0][2] == "error" and probs[0][1].startswith("a.png holds only 0 and 255")
    assert "--" not in probs[0][1].replace("(--ignore-index)", "")  # the engine names settings, not flags
    assert "--mask-values binary (255 is class 1) or --mask-values index (255 is unlabelled)" in flags(probs[0][1])
    r, probs = decide_reading(z, unlabelled=255, source="classes.json", stated=True)  # the folder says so
    assert not r.binary and r.labels(np.array([[0, 255]])).tolist() == [[0, IGNORE]]
    assert [p[2] for p in probs] == ["warning"]
    r, probs = decide_reading(z, num_classes=3, unlabelled=255, source="the run")  # 3 classes: not binary
    assert not probs and r.num_classes == 3 and r.labels(np.array([[0, 255]])).tolist() == [[0, IGNORE]]
    r, _ = decide_reading({"a.png": np.array([0, 1, 255])}, mode="binary")
    assert r.labels(np.array([[0, 1, 255]])).tolist() == [[0, 1, 1]]
    assert decide_reading({"a.png": np.array([3, 11])}, unlabelled=11, source="--ignore-index")[0].num_classes == 4
    with pytest.raises(ValueError, match="mask_values must be one of auto, index, binary"):
        decide_reading(z, mode="guess")


def test_labels_refuse_values_outside_the_classes_naming_file_and_values():
    r = MaskReading(3, UNLABELLED)
    assert r.labels(np.array([[0, 2, 255]]), "m.png").tolist() == [[0, 2, IGNORE]]
    for raw, shown in (([-1, 0], "[-1]"), ([1e10, 1], "[10000000000]"), ([300, 2], "[300]"), ([3, 254], "[3, 254]")):
        with pytest.raises(MaskValueError) as err:
            r.labels(np.array([raw], np.float64 if isinstance(raw[0], float) else np.int64), "m.tif")
        assert str(err.value) == f"m.tif: values {shown} are not classes 0..2 nor the unlabelled value 255"
    hint = MaskReading(2).problem(np.array([255]))
    assert "put \"unlabelled\": 255 in classes.json or pass --ignore-index 255" in flags(hint)


def test_classes_json_carries_the_unlabelled_value(tmp_path):
    ClassList(["bg", "fg"], ignore_index=255).save(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["unlabelled"] == 255
    ClassList(["bg", "fg"]).save(tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text())["unlabelled"] is None
    assert ClassList.from_json({"names": ["a", "b"], "ignore_index": 11}).unlabelled == 11  # the older key
    (tmp_path / "bad.json").write_text(json.dumps({"names": ["a", "b"], "unlabelled": "void"}))
    with pytest.raises(ValueError, match="bad.json: not a valid classes.json .*\"unlabelled\" must be a whole number"):
        ClassList.load(tmp_path / "bad.json")


# -- the app's folder, from the command line ----------------------------------------------------------------
@pytest.fixture(scope="module")
def app_ws(tiny_data, tmp_path_factory):
    """A 2-class workspace painted in the app's way: 255 where nobody painted; one mask has only background."""
    ws = Workspace(tmp_path_factory.mktemp("appws") / "ws", seed_sample=False)
    assert json.loads((ws.data_dir / "classes.json").read_text())["unlabelled"] == 255  # written at once
    for i, img in enumerate(sorted((tiny_data / "images").glob("*.png"))):
        ws.add_image(img.name, img.read_bytes())
        fg = (np.array(Image.open(tiny_data / "masks" / img.name)) > 0).astype(np.uint8)
        painted = np.full(fg.shape, UNLABELLED, np.uint8)
        if i == 0:
            painted[fg == 0] = 0  # only background painted: a mask of 0 and 255
        else:
            painted[:, :40] = fg[:, :40]
        ws.save_mask(img.stem, painted)
    return ws


@pytest.fixture(scope="module")
def app_run(app_ws, tmp_path_factory):
    """``train --data <workspace>/data`` with no flags, through the CLI: (the process, the run folder)."""
    out = tmp_path_factory.mktemp("apprun") / "run"
    res = cli("train", "--data", str(app_ws.data_dir), "--out", str(out), "--epochs", "1", "--img-size", "64x64",
              "--quiet")
    return res, out


def test_app_saved_folder_validates_and_trains_from_the_cli_without_flags(app_ws, app_run):
    assert json.loads((app_ws.data_dir / "classes.json").read_text())["unlabelled"] == 255  # written by save_mask
    first = sorted(p.name for p in app_ws.masks_dir.iterdir())[0]
    res = cli("validate", "--data", str(app_ws.data_dir))
    assert res.returncode == 0, res.stdout
    assert ("mask values: Mask values are class indices 0..1 (0 background, 1 foreground); 255 marks unlabelled "
            f"pixels (classes.json), skipped in training and scoring. Masks holding only 0 and 255 ({first}) read "
            "as class 0 plus unlabelled pixels, as classes.json says.") in res.stdout
    res, out = app_run
    assert res.returncode == 0, res.stderr
    assert "mask values: Mask values are class indices 0..1" in res.stdout and "run saved to" in res.stdout
    cfg = Run(out).config
    assert cfg["ignore_index"] == 255 and cfg["mask_reading"]["reading"] == "index"
    assert json.loads((out / "classes.json").read_text())["unlabelled"] == 255


def test_app_folder_without_its_classes_json_is_refused_naming_files_and_flags(app_ws, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(app_ws.data_dir, data)
    (data / "classes.json").unlink()
    first = sorted(p.name for p in (data / "masks").iterdir())[0]
    res = cli("validate", "--data", str(data))  # 0/1(/255) masks and a 0/255 mask, nothing says what 255 is
    assert res.returncode == 1
    assert "mask values: not decided: the error about masks/ below says why" in res.stdout
    assert "ERROR: masks/: the masks mix two encodings:" in res.stdout and f"and {first} only 0 and 255" in res.stdout
    assert "--mask-values binary" in res.stdout and "--ignore-index 255 --mask-values index" in res.stdout
    res = cli("train", "--data", str(data), "--out", str(tmp_path / "r"), "--ignore-index", "255", "--epochs", "1")
    assert res.returncode == 2 and not (tmp_path / "r" / "model.safetensors").exists()
    assert f"{first} holds only 0 and 255, which reads two ways for 2 classes with 255 as the unlabelled value " \
           "(--ignore-index)" in res.stderr and "--mask-values index (255 is unlabelled)" in res.stderr
    res = cli("validate", "--data", str(data), "--ignore-index", "255", "--mask-values", "index")
    assert res.returncode == 0 and "255 marks unlabelled pixels (--ignore-index)" in res.stdout


# -- scoring a 0/255 test set with a run trained on partial labels -------------------------------------------
@pytest.fixture
def binary_test(app_ws, tiny_data, tmp_path):
    """The same images with full 0/255 ground truth (the common binary format), no classes.json."""
    d = tmp_path / "test"
    (d / "masks").mkdir(parents=True)
    shutil.copytree(app_ws.images_dir, d / "images")
    for img in (d / "images").iterdir():
        fg = np.array(Image.open(tiny_data / "masks" / img.name)) > 0
        Image.fromarray((fg * 255).astype(np.uint8)).save(d / "masks" / img.name)
    return d


def test_evaluate_refuses_0_255_masks_with_the_runs_unlabelled_255_until_told(app_run, binary_test):
    run = str(app_run[1])
    res = cli("evaluate", "--run", run, "--data", str(binary_test), "--json")
    assert res.returncode == 2 and res.stdout == ""
    assert "hold only 0 and 255, which reads two ways for 2 classes with 255 as the unlabelled value (the " \
           "unlabelled value run run trained with): 255 = class 1 'foreground'" in res.stderr
    assert "--mask-values binary (255 is class 1) or --mask-values index (255 is unlabelled)" in res.stderr

    res = cli("evaluate", "--run", run, "--data", str(binary_test), "--json", "--mask-values", "binary")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["hidden_classes"] == [] and out["warnings"] == [] and out["ignored_pixels"] == 0
    assert out["mask_values"][0].startswith("Binary masks (--mask-values binary): 0 is class 0 'background'")
    assert out["labelled_pixels_per_class"]["foreground"] > 0 and out["unlabelled_value"] is None


def test_evaluate_says_when_every_pixel_of_a_class_was_ignored(app_run, binary_test):
    run = str(app_run[1])
    res = cli("evaluate", "--run", run, "--data", str(binary_test), "--json", "--mask-values", "index")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)  # stdout is one JSON object; the warning went to stderr
    fg = sum(int((np.array(Image.open(m)) == 255).sum()) for m in (binary_test / "masks").iterdir())
    assert out["hidden_classes"] == ["foreground"]
    assert out["ignored_pixels"] == fg and sum(out["ignored_pixels_per_class"].values()) == fg
    assert out["labelled_pixels_per_class"]["foreground"] == 0
    assert sum(r["ignored_pixels"] for r in out["per_image"]) == fg
    assert all(r["labelled_pixels"] + r["ignored_pixels"] == 64 * 64 for r in out["per_image"])
    assert out["warnings"][0].startswith(f"class 'foreground' has no labelled ground-truth pixel in the 6 scored "
                                         f"image(s) while {fg} pixels were skipped as unlabelled (value 255)")
    assert f"warning: {out['warnings'][0]}" in res.stderr

    # the same masks with a classes.json saying 255 is unlabelled: no flag, the rule and the warning are stated
    (binary_test / "classes.json").write_text(json.dumps({"names": ["background", "foreground"], "unlabelled": 255}))
    res = cli("evaluate", "--run", run, "--data", str(binary_test))
    assert res.returncode == 0, res.stderr
    assert "mask values: Mask values are class indices 0..1 (0 background, 1 foreground); 255 marks unlabelled " \
           "pixels (classes.json)" in res.stdout
    assert "foreground" in res.stdout and "(hidden: every ground-truth pixel was unlabelled)" in res.stdout
    assert "warning: class 'foreground' has no labelled ground-truth pixel" in res.stderr
    assert "if 255 means 'foreground' in these masks, pass --mask-values binary" in res.stderr
