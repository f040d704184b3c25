"""The Review page's objects of the image in the viewer measure its values as stored (a 16-bit image's counts),
as ``measure`` does, not the 8-bit values the model reads."""
import io

import numpy as np
import pytest
import tifffile
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from page_helpers import page


def test_the_objects_of_the_viewed_image_have_its_stored_intensities(trained_copy, monkeypatch):
    from seg_core import Workspace

    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    ws = Workspace(trained_copy)
    stem = ws.stems()[0]
    png = ws.image_path(stem)
    counts = np.asarray(Image.open(png).convert("RGB")).astype(np.uint16) * 200 + 1000  # 16-bit: 1000 .. 52000
    png.unlink()
    tifffile.imwrite(png.with_suffix(".tif"), counts, photometric="rgb")
    at = page("review.py")
    at.session_state["review_image"] = stem
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "area_px" in d.value)
    ids = tifffile.imread(io.BytesIO(files[f"{stem}_instances.tif"]))
    assert len(table) > 0 and table["mean_red"].max() > 255
    for _, row in table.iterrows():
        inside = ids == row["object"]
        assert row["mean_red"] == pytest.approx(counts[..., 0][inside].mean()) and row["sum_blue"] == counts[..., 2][inside].sum()
