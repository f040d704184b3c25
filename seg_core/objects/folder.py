"""A run's objects in a folder of images (``python -m seg_core measure``): ``OUT/objects.csv`` (one row per
object), ``OUT/images.csv`` (per image and class: count and covered area) and ``OUT/instances/<stem>.tif``
(uint16: 0 background, 1..N the ``object`` ids of objects.csv), ``OUT/geojson/<stem>.geojson`` (the objects as
QuPath reads them, ``seg_core.exchange.geojson``) and ``OUT/coco.json`` (the objects of every image done,
``seg_core.exchange.coco``). The tables and coco.json grow image by image (coco.json written again, atomically,
after each), so a cancelled or crashed run keeps whole rows, and a valid COCO file, for every image done. A stack
gives one instance stack (a page per plane, ids 1..N within each plane; ``.nii.gz`` with the affine for a NIfTI
volume), both tables a ``plane`` column (``z03``; empty for an image of one plane; with the plane spacing known,
objects.csv a ``z_um`` column, the plane's depth), one GeoJSON file of all its planes' objects, each on its plane
as QuPath places objects of a z-stack, and a COCO image per plane (``<stem>_z03``, as the workspace names the
plane's image).

Sizes are in micrometres as well where the pixel size is known: ``--pixel-size`` (``ObjectSettings.pixel_size``),
else what the file's metadata says (``seg_core.data.stacks.metadata.pixel_size``). Intensities (``mean_<channel>``,
``sum_<channel>``) are the file's values as stored (``read_raw``), not what the model reads."""
from __future__ import annotations

import csv
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile

from seg_core.base.atomic import atomic_write
from seg_core.base.progress import Steps
from seg_core.data.imageio import MASK_EXTS, ImageHeader, read_mask_raw, read_raw
from seg_core.data.model_input import GRAY_NAMES
from seg_core.data.stacks.files import StackFile, file_stem
from seg_core.data.stacks.metadata import PixelSize, pixel_size
from seg_core.data.stacks.writing import mask_stack_name, write_mask_stack
from seg_core.exchange.coco import CocoWriter
from seg_core.exchange.geojson import feature_collection, on_plane, to_bytes
from seg_core.infer.crf import CRFParams
from seg_core.infer.predictor import Prediction, Predictor, image_files
from seg_core.data.stacks.planes import plane_stem, stack_header
from seg_core.infer.stack_prediction import stack_images
from seg_core.objects.instances import Objects, label_objects
from seg_core.objects.measure import as_pixel_size, image_summary, measure_objects
from seg_core.objects.settings import ObjectSettings
from seg_core.runs.folder import Run

# Separating touching objects on the distance to the class's edge alone, not weighed by the class probability:
# on nuclei-he the weighing split nuclei into many pieces (benchmarks/bench_objects.py, benchmarks/results/2026-12-02-bench_objects.md).
USE_PROBABILITIES = False


@dataclass
class Measured:
    """One image's objects and its two tables."""

    objects: Objects
    table: pd.DataFrame  # one row per object
    summary: pd.DataFrame  # per class: count, area
    scores: np.ndarray | None = None  # per object: the model's mean confidence over its pixels (0..1)

    def features(self, class_names: list[str], colours) -> dict:
        """The objects with their rows of ``table`` as a QuPath GeoJSON FeatureCollection
        (``seg_core.exchange.geojson``)."""
        names = [class_names[c] for c in self.objects.classes]
        return feature_collection(self.objects.labels, names, dict(zip(class_names, colours)), self.table)

    def geojson(self, class_names: list[str], colours) -> bytes:
        """``features`` as the bytes of a ``.geojson`` file."""
        return to_bytes(self.features(class_names, colours))


def objects_of(prediction: Prediction, settings: ObjectSettings, num_classes: int) -> Objects:
    """The objects of a prediction, by ``settings`` (faint ones judged by the prediction's confidence)."""
    probs = prediction.probs if USE_PROBABILITIES else None
    return label_objects(prediction.mask, probs, settings, num_classes, prediction.top_probability())


@dataclass(frozen=True)
class RawValues:
    """An image's values as stored (H, W, channels; alpha left out), its channels' names and its pixel size:
    what the tables measure the objects' intensities and sizes with."""

    values: np.ndarray
    channels: list[str] | None = None  # None: ``measure.default_channel_names``
    pixel_size: PixelSize | None = None


def measure_image(predictor: Predictor, image: np.ndarray, settings: ObjectSettings, name: str = "",
                  prediction: Prediction | None = None, raw: RawValues | None = None) -> Measured:
    """Predict ``image`` (unless ``prediction`` is given), find its objects and measure them: their intensities
    in ``raw`` (default: ``image`` as the model reads it), their sizes by ``raw``'s pixel size, where
    ``settings.pixel_size`` does not set one."""
    p = prediction or predictor.predict(image)
    names = predictor.classes.names
    objs = objects_of(p, settings, len(names))
    size = as_pixel_size(settings.pixel_size) or (raw.pixel_size if raw is not None else None)
    values, channels = (image, None) if raw is None else (raw.values, raw.channels)
    return Measured(objs, measure_objects(objs, values, names, name, size, channels),
                    image_summary(objs, names, name, size), object_scores(objs, p.top_probability()))


def without_alpha(raw: np.ndarray, alpha: bool) -> np.ndarray:
    """Values as stored (H, W[, channels]) as (H, W, channels) without the transparency channel."""
    raw = raw if raw.ndim == 3 else raw[..., None]
    return raw[..., :-1] if alpha and raw.shape[-1] in (2, 4) else raw


def file_pixel_size(path: Path, settings: ObjectSettings) -> PixelSize | None:
    """``--pixel-size`` (its plane spacing, if any, from the file), else the file's own (``metadata``)."""
    found = pixel_size(path)
    given = as_pixel_size(settings.pixel_size)
    if given is None:
        return found
    return PixelSize(given.x, given.y, found.z if found is not None else None, "--pixel-size")


def stored_values(path: Path, settings: ObjectSettings) -> RawValues:
    """An image file's values as stored (alpha left out), its channels' names and its pixel size
    (``file_pixel_size``): what its objects' intensities and sizes are measured with."""
    values, hdr = read_raw(path)
    values = without_alpha(values, hdr.alpha)
    return RawValues(values, column_channels(hdr), file_pixel_size(path, settings))


def column_channels(hdr: ImageHeader) -> list[str] | None:
    """The names of an image's channels in its intensity columns: the header's (``ImageHeader.names``: the file's
    own; red, green, blue (then channel 4 ..) for an RGB file, its further bands included; else channel 1 ..),
    but None for one channel the file does not name (``measure.default_channel_names``: ``channel_1``)."""
    return None if hdr.names == GRAY_NAMES else list(hdr.names)


def _size_row(size: PixelSize | None) -> dict:
    return {"pixel_size_um": [size.x, size.y] if size else None, "pixel_size_from": size.source if size else None}

def object_scores(objects: Objects, top: np.ndarray | None) -> np.ndarray | None:
    """Each object's mean of the model's probability for the predicted class (0..1; None without one)."""
    if top is None:
        return None
    top = top.astype(np.float64) / (255 if top.dtype == np.uint8 else 1)
    n = len(objects)
    area = np.bincount(objects.labels.ravel(), minlength=n + 1)[1:]
    return np.bincount(objects.labels.ravel(), weights=top.ravel(), minlength=n + 1)[1:] / np.maximum(area, 1)


def instances_tiff(objects: Objects, name: str = "the image") -> bytes:
    """The label image as a 16-bit TIFF (zlib-compressed)."""
    buf = io.BytesIO()
    tifffile.imwrite(buf, objects.as_uint16(name), compression="zlib")
    return buf.getvalue()


def read_instances(folder: Path, stem: str) -> np.ndarray:
    """The label image of image ``stem`` in ``folder`` (``<stem>.tif``, ``.png``...): one id per object."""
    for ext in MASK_EXTS:
        path = Path(folder) / f"{stem}{ext}"
        if path.is_file():
            return read_mask_raw(path)
    raise FileNotFoundError(f"{folder}: no label image for {stem} (looked for {stem}.tif, {stem}.png)")


@dataclass
class MeasuredImages:
    """Several images measured (the Review page's "all images"): both tables, each image's label image as
    16-bit TIFF bytes, and the images left out (removed meanwhile, unreadable) with why."""

    objects: pd.DataFrame
    images: pd.DataFrame
    instances: dict[str, bytes]
    left_out: list[str]
    coco: bytes = b""  # every image's objects as one COCO file (``seg_core.exchange.coco``)

    def instances_zip(self) -> bytes:
        """``instances/<stem>.tif`` for every image measured, as a zip."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for stem, tiff in self.instances.items():
                z.writestr(f"instances/{stem}.tif", tiff)
        return buf.getvalue()


def measure_images(predictor: Predictor, stems: list[str], read, settings: ObjectSettings,
                   progress=None, cancel=None, raw=None) -> MeasuredImages:
    """Measure the images ``read(stem)`` gives, in turn; ``raw(stem)``: their values as stored (``RawValues``,
    e.g. ``stored_values``) for the intensities and sizes. Counts "7/12 images measured"; cancelled, nothing is
    kept (``Cancelled``)."""
    steps = Steps(progress, cancel, len(stems), "images measured")
    tables, summaries, instances, left_out = [], [], {}, []
    coco = CocoWriter(predictor.classes.names)
    for stem in stems:
        steps.check(lambda: f"cancelled after {steps.done} of {len(stems)} images; nothing was kept")
        try:
            m = measure_image(predictor, read(stem), settings, stem, raw=raw(stem) if raw is not None else None)
            instances[stem] = instances_tiff(m.objects, stem)
            coco.add(stem, m.objects.labels, m.objects.classes, m.scores)
            tables.append(m.table)
            summaries.append(m.summary)
        except (OSError, ValueError) as err:  # removed meanwhile, unreadable: named, the others go on
            left_out.append(str(err) if stem in str(err) else f"{stem}: {err}")
        steps.tick(stem)
    return MeasuredImages(pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
                          pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame(),
                          instances, left_out, coco.to_bytes())


def _append_csv(path: Path, df: pd.DataFrame) -> None:
    """Add ``df``'s rows to the table at ``path``. Images may give other columns (their own channels, sizes in
    micrometres or not, a plane depth): then the table is written again with every column, empty where an
    image has none."""
    if not path.exists():
        df.to_csv(path, index=False)
        return
    with open(path, newline="") as f:
        header = next(csv.reader(f), [])
    if header == list(df.columns):
        df.to_csv(path, mode="a", header=False, index=False)
        return
    both = pd.concat([pd.read_csv(path), df], ignore_index=True)
    atomic_write(path, lambda tmp: both.to_csv(tmp, index=False))


def measure_folder(run: Run, images: Path, out: Path, settings: ObjectSettings = ObjectSettings(),
                   crf: CRFParams | None = None, tta: bool = False, device: str = "auto", progress=None,
                   cancel=None) -> list[dict]:
    """Measure every image of ``images`` with ``run`` into ``out`` (see the module). An unreadable image is
    named in the returned rows and skipped. ``progress`` gets a count per image; when ``cancel`` is set it stops
    before the next image and raises ``Cancelled`` saying what was kept (``partial``: the rows so far)."""
    out = Path(out)
    (out / "instances").mkdir(parents=True, exist_ok=True)
    (out / "geojson").mkdir(exist_ok=True)
    for name in ("objects.csv", "images.csv", "coco.json"):
        (out / name).unlink(missing_ok=True)  # a new measurement, not appended to (or beside) an old one
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    coco = CocoWriter(pred.classes.names)
    files = image_files(images)
    steps = Steps(progress, cancel, len(files), "images measured")
    rows: list[dict] = []
    for f in files:
        steps.check(lambda: f"cancelled after {steps.done} of {len(files)} images: the objects of "
                            f"{sum('objects' in r for r in rows)} image(s) are kept in {out}; "
                            f"{len(files) - steps.done} not measured", rows)
        t0 = time.perf_counter()
        try:
            stack = stack_header(f, volumes=True)
            if stack is not None:  # a stack in, an instance stack out, its objects counted per plane
                row = _measure_stack(pred, f, stack, settings, out, coco)
                rows.append(row | {"seconds": round(time.perf_counter() - t0, 3)})
                steps.tick(f.name)
                continue
            image = pred.read(f)
            raw = stored_values(f, settings)
            size = raw.pixel_size
            m = measure_image(pred, image, settings, f.name, raw=raw)
            tiff = instances_tiff(m.objects, f.name)
            geojson = m.geojson(pred.classes.names, pred.classes.colours)
        except ValueError as err:
            rows.append({"image": f.name, "error": str(err) if f.name in str(err) else f"{f.name}: {err}"})
            steps.tick(f"{f.name} skipped")
            continue
        atomic_write(out / "instances" / f"{f.stem}.tif", lambda tmp: tmp.write_bytes(tiff))
        atomic_write(out / "geojson" / f"{f.stem}.geojson", lambda tmp: tmp.write_bytes(geojson))
        coco.add(f.name, m.objects.labels, m.objects.classes, m.scores)
        _append_csv(out / "objects.csv", _in_plane(m.table, ""))
        _append_csv(out / "images.csv", _in_plane(m.summary, ""))
        coco.write(out / "coco.json")  # image by image, as the tables: a cancelled run's file holds the images done
        rows.append({"image": f.name, "objects": len(m.objects), "faint": m.objects.faint,
                     "instances": f"instances/{f.stem}.tif", "geojson": f"geojson/{f.stem}.geojson",
                     **_size_row(size),
                     "seconds": round(time.perf_counter() - t0, 3)})
        steps.tick(f.name)
    coco.write(out / "coco.json")  # also for a folder without an image measured: a valid, empty file
    return rows


def _in_plane(df: pd.DataFrame, label: str) -> pd.DataFrame:
    """The table with a ``plane`` column after ``image``: the plane's label in a stack (``z03``), else empty."""
    df.insert(1, "plane", label)
    return df


def _measure_stack(pred: Predictor, path: Path, hdr, settings: ObjectSettings, out: Path, coco: CocoWriter) -> dict:
    """Measure each plane of the stack ``path``: ``instances/<stem>.tif`` (or ``.nii.gz``) of one uint16 page per
    plane (ids 1..N within each plane), the tables' rows with their ``plane`` (and depth ``z_um`` where the plane
    spacing is known), ``geojson/<stem>.geojson`` (every plane's objects, each on its plane: ``geojson.on_plane``)
    and one COCO image per plane (``file_name`` the plane's image name ``<stem>_z03``, with ``stack`` and
    ``plane``), all written once the stack is done. Each plane's values as stored are read beside it."""
    tables, summaries, faint, features = [], [], [0], []
    planes = CocoWriter(pred.classes.names)  # added to ``coco`` once every plane is done
    size = file_pixel_size(path, settings)
    depth = _depths(hdr, size)
    stem = file_stem(path.name)

    def pages():
        with StackFile(path) as stored:
            channels = column_channels(ImageHeader.of_plane(hdr))
            for i, (label, image) in enumerate(stack_images(path, hdr, pred.intensities)):
                raw = RawValues(without_alpha(stored.plane(i), hdr.alpha), channels, size)
                m = measure_image(pred, image, settings, path.name, raw=raw)
                table = _in_plane(m.table, label)
                if depth is not None:
                    table.insert(2, "z_um", depth[i])
                tables.append(table)
                summaries.append(_in_plane(m.summary, label))
                faint[0] += m.objects.faint
                features.extend(on_plane(m.features(pred.classes.names, pred.classes.colours), label,
                                         **_plane_index(hdr, i))["features"])
                planes.add(plane_stem(stem, label), m.objects.labels, m.objects.classes, m.scores,
                           stack=path.name, plane=label)
                yield m.objects.as_uint16(f"{path.name}, plane {label}")

    name = mask_stack_name(path.name)
    write_mask_stack(out / "instances" / name, hdr, pages(), np.uint16)
    geojson = to_bytes({"type": "FeatureCollection", "features": features})
    atomic_write(out / "geojson" / f"{stem}.geojson", lambda tmp: tmp.write_bytes(geojson))
    objects = pd.concat(tables, ignore_index=True)
    _append_csv(out / "objects.csv", objects)
    _append_csv(out / "images.csv", pd.concat(summaries, ignore_index=True))
    coco.merge(planes)
    coco.write(out / "coco.json")
    return {"image": path.name, "objects": len(objects), "faint": faint[0], "instances": f"instances/{name}",
            "geojson": f"geojson/{stem}.geojson", "planes": hdr.planes, **_size_row(size)}


def _plane_index(hdr, i: int) -> dict:
    """Plane ``i``'s depth and time index (``z``, ``t``; 0 along an axis the stack does not have)."""
    idx = dict(zip(hdr.plane_axes, np.unravel_index(i, hdr.plane_shape))) if hdr.plane_axes else {}
    return {"z": int(idx.get("Z", 0)), "t": int(idx.get("T", 0))}


def _depths(hdr, size: PixelSize | None) -> list[float] | None:
    """Each plane's depth in micrometres (its Z index times the plane spacing), or None: no spacing, no Z."""
    if size is None or not size.z or "Z" not in hdr.plane_axes:
        return None
    k = hdr.plane_axes.index("Z")
    return [float(np.unravel_index(i, hdr.plane_shape)[k]) * size.z for i in range(hdr.planes)]
