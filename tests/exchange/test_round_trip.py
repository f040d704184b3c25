"""Masks out as QuPath GeoJSON and COCO and back in through ``python -m seg_core import``, on real images:
the same masks. Each file read by its own library (shapely for the polygons, pycocotools for COCO)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely.geometry
import tifffile
from PIL import Image
from pycocotools.coco import COCO

from helpers import cli
from seg_core.base.classes import ClassList
from seg_core.exchange.coco import CocoWriter
from seg_core.exchange.geojson import feature_collection, to_bytes
from seg_core.exchange.outlines import fill, outlines

DATA = Path("/work/shared/data")
NUCLEI = DATA / "nuclei-he"
HELA = DATA / "fluo-ctc" / "hela"
pytestmark = pytest.mark.skipif(not NUCLEI.is_dir(), reason="the shared real data is not on this machine")


def _instances(path: Path) -> np.ndarray:
    return tifffile.imread(path) if path.suffix == ".tif" else np.array(Image.open(path))


def _workspace(tmp_path: Path, image: Path, names=("background", "nucleus")) -> Path:
    ws = tmp_path / "ws"
    for sub in ("images", "masks"):
        (ws / "data" / sub).mkdir(parents=True)
    ClassList(list(names)).save(ws / "data" / "classes.json")
    shutil.copy(image, ws / "data" / "images" / image.name)
    return ws


def _mask(ws: Path, stem: str) -> np.ndarray:
    return np.array(Image.open(ws / "data" / "masks" / f"{stem}.png"))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.mark.parametrize("instances", [NUCLEI / "instances" / "image01.png", HELA / "instances" / "t13.tif"])
def test_outlines_filled_again_give_each_object_exactly(instances):
    ids = _instances(instances)
    shapes = outlines(ids)
    assert len(shapes) == ids.max() > 20
    for i, shape in enumerate(shapes, start=1):
        assert shape.is_valid
        back = shapely.geometry.shape(json.loads(json.dumps(shapely.geometry.mapping(shape))))  # as the file holds it
        assert np.array_equal(fill(back, ids.shape), ids == i), f"object {i}"


def test_geojson_out_and_in_gives_the_same_mask(tmp_path):
    image = NUCLEI / "images" / "image02.png"
    ids = _instances(NUCLEI / "instances" / "image02.png")
    ws = _workspace(tmp_path, image)
    n = int(ids.max())
    doc = feature_collection(ids, ["nucleus"] * n, {"nucleus": (0, 255, 0)})
    assert len(doc["features"]) == n
    f = doc["features"][0]["properties"]
    assert f["objectType"] == "detection" and f["classification"] == {"name": "nucleus", "color": [0, 255, 0]}
    path = tmp_path / "image02.geojson"
    path.write_bytes(to_bytes(doc))
    res = cli("import", "--workspace", str(ws), str(path), "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["files"][0]["status"] == "imported" and rep["files"][0]["name"] == "image02"
    mask = _mask(ws, "image02")
    assert _iou(mask == 1, ids > 0) >= 0.98
    assert np.array_equal(mask, (ids > 0).astype(np.uint8))  # outlines along pixel edges: exact (docs/export.md)


def test_coco_rle_and_polygons_in_give_the_same_mask(tmp_path):
    image = HELA / "images" / "t13.tif"
    ids = _instances(HELA / "instances" / "t13.tif")
    ws = _workspace(tmp_path, image)
    writer = CocoWriter(["background", "nucleus"])
    writer.add("frames/t13.tif", ids, np.ones(int(ids.max()), int))
    path = writer.write(tmp_path / "coco.json")
    coco = COCO(str(path))  # pycocotools reads what we wrote
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["nucleus"]
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == ids.max()
    for a in anns[:10]:
        assert np.array_equal(coco.annToMask(a).astype(bool), ids == ids[coco.annToMask(a).astype(bool)][0])
    res = cli("import", "--workspace", str(ws), str(path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert np.array_equal(_mask(ws, "t13"), (ids > 0).astype(np.uint8))  # RLE: exact

    # polygons, as CVAT and Roboflow write them, drawn by pycocotools: edge pixels may go either way
    doc = json.loads(path.read_text())
    for a, shape in zip(doc["annotations"], outlines(ids)):
        parts = shape.geoms if hasattr(shape, "geoms") else [shape]
        a["segmentation"] = [np.asarray(p.exterior.coords)[:-1].ravel().tolist() for p in parts]
    poly = tmp_path / "polygons.json"
    poly.write_text(json.dumps(doc))
    res = cli("import", "--workspace", str(ws), str(poly), "--replace")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _iou(_mask(ws, "t13") == 1, ids > 0) >= 0.98
