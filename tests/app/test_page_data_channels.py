"""The Data page (AppTest): a TIFF that names no axes shown with how it will be read and read as chosen, read
again after import in another order; files of one channel each joined as one image."""
import io

import numpy as np
import tifffile

from page_helpers import page, wait_for
from seg_core.data.imageio import read_raw


def _tiff(arr, **kw) -> bytes:
    b = io.BytesIO()
    tifffile.imwrite(b, arr, **kw)
    return b.getvalue()


def _pages() -> bytes:
    return _tiff(np.stack([np.full((16, 16), 100 * (i + 1), np.uint16) for i in range(3)]), metadata=None,
                 photometric="minisblack")


def _import_done(at, root):
    from seg_core import REGISTRY

    wait_for(lambda: not REGISTRY.active("import", str(root)), what="the import")
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_tiff_naming_no_axes_is_read_as_chosen_before_and_after_import(fresh_ws):
    at = page("data.py").run()
    at.file_uploader(key="up_images").set_value([("cells.tif", _pages(), "image/tiff")]).run()
    choice = at.selectbox(key="up_axes_cells.tif")
    assert choice.label == "cells.tif does not say what its 3 pages are. Read them as:"
    assert choice.value == "ZYX" and choice.format_func("CYX") == "one image of 3 channels (one stain or band each)"
    choice.set_value("CYX").run()
    next(b for b in at.button if b.label == "Import uploaded files").click().run()
    _import_done(at, fresh_ws)
    assert "cells" in list(at.dataframe[0].value["image"])
    assert read_raw(fresh_ws / "data" / "images" / "cells.tif")[0].shape == (16, 16, 3)

    at.file_uploader(key="up_images").set_value([("depth.tif", _pages(), "image/tiff")]).run()
    next(b for b in at.button if b.label == "Import uploaded files").click().run()  # the guess: depth
    _import_done(at, fresh_ws)
    assert {"depth_z00", "depth_z02"} <= set(at.dataframe[0].value["image"])
    assert "Files read by a guess" in [s.value for s in at.subheader]
    assert any("**depth.tif**: read as 3 planes of depth (depth_z00 … depth_z02)" in m.value for m in at.markdown)
    at.selectbox(key="axes_again_depth").set_value("TYX").run()
    at.button(key="axes_read_depth").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("depth.tif is now read as 3 planes over time (a time series): depth_t00 .. "
                                  "depth_t02 (3 images); the images read before are in trash/") for s in at.success)
    images = set(at.dataframe[0].value["image"])
    assert {"depth_t00", "depth_t01", "depth_t02"} <= images and "depth_z00" not in images
    assert "Files read by a guess" not in [s.value for s in at.subheader]


def test_files_of_one_channel_each_are_joined_as_one_image(fresh_ws):
    bands = [np.full((16, 20), v, np.uint16) for v in (10, 2000, 40000)]
    files = [(f"scene_{n}.tif", _tiff(b), "image/tiff") for n, b in zip(("red", "green", "nir"), bands)]
    at = page("data.py").run()
    at.file_uploader(key="join_files").set_value(files).run()
    assert any(c.value == "Channels: 1. red (scene_red.tif), 2. green (scene_green.tif), 3. nir (scene_nir.tif)"
               for c in at.caption)
    assert at.text_input(key="join_name").value == "scene"
    at.button(key="join_go").click().run()
    _import_done(at, fresh_ws)
    assert any(s.value == "Added 1 image(s): scene" for s in at.success)
    raw, _ = read_raw(fresh_ws / "data" / "images" / "scene.tif")
    assert raw.shape == (16, 20, 3) and [int(raw[0, 0, i]) for i in range(3)] == [10, 2000, 40000]

    at.file_uploader(key="join_files").set_value(files[:1] + [("small.tif", _tiff(np.zeros((8, 8), np.uint16)),
                                                                "image/tiff")]).run()
    at.text_input(key="join_name").set_value("other").run()
    at.button(key="join_go").click().run()
    _import_done(at, fresh_ws)
    assert any("scene_red.tif is 20x16 but small.tif is 8x8: the files joined must all be of one size" in e.value
               for e in at.error)
