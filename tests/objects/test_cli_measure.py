"""python -m seg_core measure and evaluate --instances, through real subprocesses."""
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image
from skimage.measure import label

from helpers import COPIES, cli, interrupted_on_copies


def test_measure_writes_objects_images_and_16_bit_instances(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "measured"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out", str(out),
              "--split-touching", "--min-size", "3", "--pixel-size", "0.5", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert res.stderr.splitlines()[-1].startswith("  6/6 images measured · ")  # progress counts on stderr
    objects, images = pd.read_csv(out / "objects.csv"), pd.read_csv(out / "images.csv")
    assert {"image", "object", "class", "area_px", "area_um2", "perimeter_px", "equivalent_diameter_px",
            "major_axis_px", "minor_axis_px", "eccentricity", "solidity", "centroid_y", "centroid_x",
            "bbox_min_y", "bbox_max_x", "mean_red", "mean_green", "mean_blue"} <= set(objects.columns)
    assert report["objects"] == len(objects) > 0 and (objects["area_px"] >= 3).all()
    assert set(objects["class"]) <= {"cell", "nucleus"}
    assert np.allclose(objects["area_um2"], objects["area_px"] * 0.25)
    assert len(images) == 6 * 2 and set(images["class"]) == {"cell", "nucleus"}
    for r in report["images"]:
        assert r["faint"] >= 0  # regions left out as faint, per image
        stem = r["image"].rsplit(".", 1)[0]
        ids = tifffile.imread(out / "instances" / f"{stem}.tif")
        assert ids.dtype == np.uint16 and ids.shape == (64, 64)
        mine = objects[objects["image"] == r["image"]]
        assert sorted(set(np.unique(ids)) - {0}) == list(mine["object"]) == list(range(1, r["objects"] + 1))
        areas = np.bincount(ids.ravel(), minlength=len(mine) + 1)[1:]
        assert list(areas) == list(mine["area_px"])  # the table's object ids are the label image's
        counts = images[images["image"] == r["image"]].set_index("class")["count"]
        assert counts.sum() == len(mine)
    every = tmp_path / "every"  # nothing left out as faint: as many objects as the faint and the kept together
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out", str(every),
              "--split-touching", "--min-size", "3", "--min-confidence", "0", "--json")
    assert res.returncode == 0, res.stderr
    everything = json.loads(res.stdout)["objects"]
    assert everything == report["objects"] + sum(r["faint"] for r in report["images"])
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out",
              str(tmp_path / "sure"), "--split-touching", "--min-size", "3", "--min-confidence", "0.99")
    assert res.returncode == 0, res.stderr
    said = re.search(r"^wrote (\d+) objects of 6 images to .*; (\d+) faint region\(s\) left out \(the model was "
                     r"nowhere as sure as --min-confidence\)$", res.stdout, re.M)
    assert said and int(said[2]) > 0 and int(said[1]) + int(said[2]) == everything  # the plain output says it too


def _sixteen_bit(tiny_data, folder):
    """A 3-channel 16-bit OME-TIFF (named channels, 0.5 µm pixels) and an ImageJ stack of 3 gray 16-bit planes
    (0.25 µm pixels, planes 2 µm apart), from the tiny sample's first image."""
    rgb = np.array(Image.open(sorted((tiny_data / "images").glob("*.png"))[0])).astype(np.uint16)
    raw = rgb * 250 + 300  # counts beyond 8 bits
    folder.mkdir()
    tifffile.imwrite(folder / "cells.ome.tif", np.moveaxis(raw, -1, 0), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
                               "Channel": {"Name": ["DAPI", "GFP", "Cy5"]}})
    tifffile.imwrite(folder / "depth.tif", np.stack([raw[..., 0]] * 3), imagej=True, resolution=(4.0, 4.0),
                     metadata={"axes": "ZYX", "spacing": 2.0, "unit": "micron"})
    return raw


def test_measure_reads_the_pixel_size_from_the_file_and_the_stored_intensities(tiny_run, tiny_data, tmp_path):
    raw = _sixteen_bit(tiny_data, tmp_path / "images")
    out = tmp_path / "measured"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tmp_path / "images"), "--out", str(out),
              "--min-size", "1", "--min-confidence", "0", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["image"]: r for r in json.loads(res.stdout)["images"]}
    assert (rows["cells.ome.tif"]["pixel_size_um"], rows["cells.ome.tif"]["pixel_size_from"]) == ([0.5, 0.5],
                                                                                                  "OME metadata")
    assert rows["depth.tif"]["pixel_size_from"] == "ImageJ metadata" and rows["depth.tif"]["planes"] == 3
    objects = pd.read_csv(out / "objects.csv")
    cells = objects[objects["image"] == "cells.ome.tif"]
    assert len(cells) > 0 and {"mean_DAPI", "sum_GFP", "mean_Cy5", "centroid_x_um"} <= set(cells.columns)
    assert np.allclose(cells["area_um2"], cells["area_px"] * 0.25)
    ids = tifffile.imread(out / "instances" / "cells.ome.tif")
    for _, row in cells.iterrows():  # the file's own 16-bit values, not what the model reads
        inside = ids == row["object"]
        assert row["mean_DAPI"] == pytest.approx(raw[..., 0][inside].mean())
        assert row["sum_Cy5"] == raw[..., 2][inside].sum()
    depth = objects[objects["image"] == "depth.tif"]
    assert len(depth) > 0 and np.allclose(depth["area_um2"], depth["area_px"] * 0.0625)
    assert set(zip(depth["plane"], depth["z_um"])) <= {("z00", 0.0), ("z01", 2.0), ("z02", 4.0)}
    assert "mean_channel_1" in depth.columns and depth["mean_channel_1"].max() > 255
    given = tmp_path / "given"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tmp_path / "images"), "--out", str(given),
              "--min-size", "1", "--min-confidence", "0", "--pixel-size", "325nm")
    assert res.returncode == 0, res.stderr
    assert "sizes in micrometres for 2 image(s) (pixel size from --pixel-size)" in res.stdout
    objects = pd.read_csv(given / "objects.csv")
    assert np.allclose(objects["area_um2"], objects["area_px"] * 0.325 ** 2)
    assert set(objects.loc[objects["image"] == "depth.tif", "z_um"]) == {0.0, 2.0, 4.0}  # the file's spacing


def test_measure_counts_at_the_confidence_the_run_measured_unless_told(tiny_run, tiny_data, tmp_path):
    """Without --min-confidence, objects are counted at the confidence the run chose on its held-out images
    (postprocess.json's "objects", seg_core.objects.faint), and stderr says why; the flag overrides it."""
    assert "min_confidence" in tiny_run.postprocess["objects"]  # the training measured it
    run = tmp_path / "run"
    shutil.copytree(tiny_run.path, run)
    recorded = json.loads((run / "postprocess.json").read_text())
    recorded["objects"] = {"min_confidence": 0.99, "reason": "faint regions left out: measured for this test"}
    (run / "postprocess.json").write_text(json.dumps(recorded))
    args = ("--images", str(tiny_data / "images"), "--split-touching", "--min-size", "3", "--json")
    by_run = cli("measure", "--run", str(run), "--out", str(tmp_path / "a"), *args)
    told = cli("measure", "--run", str(run), "--out", str(tmp_path / "b"), *args, "--min-confidence", "0.99")
    every = cli("measure", "--run", str(run), "--out", str(tmp_path / "c"), *args, "--min-confidence", "0")
    assert by_run.returncode == told.returncode == every.returncode == 0, by_run.stderr
    assert "objects: faint regions left out: measured for this test" in by_run.stderr.splitlines()
    assert "measured for this test" not in told.stderr + every.stderr
    faint = [sum(r["faint"] for r in json.loads(res.stdout)["images"]) for res in (by_run, told, every)]
    assert faint[0] == faint[1] > 0 == faint[2]  # 99 %: as told; the flag's 0 wins over the run's choice


def test_measure_names_bad_flags_and_files(tiny_run, tiny_data, tmp_path):
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out",
              str(tmp_path / "o"), "--pixel-size", "0")
    assert res.returncode == 2 and "'0' is not a pixel size: give micrometres per pixel" in res.stderr
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out",
              str(tmp_path / "o"), "--min-confidence", "1.5")
    assert res.returncode == 2 and "must lie between 0 and 1 (0: keep every object), not 1.5" in res.stderr
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(sorted((tiny_data / "images").iterdir())[0], images / "good.png")
    (images / "broken.png").write_bytes(b"not an image")
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(images), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    assert any(line.startswith("skipped: broken.png: ") for line in res.stdout.splitlines())
    assert set(pd.read_csv(tmp_path / "o" / "objects.csv")["image"]) <= {"good.png"}
    assert [p.name for p in (tmp_path / "o" / "instances").iterdir()] == ["good.tif"]


def test_measure_ctrl_c_keeps_whole_rows_of_the_images_done(tiny_run, tiny_data, tmp_path):
    n = COPIES
    out, kept, lines, stdout = interrupted_on_copies("measure", "measured", "instances", tiny_run.path,
                                                     sorted((tiny_data / "images").iterdir())[0], tmp_path)
    assert 0 < len(kept) < n and kept == [f"im{i:03d}.tif" for i in range(len(kept))]
    assert lines[-1] == (f"cancelled after {len(kept)} of {n} images: the objects of {len(kept)} image(s) are kept "
                         f"in {out}; {n - len(kept)} not measured")
    summary = pd.read_csv(out / "images.csv")
    assert sorted(set(summary["image"])) == [f"im{i:03d}.png" for i in range(len(kept))]
    assert sorted(p.name for p in (out / "geojson").iterdir()) == [f"im{i:03d}.geojson" for i in range(len(kept))]
    coco = json.loads((out / "coco.json").read_text())  # written after each image: the images done, whole
    assert sorted(im["file_name"] for im in coco["images"]) == [f"im{i:03d}.png" for i in range(len(kept))]
    assert {a["image_id"] for a in coco["annotations"]} <= {im["id"] for im in coco["images"]}
    assert "wrote" not in stdout


def test_evaluate_with_instances_scores_objects_beside_pixels(tiny_run, tiny_data, tmp_path):
    truth = tmp_path / "instances"
    truth.mkdir()
    for p in sorted((tiny_data / "masks").iterdir()):  # one id per connected region of each class, as 16-bit PNG
        m = np.asarray(Image.open(p))
        ids = label(m == 1, connectivity=1)
        ids[m == 2] = label(m == 2, connectivity=1)[m == 2] + ids.max()
        Image.fromarray(ids.astype(np.uint16)).save(truth / p.name)
    res = cli("evaluate", "--run", str(tiny_run.path), "--data", str(tiny_data), "--instances", str(truth), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert 0 <= out["miou"] <= 1  # the pixel scores are still there
    o = out["objects"]
    assert 0 <= o["object_f1"] <= 1 and o["iou_threshold"] == 0.5 and o["median_count_error"] >= 0
    assert o["objects_true"] == sum(r["objects_true"] for r in out["per_image"]) > 0
    assert all({"object_f1", "matched_iou", "count_error", "objects_predicted"} <= set(r) for r in out["per_image"])
    res = cli("evaluate", "--run", str(tiny_run.path), "--data", str(tiny_data), "--instances", str(truth))
    assert res.returncode == 0 and "objects: F1 at IoU 0.5 " in res.stdout
    next(truth.iterdir()).unlink()
    res = cli("evaluate", "--run", str(tiny_run.path), "--data", str(tiny_data), "--instances", str(truth))
    assert res.returncode == 2 and f"{truth}: no label image for " in res.stderr
