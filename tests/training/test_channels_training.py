"""N-channel images end to end through the command line: a 2-channel 16-bit OME-TIFF folder (channels named DAPI
and GFP, picked by name) and a 5-channel 8-bit folder (channels picked by number) are validated, trained on
(tiny images, a few epochs), predicted, scored (``evaluate --json``) and exported to ONNX, whose file predicts what
the run predicts; images of another count of channels are refused naming both counts."""
import json

import numpy as np
import onnx
import pytest
import tifffile
from PIL import Image

from seg_core import Run

from helpers import cli

SIZE = 64


def _field(rng, chans: int, dtype):
    """(C, H, W) image, (H, W) 0/1 mask: cells bright in channel 2 (class 1), as bright decoys in channel 1."""
    img = rng.normal(300, 5, (chans, SIZE, SIZE))
    mask = np.zeros((SIZE, SIZE), np.uint8)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for _ in range(3):
        for ch in (1, 0):
            cy, cx = rng.integers(8, SIZE - 8, 2)
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 25
            img[ch][disc] = 3000
            if ch == 1:
                mask[disc] = 1
    if dtype == np.uint8:
        img = img / 3000 * 200
    return np.clip(img, 0, 65535).astype(dtype), mask


def _folder(root, chans: int, dtype, write):
    rng = np.random.default_rng(chans)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.json").write_text(json.dumps({"classes": [
        {"name": "background", "color": [0, 0, 0]}, {"name": "cell", "color": [255, 0, 0]}]}))
    for i in range(6):
        img, mask = _field(rng, chans, dtype)
        write(root / "images" / f"f{i}.tif", img)
        Image.fromarray(mask).save(root / "masks" / f"f{i}.png")
    return root


def _ome(path, img):
    tifffile.imwrite(path, img, ome=True, metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})


def _plain(path, img):
    tifffile.imwrite(path, img.transpose(1, 2, 0), photometric="minisblack", planarconfig="contig")


def _train(data, out, *extra):
    res = cli("train", "--data", str(data), "--out", str(out), "--epochs", "6", "--img-size", f"{SIZE}x{SIZE}",
              "--precision", "fp32", "--quiet", *extra)
    assert res.returncode == 0, res.stderr
    return Run(out)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("channels")


@pytest.fixture(scope="module")
def run2(root):
    """Trained on 16-bit DAPI + GFP, read by name in another order."""
    return _train(_folder(root / "two", 2, np.uint16, _ome), root / "run2", "--channels", "GFP,DAPI")


@pytest.fixture(scope="module")
def run5(root):
    """Trained on channels 2 and 5 of 8-bit 5-channel images, read by number."""
    return _train(_folder(root / "five", 5, np.uint8, _plain), root / "run5", "--channels", "2,5")


def test_validate_names_the_channels_and_refuses_another_count_naming_both(tmp_path):
    data = _folder(tmp_path / "d", 2, np.uint16, _ome)
    res = cli("validate", "--data", str(data))
    assert res.returncode == 0 and "channels: 2 (1 DAPI, 2 GFP)" in res.stdout
    tifffile.imwrite(data / "images" / "f5.tif", np.zeros((3, SIZE, SIZE), np.uint16), ome=True,
                     metadata={"axes": "CYX"})
    res = cli("validate", "--data", str(data))
    assert res.returncode != 0
    assert "f5.tif: has 3 channel(s) but the other images here have 2 (DAPI, GFP)" in res.stdout


def test_channels_that_are_not_the_datas_are_refused_before_training(tmp_path):
    data = _folder(tmp_path / "d", 2, np.uint16, _ome)
    res = cli("train", "--data", str(data), "--out", str(tmp_path / "run"), "--channels", "DAPI,CY5", "--epochs", "1")
    assert res.returncode != 0
    assert "channel 'CY5' is not one of the 2 channels of the images of" in res.stderr and "2 GFP" in res.stderr


def test_the_run_records_its_channels_in_order_and_how_each_is_normalised(run2, run5):
    cfg = run2.config
    assert cfg["channels"] == ["GFP", "DAPI"] and cfg["channel_layout"] == ["DAPI", "GFP"] and cfg["in_channels"] == 2
    norm = cfg["channel_normalisation"]
    assert [n["channel"] for n in norm] == ["GFP", "DAPI"] and all(n["how"] == "fixed range" for n in norm)
    assert 280 <= norm[0]["low"] <= 300 and norm[0]["high"] > 2000
    assert cfg["colour_reference"] is None  # the colour evening-out is for 8-bit gray and RGB only
    cfg = run5.config
    assert cfg["channels"] == ["channel 2", "channel 5"] and cfg["in_channels"] == 2
    assert cfg["input_normalisation"] is None and cfg["channel_normalisation"][1]["how"].startswith("8-bit")


def test_evaluate_scores_n_channel_images(root, run2):
    res = cli("evaluate", "--run", str(run2.path), "--data", str(root / "two"), "--json")
    assert res.returncode == 0, res.stderr
    scores = json.loads(res.stdout)
    assert scores["images"] == 6 and set(scores["per_class_iou"]) == {"background", "cell"}


def test_predict_and_rank_read_the_runs_channels_and_refuse_another_count(root, run5):
    res = cli("predict", "--run", str(run5.path), "--images", str(root / "five" / "images"), "--out",
              str(root / "p5"))
    assert res.returncode == 0, res.stderr
    for i in range(6):
        mask = np.asarray(Image.open(root / "p5" / "masks" / f"f{i}.png"))
        assert mask.shape == (SIZE, SIZE) and set(np.unique(mask)) <= {0, 1}
        assert np.asarray(Image.open(root / "p5" / "overlays" / f"f{i}.png")).shape == (SIZE, SIZE, 3)
    res = cli("rank", "--run", str(run5.path), "--images", str(root / "five" / "images"), "--json")
    assert res.returncode == 0, res.stderr
    ranked = json.loads(res.stdout)
    assert len(ranked) == 6 and all(r["score"] is not None for r in ranked)
    (root / "three").mkdir()
    tifffile.imwrite(root / "three" / "rgbish.tif", np.zeros((SIZE, SIZE, 3), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    res = cli("predict", "--run", str(run5.path), "--images", str(root / "three"), "--out", str(root / "p3"))
    assert "rgbish.tif: has 3 channel(s) but the model was trained on images with 5" in res.stdout + res.stderr


def test_the_onnx_file_takes_n_channels_names_them_and_predicts_what_the_run_predicts(root, run2):
    res = cli("export", "--run", str(run2.path), "--format", "onnx", "--out", str(root / "m.onnx"))
    assert res.returncode == 0, res.stderr
    model = onnx.load(root / "m.onnx")
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1] == 2
    meta = json.loads({p.key: p.value for p in model.metadata_props}["input"])
    assert meta["channels"] == ["GFP", "DAPI"] and meta["axes"] == "NCHW"
    assert [n["channel"] for n in meta["channel_normalisation"]] == ["GFP", "DAPI"]
    for how, what in (("--run", run2.path), ("--model", root / "m.onnx")):
        res = cli("predict", how, str(what), "--images", str(root / "two" / "images"), "--out", str(root / how[2:]))
        assert res.returncode == 0, res.stderr
    for i in range(6):
        a = np.asarray(Image.open(root / "run" / "masks" / f"f{i}.png"))
        b = np.asarray(Image.open(root / "model" / "masks" / f"f{i}.png"))
        assert (a == b).mean() >= 0.995


def test_an_n_channel_file_is_imported_into_a_project_and_another_count_refused_naming_both(tmp_path):
    _plain(p := tmp_path / "five.tif", _field(np.random.default_rng(1), 5, np.uint8)[0])
    res = cli("import", "--workspace", str(tmp_path / "ws"), str(p), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["imported"] == 1
    _plain(p := tmp_path / "three.tif", _field(np.random.default_rng(1), 3, np.uint8)[0])
    res = cli("import", "--workspace", str(tmp_path / "ws"), str(p), "--json")
    report = json.loads(res.stdout)
    assert report["refused"] == 1
    assert "has 3 channel(s) but this project's images have 5 (channel 1, channel 2, channel 3, channel 4, " \
           "channel 5)" in report["files"][0]["reason"]
