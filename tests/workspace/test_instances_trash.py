"""An instance label image imported with an image (kept for object scores) goes to the trash with its image and
mask, comes back with them, and follows the mask it describes when that is replaced."""
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from helpers import cli
from seg_core.base.classes import ClassList
from seg_core.workspace.workspace import Workspace


def _ws_with_instances(tmp_path):
    root = tmp_path / "ws"
    ws = Workspace(root, seed_sample=False)
    ClassList(["background", "nucleus"], ignore_index=255).save(ws.classes_file)
    Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(ws.images_dir / "a.png")
    ids = np.zeros((30, 40), np.uint16)
    ids[2:8, 2:8], ids[15:25, 20:35] = 4, 9
    tifffile.imwrite(tmp_path / "a_instances.tif", ids)
    res = cli("import", "--workspace", str(root), str(tmp_path / "a_instances.tif"), "--instance-class", "nucleus")
    assert res.returncode == 0, res.stdout + res.stderr
    assert np.array_equal(tifffile.imread(ws.instances_path("a")), ids)
    return ws, ids


def test_removing_an_image_trashes_its_instances_and_restoring_brings_them_back(tmp_path):
    ws, ids = _ws_with_instances(tmp_path)
    mask = ws.read_mask("a")
    where = ws.remove("a")
    assert ws.stems() == [] and not ws.instances_path("a").exists() and ws.read_mask("a") is None
    assert np.array_equal(tifffile.imread(where / "data" / "instances" / "a.tif"), ids)
    restored = ws.restore_removed(where)
    assert sorted(p.relative_to(ws.root).as_posix() for p in restored) == [
        "data/images/a.png", "data/instances/a.tif", "data/masks/a.png"]
    assert ws.stems() == ["a"] and np.array_equal(ws.read_mask("a"), mask)
    assert np.array_equal(tifffile.imread(ws.instances_path("a")), ids)


def test_a_removed_image_is_not_restored_over_a_new_image_of_its_name(tmp_path):
    ws, ids = _ws_with_instances(tmp_path)
    where = ws.remove("a")
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(ws.images_dir / "a.png")
    with pytest.raises(ValueError, match="an image named 'a' is in the project again"):
        ws.restore_removed(where)
    assert ws.read_mask("a") is None and not ws.instances_path("a").exists()  # nothing moved
    assert (where / "data" / "instances" / "a.tif").is_file()


def test_replacing_the_mask_moves_the_instances_of_the_old_one_to_the_trash(tmp_path):
    ws, ids = _ws_with_instances(tmp_path)
    square = [[10, 10], [30, 10], [30, 25], [10, 25], [10, 10]]
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [square]}, "properties": {"classification": {"name": "nucleus"}}}]}
    (tmp_path / "a.geojson").write_text(json.dumps(doc))
    res = cli("import", "--workspace", str(ws.root), str(tmp_path / "a.geojson"), "--replace")
    assert res.returncode == 0, res.stdout + res.stderr
    assert not ws.instances_path("a").exists()  # it described the old mask's objects
    trashed = list((ws.root / "trash").glob("*_a/data/instances/a.tif"))
    assert len(trashed) == 1 and np.array_equal(tifffile.imread(trashed[0]), ids)
