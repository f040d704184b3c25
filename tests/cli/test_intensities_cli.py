"""16-bit fluorescence end to end: a run trained on 16-bit images reads every image by the training images'
fixed ranges (config.json's ``input_normalisation``), so an empty field stays empty (no objects either), and its
exported ONNX file predicts what the run predicts."""
import csv
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from seg_core import Run

from helpers import cli


def _field(rng, blobs: int, size: int = 64):
    """(16-bit image, 0/1 mask): background 300 +- 5 counts, ``blobs`` bright nuclei of about 3000."""
    img = rng.normal(300, 5, (size, size))
    mask = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(blobs):
        cy, cx = rng.integers(8, size - 8, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 25
        img[disc], mask[disc] = rng.normal(3000, 150), 1
    return np.clip(img, 0, 65535).astype(np.uint16), mask


@pytest.fixture(scope="module")
def fluo(tmp_path_factory):
    """8 labelled 16-bit fields with nuclei, a run trained on them, and unseen fields (empty ones among them)."""
    root = tmp_path_factory.mktemp("fluo")
    rng = np.random.default_rng(0)
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "masks").mkdir()
    (root / "data" / "classes.json").write_text(json.dumps({"classes": [
        {"name": "background", "color": [0, 0, 0]}, {"name": "nucleus", "color": [255, 0, 0]}]}))
    for i in range(8):
        img, mask = _field(rng, 3 + i % 3)
        tifffile.imwrite(root / "data" / "images" / f"f{i}.tif", img)
        Image.fromarray(mask).save(root / "data" / "masks" / f"f{i}.png")
    (root / "unseen").mkdir()
    for i in range(3):
        tifffile.imwrite(root / "unseen" / f"empty{i}.tif", _field(rng, 0)[0])
    tifffile.imwrite(root / "unseen" / "nuclei.tif", _field(rng, 4)[0])
    one = _field(rng, 0)[0]
    yy, xx = np.mgrid[:64, :64]
    one[(yy - 30) ** 2 + (xx - 34) ** 2 <= 25] = 3000  # one clear nucleus, well inside the field
    tifffile.imwrite(root / "unseen" / "one_nucleus.tif", one)
    res = cli("train", "--data", str(root / "data"), "--out", str(root / "run"), "--epochs", "12", "--img-size",
              "64x64", "--precision", "fp32", "--quiet")
    assert res.returncode == 0, res.stderr
    return root


def test_a_16_bit_run_keeps_its_ranges_and_an_empty_field_stays_empty(fluo):
    cfg = Run(fluo / "run").config
    norm = cfg["input_normalisation"]
    assert len(norm["low"]) == 1 and 280 <= norm["low"][0] <= 300 and norm["high"][0] > 2000
    assert "percentiles" in norm["how"]
    assert cfg["colour_reference"] is None  # evening out each image would stretch an empty field again
    res = cli("predict", "--run", str(fluo / "run"), "--images", str(fluo / "unseen"), "--out", str(fluo / "pred"))
    assert res.returncode == 0, res.stderr
    for i in range(3):
        empty = np.asarray(Image.open(fluo / "pred" / "masks" / f"empty{i}.png"))
        assert (empty == 1).mean() < 0.01, f"empty{i}: {(empty == 1).mean():.1%} marked nucleus"
    assert (np.asarray(Image.open(fluo / "pred" / "masks" / "nuclei.png")) == 1).mean() > 0.02


def test_measure_finds_no_object_in_an_empty_16_bit_field_and_the_one_nucleus_of_another(fluo):
    res = cli("measure", "--run", str(fluo / "run"), "--images", str(fluo / "unseen"), "--out",
              str(fluo / "measured"))
    assert res.returncode == 0, res.stderr
    with open(fluo / "measured" / "images.csv", newline="") as f:
        counts = {row["image"]: int(row["count"]) for row in csv.DictReader(f)}
    assert counts["empty0.tif"] == counts["empty1.tif"] == counts["empty2.tif"] == 0, counts
    assert counts["one_nucleus.tif"] == 1, counts
    with open(fluo / "measured" / "objects.csv", newline="") as f:
        found = [row for row in csv.DictReader(f) if row["image"] == "one_nucleus.tif"]
    assert 50 <= float(found[0]["area_px"]) <= 130  # the disc of 81 pixels, give or take its edge


def test_the_onnx_file_reads_16_bit_images_as_the_run_does(fluo):
    res = cli("export", "--run", str(fluo / "run"), "--format", "onnx", "--out", str(fluo / "m.onnx"))
    assert res.returncode == 0, res.stderr
    for how, what in (("--run", fluo / "run"), ("--model", fluo / "m.onnx")):
        res = cli("predict", how, str(what), "--images", str(fluo / "unseen"), "--out", str(fluo / f"by_{how[2:]}"))
        assert res.returncode == 0, res.stderr
    for name in ("empty0.png", "empty1.png", "empty2.png", "nuclei.png"):
        a = np.asarray(Image.open(fluo / "by_run" / "masks" / name))
        b = np.asarray(Image.open(fluo / "by_model" / "masks" / name))
        assert (a == b).mean() >= 0.995, name
