"""Whole slides: opened lazily, registered and regions taken as images, predicted tile by tile into a pyramid
(glass skipped, cancel and resume), objects counted across tiles once each; through the library and the CLI."""
import json
import threading

import numpy as np
import pandas as pd
import pytest
import shapely.geometry
import tifffile
from PIL import Image
from shapely import affinity

from helpers import cli
from slide_fixtures import slide_file, slide_image, small_limit  # noqa: F401 (fixtures)
from seg_core.base.progress import Cancelled
from seg_core.exchange.outlines import fill
from seg_core.infer.predictor import Predictor
from seg_core.objects.instances import label_objects
from seg_core.objects.measure import measure_objects
from seg_core.objects.settings import ObjectSettings
from seg_core.slides.objects import slide_objects
from seg_core.slides.folder import predict_slides
from seg_core.slides.predict import predict_slide
from seg_core.slides.reader import is_slide, open_slide


def test_a_slide_opens_with_its_levels_tile_and_pixel_size(slide_file, slide_image, small_limit):
    with open_slide(slide_file) as s:
        assert (s.width, s.height) == (2816, 2304)
        assert [(lv.width, lv.height, lv.downsample) for lv in s.levels] == [(2816, 2304, 1), (1408, 1152, 2),
                                                                            (704, 576, 4)]
        assert s.tile == (256, 256) and s.mpp == 0.5
        region = s.read(300, 200, 400, 100).astype(int)
        assert region.shape == (100, 400, 3)
        assert np.abs(region - slide_image[200:300, 300:700]).mean() < 8  # JPEG tiles
        overview, ds = s.overview(1000)
        assert max(overview.shape[:2]) == 1000 and ds == pytest.approx(2.816)
    assert is_slide(slide_file)


def test_the_pixel_limit_bounds_what_is_read_at_once_not_the_file(slide_file, monkeypatch):
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "100000")
    with open_slide(slide_file) as s:
        assert s.read(0, 0, 300, 300).shape == (300, 300, 3)
        with pytest.raises(ValueError, match=r"biopsy.ome.tif: a region of 400x400 = 0.2 megapixels is more than "
                                             r"is read at once .*SEG_CORE_MAX_PIXELS"):
            s.read(0, 0, 400, 400)
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "100000000")
    assert not is_slide(slide_file)  # under the limit it is an image like any other


def test_formats_only_openslide_reads_say_how_to_convert(tmp_path):
    f = tmp_path / "scan.mrxs"
    f.write_bytes(b"x")
    with pytest.raises(ValueError, match="scan.mrxs: .mrxs slides are read by OpenSlide.*pyramidal OME-TIFF"):
        open_slide(f)


def test_import_registers_a_slide_and_adds_a_region_as_an_image(slide_file, slide_image, tmp_path, small_limit):
    ws = tmp_path / "ws"
    res = cli("import", "--workspace", str(ws), str(slide_file), "--json")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)["files"][0]
    assert (row["status"], row["name"], row["kind"]) == ("imported", "biopsy", "slide")
    assert "no pixels copied" in row["reason"]
    assert not list((ws / "data" / "images").glob("*")) if (ws / "data" / "images").exists() else True
    rec = json.loads((ws / "slides" / "biopsy.json").read_text())
    assert rec["file"] == str(slide_file.resolve()) and (rec["width"], rec["height"]) == (2816, 2304)

    res = cli("import", "--workspace", str(ws), str(slide_file), "--region", "512,256,300,200")
    assert res.returncode == 0, res.stderr
    assert "imported as biopsy_x512_y256_w300_h200" in res.stdout
    img = np.asarray(Image.open(ws / "data" / "images" / "biopsy_x512_y256_w300_h200.png"))
    assert img.shape == (200, 300, 3) and np.abs(img.astype(int) - slide_image[256:456, 512:812]).mean() < 8
    rec = json.loads((ws / "slides" / "biopsy.json").read_text())
    assert rec["regions"] == [{"image": "biopsy_x512_y256_w300_h200", "x": 512, "y": 256, "w": 300, "h": 200}]

    res = cli("import", "--workspace", str(ws), str(slide_file), "--region", "2700,0,300,200")
    assert res.returncode == 1
    assert "biopsy.ome.tif: refused: the region 2700,0,300,200 reaches beyond the slide (2816x2304 pixels)" in res.stdout
    res = cli("import", "--workspace", str(ws), str(slide_file), "--region", "1,2,3")
    assert "a region is X,Y,W,H" in res.stderr + res.stdout and res.returncode != 0


def _slide_predictor(tiny_run):
    return Predictor(tiny_run)


def test_predict_skips_glass_writes_the_pyramid_and_resumes_after_a_cancel(tiny_run, slide_file, tmp_path):
    pred = _slide_predictor(tiny_run)
    with open_slide(slide_file) as s:  # at level 1 (1408 x 1152), in tiles of 256: 6 x 5 tiles
        res = predict_slide(s, pred.predict, pred.classes, tmp_path / "whole", level=1, tile=256, model_id="tiny")
        assert (res.tiles, res.skipped, res.resumed) == (25, 5, 0)  # the last column of tiles is glass
        assert not res.store.folder.exists() or res.store.done(0, 0)
        cancel = threading.Event()

        def progress(count):
            if count.done == 7:
                cancel.set()
        kw = dict(level=2, tile=128, model_id="tiny")  # 704 x 576: cheaper
        with pytest.raises(Cancelled, match=r"biopsy.ome.tif: cancelled after 7 of 25 tiles; the tiles done are "
                                            r"kept in .*run the same prediction again"):
            predict_slide(s, pred.predict, pred.classes, tmp_path / "again", progress=progress, cancel=cancel, **kw)
        assert not (tmp_path / "again" / "masks" / "biopsy.ome.tif").exists()
        again = predict_slide(s, pred.predict, pred.classes, tmp_path / "again", **kw)
        assert (again.resumed, again.tiles) == (7, 25)
        once = predict_slide(s, pred.predict, pred.classes, tmp_path / "once", **kw)
    assert np.array_equal(tifffile.imread(once.mask), tifffile.imread(again.mask))  # resumed = in one go
    with tifffile.TiffFile(res.mask) as tf:
        levels = tf.series[0].levels
        assert [lv.shape for lv in levels] == [(1152, 1408), (576, 704)]  # the slide's levels from 1 on
        assert tf.pages[0].is_tiled and tf.pages[0].tilewidth == 256 and tf.is_ome
        assert 'PhysicalSizeX="1.0"' in tf.ome_metadata  # 0.5 µm at level 0
        full = levels[0].asarray()
        assert np.array_equal(levels[1].asarray(), full[1::2, 1::2])  # the nearest pixel, never averaged
    assert (full[:, 1280:] == 0).all()  # glass: background, not predicted
    assert set(np.unique(full)) <= {0, 1, 2} and (full[:, :1000] > 0).mean() > 0.05


def test_objects_across_tiles_equal_the_objects_of_the_same_pixels_as_one_image(tiny_run, slide_file, tmp_path):
    pred = _slide_predictor(tiny_run)
    settings = ObjectSettings(split_touching=False, min_size=3, min_confidence=0.6)
    with open_slide(slide_file) as s:  # level 2 (704 x 576) in tiles of 128: objects cut by 40 tile edges
        res = predict_slide(s, pred.predict, pred.classes, tmp_path, level=2, tile=128, model_id="tiny",
                            tissue=False)
        read = lambda x, y, w, h: s.read(x, y, w, h, 2)  # noqa: E731
        shapes = []
        tiled, faint = slide_objects(res.store, read, pred.classes.names, settings, s.name, downsample=4, margin=48,
                                     outlines=shapes)
        mask, conf = res.store.read(0, 0, 704, 576)
        image = read(0, 0, 704, 576)
    whole_objs = label_objects(mask, None, settings, len(pred.classes), conf)
    whole = measure_objects(whole_objs, image, pred.classes.names, s.name)
    for col in ("centroid_y", "centroid_x", "bbox_min_y", "bbox_min_x", "bbox_max_y", "bbox_max_x"):
        whole[col] = whole[col] * 4  # slide coordinates: full-resolution pixels
    assert len(tiled) > 20 and len(tiled) == len(whole) and faint == whole_objs.faint
    key = ["class", "area_px", "centroid_y", "centroid_x", "bbox_min_y", "bbox_min_x", "bbox_max_y", "bbox_max_x"]
    a = tiled[key].round(6).sort_values(key).reset_index(drop=True)
    b = whole[key].round(6).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert list(tiled["object"]) == list(range(1, len(tiled) + 1))
    # each outline (full-resolution slide pixels) is exactly the pixels of one object of the level, cut or not
    assert len(shapes) == len(tiled)
    for shape, (_, row) in zip(shapes, tiled.iterrows()):
        pixels = fill(affinity.scale(shape, 0.25, 0.25, origin=(0, 0)), whole_objs.labels.shape)
        ids = np.unique(whole_objs.labels[pixels])
        assert len(ids) == 1 and ids[0] > 0 and pixels.sum() == (whole_objs.labels == ids[0]).sum() == row["area_px"]


def test_predict_and_measure_commands_handle_a_slide_in_the_folder(tiny_run, slide_file, tiny_data, tmp_path,
                                                                     small_limit):
    images = tmp_path / "images"
    images.mkdir()
    (images / slide_file.name).symlink_to(slide_file)
    (images / "small.png").write_bytes((tiny_data / "images" / sorted(p.name for p in
                                        (tiny_data / "images").iterdir())[0]).read_bytes())
    out = tmp_path / "out"
    res = cli("predict", "--run", str(tiny_run.path), "--images", str(images), "--out", str(out), "--level", "1")
    assert res.returncode == 0, res.stderr
    assert "wrote 2 masks" in res.stdout and "skipped" not in res.stdout
    assert (out / "masks" / "small.png").is_file() and (out / "overlays" / "biopsy.png").is_file()
    with tifffile.TiffFile(out / "masks" / "biopsy.ome.tif") as tf:
        assert [lv.shape for lv in tf.series[0].levels] == [(1152, 1408), (576, 704)]  # from level 1 on
        assert "PhysicalSizeX=\"1.0\"" in tf.ome_metadata
    assert not list((out / "masks").glob(".*"))  # the tiles kept while it ran are gone

    res = cli("measure", "--run", str(tiny_run.path), "--images", str(images), "--out", str(out), "--json",
              "--min-size", "3", "--level", "2")
    assert res.returncode == 0, res.stderr
    rows = {r["image"]: r for r in json.loads(res.stdout)["images"]}
    objects, summary = pd.read_csv(out / "objects.csv"), pd.read_csv(out / "images.csv")
    mine = objects[objects["image"] == "biopsy.ome.tif"]
    assert rows["biopsy.ome.tif"]["objects"] == len(mine) > 0
    assert mine["centroid_x"].between(0, 2816).all() and mine["centroid_y"].between(0, 2304).all()
    assert mine["centroid_x"].max() > 1024  # full-resolution slide coordinates (level 2 is 704 wide)
    counts = summary[summary["image"] == "biopsy.ome.tif"].set_index("class")["count"]
    assert counts.sum() == len(mine)
    assert (objects["image"] == "small.png").any()
    features = json.loads((out / rows["biopsy.ome.tif"]["geojson"]).read_text())["features"]  # QuPath's detections
    assert rows["biopsy.ome.tif"]["geojson"] == "geojson/biopsy.geojson" and len(features) == len(mine)
    assert all(f["properties"]["objectType"] == "detection" for f in features)
    right = max(shapely.geometry.shape(f["geometry"]).bounds[2] for f in features)
    assert right == pytest.approx(mine["bbox_max_x"].max(), abs=4)  # slide pixels, as the table's positions


def test_a_cancelled_folder_keeps_the_other_images_rows_and_says_how_to_resume(tiny_run, slide_file, tmp_path,
                                                                               small_limit):
    images = tmp_path / "images"
    images.mkdir()
    (images / slide_file.name).symlink_to(slide_file)
    cancel = threading.Event()
    cancel.set()
    rows = [{"image": "a.png", "mask": "masks/a.png"}, {"image": slide_file.name, "error": "too large"}]
    with pytest.raises(Cancelled, match="biopsy.ome.tif: cancelled after 0 of 1 tiles") as err:
        predict_slides(lambda: Predictor(tiny_run), "tiny", images, tmp_path / "out", rows, level=2, cancel=cancel)
    assert err.value.partial == rows[:1]  # the slide's "too large" row replaced by its own, not yet written


def test_predict_with_an_exported_model_writes_the_slides_pyramid_as_the_run_does(tiny_run, slide_file, tmp_path,
                                                                                 small_limit):
    images = tmp_path / "images"
    images.mkdir()
    (images / slide_file.name).symlink_to(slide_file)
    res = cli("export", "--run", str(tiny_run.path), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert res.returncode == 0, res.stderr
    for name, source in (("run", ["--run", str(tiny_run.path)]), ("model", ["--model", str(tmp_path / "m.onnx")])):
        res = cli("predict", *source, "--images", str(images), "--out", str(tmp_path / name), "--level", "1",
                  "--no-crf", "--no-tta")
        assert res.returncode == 0, res.stderr
    run, model = (tifffile.imread(tmp_path / name / "masks" / "biopsy.ome.tif") for name in ("run", "model"))
    assert run.shape == model.shape == (1152, 1408)
    assert (run == model).mean() >= 0.995 and len(np.unique(model)) >= 2  # the ONNX model, without torch


def _tiled_objects(mask: np.ndarray, tmp_path, name: str):
    """The objects of ``mask`` (classes background and cell, sure everywhere) counted as one image and tile by
    tile (tiles of 64, margins of 16): (one image's Objects, the tiled table, the tiled faint count)."""
    from seg_core.slides.store import Grid, TileStore

    conf = np.full(mask.shape, 255, np.uint8)
    grid = Grid(mask.shape[1], mask.shape[0], 64)
    store = TileStore(tmp_path / "tiles", grid, {})
    for r, c in grid.cells():
        x0, y0, x1, y1 = grid.box(r, c)
        store.save(r, c, mask[y0:y1, x0:x1], conf[y0:y1, x0:x1])
    settings = ObjectSettings(split_touching=False, min_size=3)
    read = lambda x, y, w, h: np.zeros((h, w, 3), np.uint8)  # noqa: E731
    tiled, faint = slide_objects(store, read, ["background", "cell"], settings, name, margin=16)
    return label_objects(mask, None, settings, 2, conf), tiled, faint


def test_an_object_in_the_hole_of_one_larger_than_a_tile_is_part_of_it_as_in_one_image(tmp_path):
    """A ring of cells wider than any tile's window, with a small piece of the same class in its hole: one image
    fills the ring's hole and counts one object; counted tile by tile (the ring followed whole), the same."""
    mask = np.zeros((256, 256), np.uint8)
    mask[20:236, 20:236] = 1
    mask[30:226, 30:226] = 0
    mask[120:126, 120:126] = 1  # in the hole, far from the ring
    whole, tiled, faint = _tiled_objects(mask, tmp_path, "ring")
    assert len(whole) == 1 and len(tiled) == 1 and faint == 0
    assert tiled["area_px"].iloc[0] == 216 * 216  # the ring with its hole filled, as one image measures it


def test_an_object_seen_whole_by_its_tile_and_cut_by_the_next_is_counted_once(tmp_path):
    """A bar across a tile edge, whole in its own tile's window (core and margin) and cut by the next tile's: the
    next tile follows it whole, its own tile keeps it, and it is counted once, as in one image."""
    mask = np.zeros((128, 192), np.uint8)
    mask[100:104, 40:76] = 1  # first pixel in the core of tile (1, 0) (x 0-63); x 64-75 in the next tile's core
    mask[20:30, 150:160] = 1  # an object inside one tile
    whole, tiled, faint = _tiled_objects(mask, tmp_path, "bar")
    assert len(whole) == 2
    assert len(tiled) == 2 and faint == 0
    assert sorted(tiled["area_px"]) == [100, 36 * 4]
