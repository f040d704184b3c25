"""Whole slides in the app: the Annotate page's overview and region picker, the Review page's whole-slide
prediction with its overlay, object-density heat map and a region at full resolution."""
import shutil
import sys
from pathlib import Path

import numpy as np

from page_helpers import elements, page, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slides"))
from slide_fixtures import NUCLEI, mosaic, write_slide  # noqa: E402


def _slide(tmp_path, h=1024, w=1280) -> Path:
    assert NUCLEI.is_dir()
    return write_slide(tmp_path / "tissue.ome.tif", mosaic(h, w, glass=200), levels=3)


def test_annotate_shows_a_registered_slide_and_adds_a_region_as_an_image(fresh_ws, tmp_path):
    from seg_core.slides.reader import open_slide
    from seg_core.slides.registry import register
    from seg_core.workspace.workspace import Workspace

    slide = _slide(tmp_path)
    page("annotate.py").run()  # the app seeds the workspace with the sample
    with open_slide(slide) as s:
        register(fresh_ws, s)
    at = page("annotate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.label.startswith("Whole slides") for e in at.expander)
    assert any("1,280 x 1,024 pixels, 3 levels, 0.5 µm per pixel" in c.value for c in at.caption)
    n = {k: at.number_input(key=f"ann_region_tissue_{i}") for i, k in enumerate("xywh")}
    assert (n["x"].value, n["y"].value, n["w"].value, n["h"].value) == (128, 0, 1024, 1024)  # the middle
    n["x"].set_value(100)
    n["y"].set_value(200)
    n["w"].set_value(300)
    n["h"].set_value(150)
    at.run()
    assert any(c.value == "It will be named tissue_x100_y200_w300_h150." for c in at.caption)
    at.button(key="ann_add_region").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Added tissue_x100_y200_w300_h150" in s.value for s in at.success)
    ws = Workspace(fresh_ws, seed_sample=False)
    assert "tissue_x100_y200_w300_h150" in ws.stems()
    assert ws.read_image("tissue_x100_y200_w300_h150").shape == (150, 300, 3)

    n = at.number_input(key="ann_region_tissue_0")
    n.set_value(1200).run()  # 1200 + 300 reaches beyond the slide's 1280
    at.button(key="ann_add_region").click().run()
    assert any("reaches beyond the slide (1280x1024 pixels)" in e.value for e in at.error)


def test_review_predicts_a_slide_and_shows_its_overlay_heat_map_and_a_region(use_trained, tmp_path):
    from seg_core.slides.reader import open_slide
    from seg_core.slides.registry import register

    slide = _slide(tmp_path, 768, 1024)
    with open_slide(slide) as s:
        register(use_trained, s)
    try:
        at = page("review.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(c.value == "Not predicted with this run yet." for c in at.caption)
        at.button(key="rev_slide_predict").click().run()
        out = wait_for(lambda: next(iter((use_trained / "slides" / "results").glob("*/tissue")), None),
                       what="the slide's results folder")
        wait_for(lambda: (out / "overlays" / "tissue.png").is_file() and not (out / "masks" / ".tissue.tiles").exists(),
                 what="the slide predicted and its objects counted")
        at = page("review.py").run()
        assert not at.exception, [e.value for e in at.exception]
        captions = " ".join(str(i.proto) for i in elements(at, "image"))
        assert "Predicted classes" in captions and "objects are" in captions
        assert any(c.value.startswith("Where it is") for c in at.caption)
        assert at.button(key="rev_slide_predict").label == "Predict the whole slide again"
    finally:
        shutil.rmtree(use_trained / "slides", ignore_errors=True)


def test_a_box_dragged_on_the_overview_becomes_full_resolution_pixels_inside_the_slide():
    from segapp.slides.region_box import full_resolution_box

    # an overview at 1/16 of a 40,000 x 30,000 slide: its pixels times 16, rounded
    assert full_resolution_box({"x": 100.2, "y": 50, "w": 64, "h": 32.5}, 16.0, 40000, 30000) == (1603, 800, 1024, 520)
    # dragged past the right and bottom edges: cut at the slide's edge, never empty
    assert full_resolution_box({"x": 2490, "y": 1870, "w": 200, "h": 100}, 16.0, 40000, 30000) == (39840, 29920, 160, 80)
    assert full_resolution_box({"x": 5000, "y": 0, "w": 3, "h": 3}, 16.0, 40000, 30000) == (39999, 0, 1, 48)
