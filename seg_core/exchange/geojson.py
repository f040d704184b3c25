"""QuPath's GeoJSON: a FeatureCollection of an image's objects (out), and annotations and detections drawn in
QuPath (in).

Out, one feature per object: its outline as a Polygon or MultiPolygon (holes kept; ``outlines``), and the
properties QuPath reads: ``objectType`` "detection", ``classification`` {name, color}, ``name`` (class and
object id) and ``measurements``: the object's row of objects.csv (every numeric column, whatever columns the
table has; lengths and areas in micrometres too where the pixel size is known). Coordinates in pixels,
(0, 0) the top-left corner of the image, as QuPath places them. A stack's objects are in one collection, each
on its plane (``on_plane``: QuPath's ``plane`` member of the geometry, {"c": -1, "z": 3, "t": 0}).

In: a FeatureCollection, a list of features (QuPath's "Export objects" either way) or one feature; each
Polygon or MultiPolygon becomes an object of the class its ``classification`` names (objects without one are
read as "Unclassified").
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import shapely.geometry
from shapely.geometry import MultiPolygon, Polygon

from seg_core.exchange.drawn import UNCLASSIFIED, AnnotationError, Drawn, ImageAnnotations
from seg_core.exchange.outlines import outlines, problem

NOT_MEASURED = ("image", "class", "plane")  # columns of objects.csv that say where an object is, not what


def _number(v):
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)):
        return float(v)
    return None


def _measurements(row: dict) -> dict:
    """The numeric values of a table row (NaN and text left out: QuPath's measurements are numbers)."""
    out = {}
    for k, v in row.items():
        if k in NOT_MEASURED:
            continue
        n = _number(v)
        if n is not None:
            out[str(k)] = n
    return out


def feature_collection(labels: np.ndarray, object_classes: list[str], colours: dict[str, tuple[int, int, int]],
                       table: pd.DataFrame | None = None) -> dict:
    """A FeatureCollection of the objects of ``labels`` (ids 1..N; ``object_classes[i - 1]`` the class name of
    id i), with each object's row of ``table`` (matched on its ``object`` column) as its measurements."""
    return shapes_collection(outlines(labels, len(object_classes)), object_classes, colours, table)


def shapes_collection(shapes: list, object_classes: list[str], colours: dict[str, tuple[int, int, int]],
                      table: pd.DataFrame | None = None) -> dict:
    """A FeatureCollection of outlines given (``shapes[i - 1]``: object i's, shapely; empty ones left out), as
    ``feature_collection``'s."""
    rows = {}
    if table is not None and len(table):
        rows = {int(r["object"]): r for r in table.to_dict("records")}
    features = []
    for i, shape in enumerate(shapes, start=1):
        if shape.is_empty:
            continue
        name = object_classes[i - 1]
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shape),
            "properties": {"objectType": "detection", "name": f"{name} {i}",
                           "classification": {"name": name, "color": [int(v) for v in colours.get(name, (255, 0, 0))]},
                           "measurements": _measurements(rows.get(i, {"object": i}))},
        })
    return {"type": "FeatureCollection", "features": features}


def on_plane(collection: dict, label: str, z: int = 0, t: int = 0) -> dict:
    """The features of ``collection`` placed on one plane of a stack, as QuPath places an object of a z-stack or
    time series: ``"plane": {"c": -1, "z": z, "t": t}`` in its geometry (QuPath's ``ImagePlane``; c -1: all
    channels), and the plane's label (``z03``) as the property ``plane`` and in its ``name``."""
    for f in collection["features"]:
        f["geometry"]["plane"] = {"c": -1, "z": int(z), "t": int(t)}
        f["properties"]["plane"] = label
        f["properties"]["name"] += f" ({label})"
    return collection


def to_bytes(collection: dict) -> bytes:
    return json.dumps(collection, separators=(",", ":")).encode()


# -- in ---------------------------------------------------------------------------------------------------------
def _colour(value) -> tuple[int, int, int] | None:
    """QuPath's colour: [r, g, b], or (older versions) one packed integer."""
    if isinstance(value, list) and len(value) >= 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in value[:3]):
        return tuple(value[:3])
    if isinstance(value, int) and not isinstance(value, bool):
        v = value & 0xFFFFFF
        return (v >> 16) & 255, (v >> 8) & 255, v & 255
    return None


def _class_of(props: dict) -> tuple[str, tuple[int, int, int] | None]:
    c = props.get("classification")
    if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"].strip():
        return c["name"].strip(), _colour(c.get("color", c.get("colorRGB")))
    if isinstance(c, str) and c.strip():
        return c.strip(), None
    names = c.get("names") if isinstance(c, dict) else None  # a derived class: "Tumor: Positive"
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        return ": ".join(names), _colour(c.get("color"))
    return UNCLASSIFIED, None


def _features(doc, file: str) -> list:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        return doc["features"]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    raise AnnotationError(f"{file}: not GeoJSON objects (expected a FeatureCollection, a list of features or "
                          "one feature, as QuPath's 'Export objects' writes)")


def read_geojson(data: bytes, file: str, stem: str) -> ImageAnnotations:
    """The objects of a QuPath GeoJSON file for image ``stem``; AnnotationError (naming ``file`` and the object)
    for a file that is not JSON, a geometry that is not a polygon, or an outline that crosses itself."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{file}: not valid JSON ({err}); export it again from QuPath") from None
    out = ImageAnnotations(stem, file)
    for n, f in enumerate(_features(doc, file), start=1):
        if not isinstance(f, dict):
            raise AnnotationError(f"{file}: object {n} is not a GeoJSON feature")
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        name, colour = _class_of(props)
        label = props.get("name")
        what = f"object {n}" + (f" '{label}'" if isinstance(label, str) and label else "") + f" (class '{name}')"
        geometry = f.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in ("Polygon", "MultiPolygon"):
            raise AnnotationError(f"{file}: {what} is a {kind or 'feature without a geometry'}, not an outline; only "
                                  "Polygon and MultiPolygon objects become masks (remove points and lines, or "
                                  "convert them to areas in QuPath)")
        try:
            shape = shapely.geometry.shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as err:
            raise AnnotationError(f"{file}: {what}: its coordinates are not a polygon ({err})") from None
        why = problem(shape)
        if why:
            raise AnnotationError(f"{file}: {what}: {why}")
        if not isinstance(shape, (Polygon, MultiPolygon)):
            raise AnnotationError(f"{file}: {what}: not a polygon")
        out.drawn.append(Drawn(what, name, shape=shape, colour=colour, plane=_plane_of(geometry)))
    return out


def _plane_of(geometry: dict) -> tuple[int, int] | None:
    """QuPath's plane of an object (``"plane": {"c": -1, "z": 3, "t": 0}`` in its geometry) as (z, t)."""
    plane = geometry.get("plane")
    if not isinstance(plane, dict):
        return None
    z, t = plane.get("z", 0), plane.get("t", 0)
    ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (z, t))
    return (z, t) if ok else None


def by_plane(im: ImageAnnotations) -> list[ImageAnnotations]:
    """A GeoJSON file's objects, one ``ImageAnnotations`` per plane where they lie on planes of a stack other
    than the first (as ``on_plane`` writes them, and QuPath for a z-stack or time series); else ``im`` itself."""
    planes = sorted({d.plane or (0, 0) for d in im.drawn}, key=lambda p: (p[1], p[0]))
    if planes in ([], [(0, 0)]) and all(d.plane is None for d in im.drawn):
        return [im]
    return [ImageAnnotations(im.stem, f"{im.source}, plane z{z}" + (f" t{t}" if t else ""), im.size,
                             [d for d in im.drawn if (d.plane or (0, 0)) == (z, t)], plane=(z, t))
            for z, t in planes]
