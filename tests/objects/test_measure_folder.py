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


def test_the_intensity_columns_name_an_rgb_image_s_further_bands_after_red_green_blue(tmp_path):
    """An RGB image with a near-infrared band: mean_red .. mean_channel_4 of its values as stored; a gray image
    the file does not name: channel_1; a file's own names as they are."""
    from seg_core.objects.folder import stored_values
    from seg_core.objects.instances import label_objects
    from seg_core.objects.measure import measure_objects

    rgbn = np.full((16, 16, 4), 1000, np.uint16)
    rgbn[4:8, 4:8] = (2000, 3000, 4000, 50000)
    tifffile.imwrite(a := tmp_path / "field.tif", rgbn, photometric="rgb", extrasamples=["unspecified"])
    tifffile.imwrite(b := tmp_path / "gray.tif", rgbn[..., 3])
    tifffile.imwrite(c := tmp_path / "named.tif", rgbn[..., :2].transpose(2, 0, 1).copy(), ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 1
    objs = label_objects(mask, settings=ObjectSettings(split_touching=False, min_size=1), num_classes=2)
    columns = {}
    for path in (a, b, c):
        raw = stored_values(path, ObjectSettings())
        table = measure_objects(objs, raw.values, ["background", "field"], path.name, channels=raw.channels)
        columns[path.name] = [col for col in table.columns if col.startswith("mean_")]
        if path is a:
            assert table["mean_channel_4"].iloc[0] == 50000 and table["sum_blue"].iloc[0] == 4000 * 16
    assert columns == {"field.tif": ["mean_red", "mean_green", "mean_blue", "mean_channel_4"],
                       "gray.tif": ["mean_channel_1"], "named.tif": ["mean_DAPI", "mean_GFP"]}
