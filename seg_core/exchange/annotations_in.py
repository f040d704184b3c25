"""Annotation files made elsewhere, read and checked before anything is saved: QuPath GeoJSON (one file per
image, ``<image stem>.geojson``) and COCO JSON (images matched by the stem of their ``file_name``); their
class names matched to the workspace's (letter case aside; ``mapping`` reads one as another; ``add`` takes the
unknown ones as new classes); each image's objects drawn into a class mask (``class_mask``).

Every refusal is an ``AnnotationError`` naming the file, the object and the problem."""
from __future__ import annotations

import json

import numpy as np

from seg_core.exchange.coco import is_coco, read_coco
from seg_core.exchange.drawn import AnnotationError, ImageAnnotations
from seg_core.exchange.geojson import by_plane, read_geojson

ANNOTATION_SUFFIXES = (".geojson", ".json")


def read_annotations(file: str, data: bytes, stem: str) -> list[ImageAnnotations]:
    """The images and objects of an annotation file named ``file`` (``stem``: its name without the suffix, the
    image a GeoJSON file is for)."""
    if file.lower().endswith(".geojson"):
        return by_plane(read_geojson(data, file, stem))
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{file}: not valid JSON ({err}); export the annotations again") from None
    if is_coco(doc):
        return read_coco(doc, file)
    if isinstance(doc, list) or (isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature")):
        return by_plane(read_geojson(data, file, stem))
    raise AnnotationError(f"{file}: neither COCO (no 'images' and 'annotations' lists) nor GeoJSON objects; give "
                          "a COCO export (CVAT, Label Studio, Roboflow) or a QuPath GeoJSON file named after its image")


def class_names(images: list[ImageAnnotations]) -> list[str]:
    """The class names the objects use, in the order they first appear."""
    seen: dict[str, None] = {}
    for im in images:
        for d in im.drawn:
            seen.setdefault(d.class_name, None)
    return list(seen)


def class_colours(images: list[ImageAnnotations]) -> dict[str, tuple[int, int, int]]:
    out: dict = {}
    for im in images:
        for d in im.drawn:
            if d.colour is not None:
                out.setdefault(d.class_name, d.colour)
    return out


def _ours(name: str, classes: list[str]) -> int | None:
    if name in classes:
        return classes.index(name)
    folded = [i for i, c in enumerate(classes) if c.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def unknown_classes(names: list[str], classes: list[str], mapping: dict[str, str] | None = None) -> list[str]:
    """The names that are none of ``classes`` (letter case aside) and not mapped."""
    mapping = mapping or {}
    return [n for n in names if n not in mapping and _ours(n, classes) is None]


def resolve_classes(images: list[ImageAnnotations], classes: list[str], mapping: dict[str, str], add: bool,
                    file: str) -> tuple[dict[str, int], list[str]]:
    """(the workspace class index of each class name used, the names to add as new classes at the end);
    AnnotationError listing the unknown names, with the first object of each, when ``add`` is off."""
    index, new, unknown = {}, [], []
    for name in class_names(images):
        if name in mapping:
            i = _ours(mapping[name], classes)
            if i is None and mapping[name] in new:
                i = len(classes) + new.index(mapping[name])
            if i is None:
                raise AnnotationError(f"{file}: '{name}' is to be read as '{mapping[name]}', which is not one of the "
                                      f"workspace's classes ({', '.join(classes)})")
        else:
            i = _ours(name, classes)
        if i is None and add:
            new.append(name)
            i = len(classes) + len(new) - 1
        if i is None:
            unknown.append(name)
        index[name] = i
    if unknown:
        first = {n: next(f"{d.what} on {im.source}" for im in images for d in im.drawn if d.class_name == n)
                 for n in unknown}
        raise AnnotationError(
            f"{file}: class(es) the workspace does not have: " + "; ".join(f"'{n}' ({first[n]})" for n in unknown)
            + f". The workspace's classes: {', '.join(classes)}. Map each to one of them (--map-class "
            f"{unknown[0]}={classes[-1]}; on the Data page, the choice beside the name) or add them as new classes "
            "(--add-classes)")
    return index, new


def class_mask(im: ImageAnnotations, hw: tuple[int, int], index: dict[str, int], file: str) -> np.ndarray:
    """(H, W) uint8 class indices: 0 (the background) where no object is, else the class of the last object
    (in the file's order) that covers the pixel. AnnotationError for an object that covers no pixel of the
    image (drawn outside it) or whose mask has another size."""
    h, w = hw
    mask = np.zeros((h, w), np.uint8)
    for d in im.drawn:
        px = d.pixels(hw)
        if px.shape != (h, w):
            raise AnnotationError(f"{file}: {d.what}: its mask is {px.shape[1]}x{px.shape[0]} but image {im.stem} "
                                  f"is {w}x{h}")
        if not px.any():
            raise AnnotationError(f"{file}: {d.what} covers no pixel of image {im.stem} ({w}x{h}); is the file for "
                                  "another image, or another scale?")
        mask[px] = index[d.class_name]
    return mask
