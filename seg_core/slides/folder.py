"""The slides of a folder predicted and measured by ``python -m seg_core predict`` and ``measure``, beside the
folder's other images: each slide's mask ``OUT/masks/<stem>.ome.tif`` (a tiled pyramid), a small overlay of it
on the slide's overview ``OUT/overlays/<stem>.png``, and for ``measure`` its objects appended to
``OUT/objects.csv`` and ``OUT/images.csv`` and as QuPath's detections in ``OUT/geojson/<stem>.geojson`` (outlines
in full-resolution slide pixels, each with its row of objects.csv as measurements). A slide refused as too large among the folder's images (its row an
error) gets its slide's row instead.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import pandas as pd

from seg_core.base.atomic import atomic_write
from seg_core.base.classes import ClassList
from seg_core.base.progress import Cancelled
from seg_core.data.imageio import write_rgb
from seg_core.exchange.geojson import shapes_collection, to_bytes
from seg_core.infer.overlay import overlay
from seg_core.objects.settings import ObjectSettings
from seg_core.slides.objects import slide_objects, slide_summary
from seg_core.slides.predict import SlidePrediction, predict_slide
from seg_core.slides.pyramid import read_mask_level
from seg_core.slides.reader import Slide, open_slide, slide_files


def model_id(path: Path, *settings) -> str:
    """What names a model for resuming: its file or folder, when it last changed, and ``settings``."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("*.safetensors")) or [path]  # a run: its checkpoint
    return f"{path.resolve()}@{max(f.stat().st_mtime_ns for f in files)}:{settings}"


def write_overview_overlay(slide: Slide, result: SlidePrediction, classes: ClassList, out: Path) -> Path:
    """``out/overlays/<stem>.png``: the predicted classes over the slide's overview."""
    image, _ = slide.overview()
    mask = cv2.resize(read_mask_level(result.mask), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    path = Path(out) / "overlays" / f"{slide.stem}.png"
    write_rgb(path, overlay(image, mask, classes, 0.5))
    return path


def _without_slides(rows: list[dict], slides: list[Path]) -> list[dict]:
    names = {p.name for p in slides}
    return [r for r in rows if not (r.get("image") in names and "error" in r)]


def _each_slide(images: Path, rows: list[dict], work: Callable[[Slide], dict]) -> list[dict]:
    slides = slide_files(images)
    rows = _without_slides(rows, slides)
    for path in slides:
        try:
            slide = open_slide(path)
        except ValueError as err:
            rows.append({"image": path.name, "error": str(err)})
            continue
        with slide:
            try:
                rows.append(work(slide))
            except Cancelled as err:
                raise Cancelled(str(err), rows) from None
    return rows


class _Once:
    """The predictor, made when the first slide needs it (the folder may hold none)."""

    def __init__(self, make: Callable[[], object]):
        self.make, self.made = make, None

    def predict(self, slide: Slide, model: str, out: Path, level: int, progress, cancel):
        self.made = self.made or self.make()
        return self.made, predict_slide(slide, self.made.predict, self.made.classes, out, level, model,
                                        progress=progress, cancel=cancel)


def predict_slides(predictor: Callable[[], object], model: str, images: Path, out: Path, rows: list[dict],
                   level: int = 0, progress=None, cancel=None) -> list[dict]:
    """``rows`` (the folder's other images') and a row per slide of ``images``, each predicted whole into
    ``out``. ``predictor()`` gives the predictor (``ImagePredictor``: ``predict`` and ``classes``), made only
    when the folder holds a slide; ``model``: ``model_id``."""
    out, once = Path(out), _Once(predictor)

    def work(slide: Slide) -> dict:
        pred, res = once.predict(slide, model, out, level, progress, cancel)
        write_overview_overlay(slide, res, pred.classes, out)
        res.store.remove()
        return res.row(slide.name, out)

    return _each_slide(images, rows, work)


def measure_slides(predictor: Callable[[], object], model: str, images: Path, out: Path, rows: list[dict],
                   settings: ObjectSettings, level: int = 0, progress=None, cancel=None) -> list[dict]:
    """As ``predict_slides``, and each slide's objects counted across its tiles into ``out/objects.csv`` and
    ``out/images.csv`` (the pixel size from the slide when ``settings`` gives none)."""
    out, once = Path(out), _Once(predictor)

    def work(slide: Slide) -> dict:
        once.made = once.made or once.make()
        return measure_slide(once.made, slide, model, out, settings, level, progress, cancel)

    return _each_slide(images, rows, work)


def measure_slide(pred, slide: Slide, model: str, out: Path, settings: ObjectSettings, level: int = 0,
                  progress=None, cancel=None) -> dict:
    """One slide predicted (``pred``: an ``ImagePredictor``) and its objects counted into ``out`` (see the
    module); its row."""
    t0 = time.perf_counter()
    out = Path(out)
    res = predict_slide(slide, pred.predict, pred.classes, out, level, model, progress=progress, cancel=cancel)
    mine = settings if settings.pixel_size is not None else replace(settings, pixel_size=res.pixel_size)
    lv, names = slide.levels[level], pred.classes.names
    shapes: list = []
    table, faint = slide_objects(res.store, lambda x, y, w, h: slide.read(x, y, w, h, level), names, mine,
                                 slide.name, lv.downsample, progress=progress, cancel=cancel, outlines=shapes)
    geojson = out / "geojson" / f"{slide.stem}.geojson"  # QuPath's detections, in slide pixels
    geojson.parent.mkdir(parents=True, exist_ok=True)
    collection = shapes_collection(shapes, list(table["class"]), dict(zip(names, pred.classes.colours)), table)
    atomic_write(geojson, lambda tmp: tmp.write_bytes(to_bytes(collection)))
    _append(out / "objects.csv", table)
    _append(out / "images.csv", slide_summary(table, names, slide.name, lv.width * lv.height, mine.pixel_size))
    write_overview_overlay(slide, res, pred.classes, out)
    res.store.remove()
    return {"image": slide.name, "objects": len(table), "faint": faint, "mask": str(res.mask.relative_to(out)),
            "geojson": str(geojson.relative_to(out)),
            "seconds": round(time.perf_counter() - t0, 3)}


def _append(path: Path, df: pd.DataFrame) -> None:
    """Rows added to a table of the folder's objects (its ``plane`` column empty for a slide)."""
    if "plane" not in df.columns:
        df.insert(1, "plane", "")
    if path.exists():  # the columns the folder's images gave the table, in its order
        df = df.reindex(columns=pd.read_csv(path, nrows=0).columns)
    df.to_csv(path, mode="a" if path.exists() else "w", header=not path.exists(), index=False)
