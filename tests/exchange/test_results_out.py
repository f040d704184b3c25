"""What leaves the studio: measure's GeoJSON and COCO files, OME-TIFF label images, a bioimage.io package;
each read back by its own library."""
import json

import numpy as np
import pandas as pd
import shapely.geometry
import tifffile
from pycocotools.coco import COCO

from helpers import cli
from seg_core.exchange.ome_tiff import ome_tiff, read_ome_tiff
from seg_core.exchange.outlines import fill


def test_measure_writes_geojson_per_image_and_coco_json(tiny_run, tiny_data, tmp_path):
    out = tmp_path / "measured"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tiny_data / "images"), "--out", str(out),
              "--min-size", "3", "--min-confidence", "0", "--pixel-size", "0.5")
    assert res.returncode == 0, res.stderr
    assert "geojson" in res.stdout and "coco.json" in res.stdout
    objects = pd.read_csv(out / "objects.csv")
    coco = COCO(str(out / "coco.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cell", "nucleus"]
    assert len(coco.getAnnIds()) == len(objects) > 0
    for img in coco.loadImgs(coco.getImgIds()):
        stem = img["file_name"].rsplit(".", 1)[0]
        ids = tifffile.imread(out / "instances" / f"{stem}.tif")
        mine = objects[objects["image"] == img["file_name"]].set_index("object")
        doc = json.loads((out / "geojson" / f"{stem}.geojson").read_text())
        assert doc["type"] == "FeatureCollection" and len(doc["features"]) == len(mine)
        for f in doc["features"]:
            m = f["properties"]["measurements"]
            row = mine.loc[m["object"]]
            assert f["properties"]["classification"]["name"] == row["class"]
            assert f["properties"]["objectType"] == "detection"
            assert m["area_px"] == row["area_px"] and m["area_um2"] == row["area_um2"]  # pixel size passed on
            assert set(m) == {c for c in objects.columns if c not in ("image", "class", "plane")}
            shape = shapely.geometry.shape(f["geometry"])
            assert np.array_equal(fill(shape, ids.shape), ids == m["object"])
        for a in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            mask = coco.annToMask(a).astype(bool)
            object_id = ids[mask][0]
            assert np.array_equal(mask, ids == object_id) and a["area"] == mine.loc[object_id, "area_px"]
            assert 0 < a["score"] <= 1
            assert coco.loadCats(a["category_id"])[0]["name"] == mine.loc[object_id, "class"]


def test_ome_tiff_carries_pixel_size_and_class_names(tmp_path):
    mask = np.zeros((30, 40), np.uint8)
    mask[5:9, 3:20] = 2
    data = ome_tiff(mask, {0: "background", 1: "nucleus", 2: "cell"}, 0.325, "a")
    path = tmp_path / "a.ome.tif"
    path.write_bytes(data)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        assert 'PhysicalSizeX="0.325"' in tif.ome_metadata and 'PhysicalSizeXUnit="µm"' in tif.ome_metadata
        assert np.array_equal(tif.asarray(), mask)
    values, size, names = read_ome_tiff(data)
    assert size == 0.325 and names == {0: "background", 1: "nucleus", 2: "cell"}
    assert read_ome_tiff(ome_tiff(mask.astype(np.uint16), {1: "cell"}))[1] is None  # no pixel size: none claimed


def test_bioimageio_package_passes_the_official_validation_and_test(tiny_run, tmp_path):
    from bioimageio.core import test_model
    from bioimageio.spec import load_description
    from bioimageio.spec.model.v0_5 import ModelDescr

    path = tmp_path / "model.zip"
    res = cli("export", "--run", str(tiny_run.path), "--format", "bioimageio", "--out", str(path))
    assert res.returncode == 0, res.stderr
    descr = load_description(path)
    assert isinstance(descr, ModelDescr), descr.validation_summary.format()
    assert descr.validation_summary.status in ("valid-format", "passed")
    assert descr.weights.onnx is not None and descr.weights.torchscript is not None
    assert [a.id for a in descr.inputs[0].axes] == ["batch", "channel", "y", "x"]
    assert [str(n) for n in descr.outputs[0].axes[1].channel_names] == tiny_run.classes.names
    summary = test_model(path)
    assert summary.status == "passed", summary.format()


def test_bioimageio_export_without_the_runs_images_says_so(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run.path, run)
    config = json.loads((run / "config.json").read_text())
    config["data"] = str(tmp_path / "gone")
    (run / "config.json").write_text(json.dumps(config))
    res = cli("export", "--run", str(run), "--format", "bioimageio", "--out", str(tmp_path / "m.zip"))
    assert res.returncode == 2, res.stderr
    assert "needs one of the run's images as its test input" in res.stderr and str(tmp_path / "gone") in res.stderr
    assert not (tmp_path / "m.zip").exists()


def test_measure_gives_a_stack_one_geojson_with_each_object_on_its_plane_and_a_coco_image_per_plane(tiny_run, tiny_data,
                                                                                                 tmp_path):
    from PIL import Image

    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((tiny_data / "images").iterdir())])
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "cells.tif", images[:3], imagej=True, metadata={"axes": "ZYXS"})
    Image.fromarray(images[4]).save(tmp_path / "in" / "flat.png")
    out = tmp_path / "o"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tmp_path / "in"), "--out", str(out),
              "--min-size", "3", "--min-confidence", "0", "--json")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (out / "geojson").iterdir()) == ["cells.geojson", "flat.geojson"]
    assert {r["image"]: r["geojson"] for r in json.loads(res.stdout)["images"]}["cells.tif"] == "geojson/cells.geojson"
    objects = pd.read_csv(out / "objects.csv", keep_default_na=False)
    pages = tifffile.imread(out / "instances" / "cells.tif")
    features = json.loads((out / "geojson" / "cells.geojson").read_text())["features"]
    assert len(features) == len(objects[objects["image"] == "cells.tif"]) > 0
    for z in range(3):  # QuPath's plane in the geometry; the outlines fill exactly that page's objects
        mine = [f for f in features if f["geometry"]["plane"] == {"c": -1, "z": z, "t": 0}]
        assert {f["properties"]["plane"] for f in mine} <= {f"z{z:02d}"}
        assert sorted(f["properties"]["measurements"]["object"] for f in mine) == list(range(1, int(pages[z].max()) + 1))
        for f in mine:
            ids = pages[z] == f["properties"]["measurements"]["object"]
            assert np.array_equal(fill(shapely.geometry.shape(f["geometry"]), ids.shape), ids)
    coco = COCO(str(out / "coco.json"))
    planes = {im["file_name"]: im for im in coco.loadImgs(coco.getImgIds())}
    assert sorted(planes) == ["cells_z00", "cells_z01", "cells_z02", "flat.png"]
    for z in range(3):
        im = planes[f"cells_z{z:02d}"]
        assert (im["stack"], im["plane"], im["height"], im["width"]) == ("cells.tif", f"z{z:02d}", 64, 64)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=im["id"]))
        assert len(anns) == int(pages[z].max())
        for a in anns:
            mask = coco.annToMask(a).astype(bool)
            assert np.array_equal(mask, pages[z] == pages[z][mask][0])


def test_a_stacks_geojson_imported_again_gives_each_plane_its_objects(tiny_run, tiny_data, tmp_path):
    from PIL import Image

    from seg_core.base.classes import ClassList
    from seg_core.workspace.workspace import Workspace

    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((tiny_data / "images").iterdir())])
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "cells.tif", images[:3], imagej=True, metadata={"axes": "ZYXS"})
    out = tmp_path / "o"
    res = cli("measure", "--run", str(tiny_run.path), "--images", str(tmp_path / "in"), "--out", str(out),
              "--min-size", "3", "--min-confidence", "0")
    assert res.returncode == 0, res.stderr
    objects = pd.read_csv(out / "objects.csv", keep_default_na=False)
    pages = tifffile.imread(out / "instances" / "cells.tif")
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    classes = ClassList.load(tiny_data / "classes.json")
    classes.save(ws.root / "data" / "classes.json")
    res = cli("import", "--workspace", str(ws.root), str(tmp_path / "in" / "cells.tif"))
    assert res.returncode == 0, res.stdout
    res = cli("import", "--workspace", str(ws.root), str(out / "geojson" / "cells.geojson"))
    assert res.returncode == 0, res.stdout
    for z in range(3):  # each plane's mask: its objects in their classes, nothing from the other planes
        rows = objects[(objects["image"] == "cells.tif") & (objects["plane"] == f"z{z:02d}")]
        want = np.zeros(pages[z].shape, np.uint8)
        for obj, name in zip(rows["object"], rows["class"]):
            want[pages[z] == obj] = classes.names.index(name)
        got = ws.read_mask(f"cells_z{z:02d}")
        assert (got is None and not want.any()) or np.array_equal(got, want), z
    assert sum(ws.read_mask(f"cells_z{z:02d}") is not None for z in range(3)) >= 1
    # a plane the workspace lacks is refused, naming it, and nothing is saved
    doc = json.loads((out / "geojson" / "cells.geojson").read_text())
    doc["features"][0]["geometry"]["plane"]["z"] = 7
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cells.geojson").write_text(json.dumps(doc))
    before = {p.name: p.read_bytes() for p in (ws.root / "data" / "masks").iterdir()}
    res = cli("import", "--workspace", str(ws.root), "--replace", str(tmp_path / "bad" / "cells.geojson"))
    assert "objects on plane z 7 of 'cells', but the workspace has no such plane" in res.stdout, res.stdout
    assert {p.name: p.read_bytes() for p in (ws.root / "data" / "masks").iterdir()} == before
