"""The Data page's annotations made elsewhere: a QuPath GeoJSON file whose classes the project lacks, one mapped
to a project class and one added, imported as the mask of its image."""
import json

import numpy as np
from PIL import Image

from page_helpers import page, wait_for


def _square(x0, y0, x1, y1, name):
    return {"type": "Feature", "properties": {"objectType": "annotation",
                                              "classification": {"name": name, "color": [250, 120, 0]}},
            "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}


def test_data_page_imports_geojson_mapping_one_class_and_adding_another(fresh_ws):
    from seg_core import REGISTRY, Workspace

    at = page("data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    ws = Workspace(fresh_ws)
    stem = next(s for s in ws.stems() if not ws.mask_path(s).exists())  # one of the sample's unlabelled images
    doc = {"type": "FeatureCollection", "features": [_square(4, 4, 20, 12, "Tumor"), _square(30, 30, 40, 44, "Stroma")]}
    at.file_uploader(key="ann_files").set_value([(f"{stem}.geojson", json.dumps(doc).encode(),
                                                  "application/geo+json")]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="ann_class_Tumor").options == ["add as a new class", "background", "cell", "nucleus"]
    at.selectbox(key="ann_class_Tumor").set_value("cell")
    at.selectbox(key="ann_class_Stroma").set_value("add as a new class").run()
    next(b for b in at.button if b.label == "Import annotations").click().run()
    wait_for(lambda: not REGISTRY.active("import", str(fresh_ws)), what="the import")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"{stem}.geojson: imported as {stem} (annotations); 2 object(s)" in i.value for i in at.info), \
        [i.value for i in at.info] + [e.value for e in at.error]
    assert ws.classes().names == ["background", "cell", "nucleus", "Stroma"]
    mask = np.array(Image.open(ws.mask_path(stem)))
    assert (mask[4:12, 4:20] == 1).all() and (mask[30:44, 30:40] == 3).all()
    assert (mask == 1).sum() == 8 * 16 and (mask == 3).sum() == 14 * 10 and set(np.unique(mask)) == {0, 1, 3}
