"""Annotations refused with a message naming the file, the object and the problem, nothing saved changed;
unknown classes mapped or added; instance label images kept."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from helpers import cli
from seg_core.base.classes import ClassList


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    for sub in ("images", "masks"):
        (ws / "data" / sub).mkdir(parents=True)
    ClassList(["background", "nucleus", "cell"], ignore_index=255).save(ws / "data" / "classes.json")
    Image.fromarray(np.full((40, 50, 3), 120, np.uint8)).save(ws / "data" / "images" / "a.png")
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(ws / "data" / "images" / "b.png")
    mask = np.zeros((40, 50), np.uint8)
    mask[5:10, 5:10] = 2
    Image.fromarray(mask).save(ws / "data" / "masks" / "b.png")
    return ws


def _saved(ws: Path) -> dict:
    return {str(p.relative_to(ws)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((ws / "data").rglob("*")) if p.is_file()}


def _feature(coords, name="nucleus", label=None):
    props = {"objectType": "annotation", "classification": {"name": name, "color": [200, 0, 0]}}
    if label:
        props["name"] = label
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]}, "properties": props}


SQUARE = [[10, 10], [30, 10], [30, 25], [10, 25], [10, 10]]
BOW_TIE = [[10, 10], [30, 25], [30, 10], [10, 25], [10, 10]]


def _refused(ws, path, *flags) -> str:
    before = _saved(ws)
    res = cli("import", "--workspace", str(ws), str(path), "--json", *flags)
    rep = json.loads(res.stdout)
    assert rep["files"][0]["status"] == "refused", rep
    assert _saved(ws) == before  # nothing saved changed
    return rep["files"][0]["reason"]


@pytest.mark.parametrize("name, content, said", [
    ("a.geojson", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
    ("nope.geojson", json.dumps({"type": "FeatureCollection", "features": [_feature(SQUARE)]}).encode(),
     "no image named 'nope' in the workspace"),
    ("a.geojson", json.dumps({"type": "FeatureCollection", "features": [
        _feature(SQUARE), _feature(BOW_TIE, label="the bow tie")]}).encode(),
     "object 2 'the bow tie' (class 'nucleus'): its outline crosses itself at x=20, y=17.5"),
    ("a.geojson", json.dumps([_feature(SQUARE, "Tumor")]).encode(),
     "class(es) the workspace does not have: 'Tumor' (object 1 (class 'Tumor') on a.geojson)"),
    ("a.geojson", json.dumps([_feature([[100, 100], [120, 100], [120, 120], [100, 100]])]).encode(),
     "object 1 (class 'nucleus') covers no pixel of image a (50x40)"),
    ("b.geojson", json.dumps([_feature(SQUARE)]).encode(), "'b' already has a mask"),
    ("export.json", json.dumps({"images": [{"id": 1, "file_name": "x/a.png", "height": 40, "width": 50}],
                                "categories": [{"id": 1, "name": "nucleus"}],
                                "annotations": [{"id": 7, "image_id": 1, "category_id": 1,
                                                 "segmentation": [[10, 10, 30, 25, 30, 10, 10, 25]]}]}).encode(),
     "annotation 7 (class 'nucleus', on x/a.png): its outline crosses itself"),
    ("export.json", json.dumps({"images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 50},
                                           {"id": 2, "file_name": "zz.png", "height": 40, "width": 50}],
                                "categories": [{"id": 1, "name": "nucleus"}],
                                "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                                 "segmentation": [[10, 10, 30, 10, 30, 25]]},
                                                {"id": 2, "image_id": 2, "category_id": 1,
                                                 "segmentation": [[10, 10, 30, 10, 30, 25]]}]}).encode(),
     "zz.png: no image named 'zz'"),
    ("export.json", b'{"something": "else"}', "neither COCO"),
])
def test_bad_annotations_are_refused_naming_file_and_object(tmp_path, name, content, said):
    ws = _ws(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    reason = _refused(ws, path)
    assert said in reason, reason


def test_unknown_classes_mapped_or_added(tmp_path):
    ws = _ws(tmp_path)
    path = tmp_path / "a.geojson"
    path.write_text(json.dumps([_feature(SQUARE, "Tumor"), _feature([[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]], "Nucleus")]))
    reason = _refused(ws, path)
    assert "--map-class Tumor=cell" in reason and "--add-classes" in reason
    res = cli("import", "--workspace", str(ws), str(path), "--map-class", "Tumor=cell")
    assert res.returncode == 0, res.stdout + res.stderr
    mask = np.array(Image.open(ws / "data" / "masks" / "a.png"))
    assert (mask[10:25, 10:30] == 2).all() and (mask[0:5, 0:5] == 1).all()  # "Nucleus" is ours, letter case aside
    assert mask.sum() == 15 * 20 * 2 + 25
    res = cli("import", "--workspace", str(ws), str(path), "--add-classes", "--replace", "--json")
    assert json.loads(res.stdout)["files"][0]["status"] == "imported", res.stdout
    classes = ClassList.load(ws / "data" / "classes.json")
    assert classes.names == ["background", "nucleus", "cell", "Tumor"] and classes.colours[3] == (200, 0, 0)
    assert (np.array(Image.open(ws / "data" / "masks" / "a.png"))[10:25, 10:30] == 3).all()


def test_instance_label_image_becomes_the_named_class_and_is_kept(tmp_path):
    ws = _ws(tmp_path)
    ids = np.zeros((40, 50), np.uint16)
    ids[2:8, 2:8], ids[20:30, 20:35] = 7, 300
    path = tmp_path / "a_instances.tif"
    tifffile.imwrite(path, ids)
    reason = _refused(ws, path)
    assert "--instance-class" in reason
    assert "'tumor'" in _refused(ws, path, "--instance-class", "tumor")
    res = cli("import", "--workspace", str(ws), str(path), "--instance-class", "cell")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 object(s) of class cell" in res.stdout
    assert np.array_equal(np.array(Image.open(ws / "data" / "masks" / "a.png")), np.where(ids > 0, 2, 0))
    assert np.array_equal(tifffile.imread(ws / "data" / "instances" / "a.tif"), ids)


def test_a_malformed_map_class_is_said_before_anything_is_made(tmp_path):
    res = cli("import", "--workspace", str(tmp_path / "new"), str(tmp_path / "a.geojson"), "--map-class", "Tumor")
    assert res.returncode == 2 and "--map-class Tumor: write it as THEIRS=OURS" in res.stderr
    assert not (tmp_path / "new").exists()


def test_a_zip_of_an_image_and_its_geojson_gives_the_image_and_its_mask(tmp_path):
    import io
    import zipfile

    ws = _ws(tmp_path)
    png = io.BytesIO()
    Image.fromarray(np.full((40, 50, 3), 60, np.uint8)).save(png, format="PNG")
    path = tmp_path / "from_qupath.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("images/c.png", png.getvalue())
        z.writestr("c.geojson", json.dumps({"type": "FeatureCollection", "features": [_feature(SQUARE, "cell")]}))
    res = cli("import", "--workspace", str(ws), str(path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "from_qupath.zip: c.geojson: imported as c (annotations); 1 object(s)" in res.stdout
    mask = np.array(Image.open(ws / "data" / "masks" / "c.png"))
    assert (mask[10:25, 10:30] == 2).all() and mask.sum() == 2 * 15 * 20
