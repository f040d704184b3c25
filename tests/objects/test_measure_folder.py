"""Several images measured in turn (the Review page's "all images"): tables, 16-bit TIFFs zipped, images
that cannot be read named, and a cancel."""
import io
import threading
import zipfile

import numpy as np
import pytest
import tifffile

from seg_core.base.progress import Cancelled
from seg_core.data.imageio import read_image
from seg_core.infer.predictor import Predictor
from seg_core.objects.folder import measure_images
from seg_core.objects.settings import ObjectSettings


def test_measure_images_zips_one_tiff_per_image_and_names_the_ones_left_out(tiny_run, tiny_data):
    stems = [p.stem for p in sorted((tiny_data / "images").iterdir())[:3]]

    def read(stem):
        if stem == "gone":
            raise FileNotFoundError(f"{stem}: removed meanwhile")
        return read_image(tiny_data / "images" / f"{stem}.png")

    counts = []
    res = measure_images(Predictor(tiny_run), stems + ["gone"], read, ObjectSettings(min_size=2), counts.append)
    assert res.left_out == ["gone: removed meanwhile"]
    assert [c.done for c in counts] == [1, 2, 3, 4] and counts[-1].what == "images measured"
    assert sorted(set(res.images["image"])) == stems
    with zipfile.ZipFile(io.BytesIO(res.instances_zip())) as z:
        assert sorted(z.namelist()) == [f"instances/{s}.tif" for s in stems]
        for s in stems:
            ids = tifffile.imread(io.BytesIO(z.read(f"instances/{s}.tif")))
            assert ids.dtype == np.uint16
            assert int(ids.max()) == (res.objects["image"] == s).sum() == res.images.loc[
                res.images["image"] == s, "count"].sum()

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="cancelled after 0 of 3 images; nothing was kept"):
        measure_images(Predictor(tiny_run), stems, read, ObjectSettings(), cancel=cancel)
