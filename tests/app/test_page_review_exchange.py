"""The Review page's downloads for other tools: this image's objects as QuPath GeoJSON, its object map and class
mask as OME-TIFF (pixel size and class names inside), all images' objects as COCO; each file read back by its
own library."""
import io
import json

import numpy as np
import shapely.geometry
import tifffile
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from page_helpers import elements, page, wait_for


def test_review_page_offers_geojson_ome_tiff_and_coco(trained_copy, monkeypatch, tmp_path):
    from pycocotools.coco import COCO

    from seg_core import REGISTRY

    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, (bytes, str)):
            files[filename] = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = page("review.py").run()
    at.number_input(key="obj_px").set_value(0.5).run()
    assert not at.exception, [e.value for e in at.exception]
    stem = at.selectbox(key="review_image").value
    table = next(d.value for d in at.dataframe if "area_px" in d.value)
    labels = [b.proto.label for b in elements(at, "download_button")]
    assert {"Download its objects for QuPath (GeoJSON)", "Download its object map for Fiji/napari (OME-TIFF)",
            "Download its predicted classes for Fiji/napari (OME-TIFF)"} <= set(labels)

    doc = json.loads(files[f"{stem}.geojson"])
    assert len(doc["features"]) == len(table) > 0
    for f in doc["features"]:
        row = table[table["object"] == f["properties"]["measurements"]["object"]].iloc[0]
        assert f["properties"]["classification"]["name"] == row["class"]
        assert f["properties"]["measurements"]["area_um2"] == row["area_um2"]
        assert shapely.geometry.shape(f["geometry"]).is_valid
    with tifffile.TiffFile(io.BytesIO(files[f"{stem}_objects.ome.tif"])) as tif:
        ids = tif.asarray()
        assert tif.is_ome and 'PhysicalSizeX="0.5"' in tif.ome_metadata
        assert f'<M K="1">{table.iloc[0]["class"]}</M>' in tif.ome_metadata
    assert ids.dtype == np.uint16 and ids.max() == len(table)
    with tifffile.TiffFile(io.BytesIO(files[f"{stem}_classes.ome.tif"])) as tif:
        assert tif.asarray().max() <= 2 and '<M K="2">nucleus</M>' in tif.ome_metadata

    at.button(key="objects_all_btn").click().run()
    wait_for(lambda: not REGISTRY.active("objects_all"), what="counting the objects of every image")
    at.run()
    assert "Download all objects for detection tools (COCO JSON)" in [
        b.proto.label for b in elements(at, "download_button")]
    name = next(n for n in files if n.endswith("_coco.json"))
    (tmp_path / "coco.json").write_bytes(files[name])
    coco = COCO(str(tmp_path / "coco.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cell", "nucleus"]
    assert len(coco.getImgIds()) == 12 and len(coco.getAnnIds()) > 0
    assert all(0 < a["score"] <= 1 for a in coco.loadAnns(coco.getAnnIds()))
