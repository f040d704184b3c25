"""Stacks on the command line: a data folder of stacks trains and evaluates plane by plane; a stack in, a stack
out (one page per plane, in order; a NIfTI volume's mask keeps its affine), with the run and with its ONNX file."""
import json

import nibabel
import numpy as np
import tifffile
from PIL import Image

from seg_core import Run

from helpers import cli


def _tiny_stack(tiny_data):
    """The 6 tiny RGB images as planes of one stack (Z, H, W, 3) and their masks (Z, H, W), in name order."""
    names = sorted(p.name for p in (tiny_data / "images").iterdir())
    images = np.stack([np.asarray(Image.open(tiny_data / "images" / n).convert("RGB")) for n in names])
    masks = np.stack([np.asarray(Image.open(tiny_data / "masks" / n)) for n in names])
    return names, images, masks


def test_a_folder_of_stacks_trains_on_the_labelled_planes_and_evaluates_them(tiny_data, tmp_path):
    names, images, masks = _tiny_stack(tiny_data)
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    (data / "classes.json").write_text((tiny_data / "classes.json").read_text())
    tifffile.imwrite(data / "images" / "cells.tif", images, imagej=True, metadata={"axes": "ZYXS"})
    for z in (0, 1, 2, 4, 5):  # plane 3 has no mask: unlabelled
        Image.fromarray(masks[z]).save(data / "masks" / f"cells_z{z:02d}.png")
    res = cli("train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--img-size", "64x64",
              "--quiet")
    assert res.returncode == 0, res.stderr
    split = Run(tmp_path / "run").config["split"]
    assert sorted(split["train"] + split["val"]) == ["cells_z00", "cells_z01", "cells_z02", "cells_z04", "cells_z05"]
    res = cli("evaluate", "--run", str(tmp_path / "run"), "--data", str(data), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["images"] == 5 and sorted(r["image"] for r in out["per_image"]) == [
        f"cells.tif, plane z{z:02d}" for z in (0, 1, 2, 4, 5)]

    tifffile.imwrite(data / "masks" / "cells.tif", masks[:4], imagej=True, metadata={"axes": "ZYX"})
    for p in (data / "masks").glob("*.png"):
        p.unlink()
    res = cli("validate", "--data", str(data))
    assert res.returncode != 0
    assert ("cells.tif: the mask stack has 4 planes but image cells.tif has 6; a mask stack needs one plane per "
            "image plane, in the same order") in res.stdout + res.stderr


def test_a_stack_in_a_stack_out_in_order_with_the_run_and_its_onnx_file(tiny_run, tiny_onnx, tiny_data, tmp_path):
    names, images, _ = _tiny_stack(tiny_data)
    order = [3, 0, 5, 1, 4, 2]  # planes in an order of their own: the output must keep it
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    tifffile.imwrite(stacks / "movie.tif", images[order].reshape(2, 3, 64, 64, 3), imagej=True,
                     metadata={"axes": "TZYXS"})
    gray = images[order].mean(-1).astype(np.uint8)  # NIfTI: X, Y, Z, one value a voxel
    affine = np.array([[0.7, 0, 0, -10], [0, 0.7, 0, 4], [0, 0, 2.5, 30], [0, 0, 0, 1]])
    nibabel.save(nibabel.Nifti1Image(np.transpose(gray, (2, 1, 0)), affine), stacks / "scan.nii.gz")
    single = tmp_path / "single"
    single.mkdir()
    for i, k in enumerate(order):  # the same planes as images of their own
        Image.fromarray(images[k]).save(single / f"movie_{i}.png")
        Image.fromarray(gray[i]).convert("RGB").save(single / f"scan_{i}.png")

    for flag, model in (("--run", tiny_run.path), ("--model", tiny_onnx)):
        out = tmp_path / f"out{flag}"
        res = cli("predict", flag, str(model), "--images", str(stacks), "--out", str(out))
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines()[-1] == f"wrote 2 masks to {out / 'masks'} and overlays to {out / 'overlays'}"
        assert sorted(p.name for p in (out / "masks").iterdir()) == ["movie.tif", "scan.nii.gz"]
        with tifffile.TiffFile(out / "masks" / "movie.tif") as tif:
            assert len(tif.pages) == 6 and tif.imagej_metadata["frames"] == 2 and tif.imagej_metadata["slices"] == 3
            assert tif.series[0].axes == "TZYX" and tif.series[0].dtype == np.uint8
            pages = tif.asarray().reshape(6, 64, 64)
        mask = nibabel.load(out / "masks" / "scan.nii.gz")
        assert mask.shape == (64, 64, 6) and np.allclose(mask.affine, affine)
        volume = np.transpose(np.asarray(mask.dataobj), (2, 1, 0))
        assert sorted(p.name for p in (out / "overlays").iterdir())[:3] == ["movie_t00_z00.png", "movie_t00_z01.png",
                                                                              "movie_t00_z02.png"]
        res = cli("predict", flag, str(model), "--images", str(single), "--out", str(tmp_path / f"one{flag}"))
        assert res.returncode == 0, res.stderr
        for i in range(6):  # page i is what plane i alone predicts
            alone = np.asarray(Image.open(tmp_path / f"one{flag}" / "masks" / f"movie_{i}.png"))
            assert (pages[i] == alone).mean() >= 0.995, i
            alone = np.asarray(Image.open(tmp_path / f"one{flag}" / "masks" / f"scan_{i}.png"))
            assert (volume[i] == alone).mean() >= 0.995, i


def test_rank_ranks_the_planes_of_a_stack(tiny_run, tiny_data, tmp_path):
    _, images, _ = _tiny_stack(tiny_data)
    (tmp_path / "new").mkdir()
    tifffile.imwrite(tmp_path / "new" / "more.tif", images[:4], imagej=True, metadata={"axes": "ZYXS"})
    res = cli("rank", "--run", str(tiny_run.path), "--images", str(tmp_path / "new"), "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert sorted(r["image"] for r in rows) == [f"more.tif, plane z{z:02d}" for z in range(4)]
    assert all("error" not in r for r in rows)


def test_measure_writes_an_instance_stack_and_counts_objects_per_plane(tiny_run, tiny_data, tmp_path):
    import pandas as pd

    _, images, _ = _tiny_stack(tiny_data)
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "cells.tif", images[:3], imagej=True, metadata={"axes": "ZYXS"})
    Image.fromarray(images[4]).save(tmp_path / "in" / "flat.png")
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tmp_path / "in"), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    objects = pd.read_csv(tmp_path / "o" / "objects.csv", keep_default_na=False)
    assert list(objects.columns[:3]) == ["image", "plane", "object"]
    with tifffile.TiffFile(tmp_path / "o" / "instances" / "cells.tif") as tif:
        pages = tif.asarray()
        assert pages.shape == (3, 64, 64) and pages.dtype == np.uint16 and tif.series[0].axes == "ZYX"
    for z in range(3):  # each page's ids are the objects of its plane
        mine = objects[(objects["image"] == "cells.tif") & (objects["plane"] == f"z{z:02d}")]
        assert sorted(mine["object"]) == list(range(1, int(pages[z].max()) + 1))
    assert set(objects[objects["image"] == "flat.png"]["plane"]) <= {""}
    assert len(objects[objects["image"] == "cells.tif"]) == int(sum(p.max() for p in pages)) > 0
