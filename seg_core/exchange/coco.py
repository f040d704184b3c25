"""COCO JSON: a folder's objects for detection and instance segmentation tools (out), and annotations from
CVAT, Label Studio or Roboflow COCO exports (in), both through pycocotools.

Out: ``images`` (id, file_name, height, width), ``categories`` (the classes other than the background, each
with the id of its value in the masks), and one annotation per object: its pixels as a run-length encoding
as pycocotools writes it (``{"size": [h, w], "counts": "..."}``), ``bbox`` [x, y, width, height], ``area``
(pixels), ``iscrowd`` 0 and ``score``: the model's mean confidence over the object's pixels.

In: ``segmentation`` as polygons (lists of x, y), uncompressed RLE (``counts`` a list) or compressed RLE
(``counts`` a string); images matched to the workspace by the stem of their ``file_name``.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from pycocotools import mask as coco_mask
from scipy import ndimage as ndi
from shapely.geometry import Polygon

from seg_core.exchange.drawn import AnnotationError, Drawn, ImageAnnotations
from seg_core.exchange.outlines import problem


class CocoWriter:
    """A COCO document built image by image (``add``), written whole with ``write`` as often as wanted (after
    each image: each entry is turned into JSON once, so a write costs the copying of the file's bytes)."""

    def __init__(self, class_names: list[str]):
        self.categories = [{"id": i, "name": n, "supercategory": "object"} for i, n in enumerate(class_names) if i]
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self._json: dict[str, list[str]] = {"images": [], "annotations": []}  # the entries above, as JSON

    def add(self, file_name: str, labels: np.ndarray, object_classes, scores=None, **about) -> None:
        """The objects of one image: ``labels`` ids 1..N, ``object_classes[i - 1]`` the class index of id i,
        ``scores[i - 1]`` its score (1.0 without); ``about``: more fields of the image's entry (a stack's plane:
        ``stack``, ``plane``)."""
        h, w = labels.shape
        self._image({"file_name": file_name, "height": int(h), "width": int(w), **about})
        image_id = len(self.images)
        one = np.zeros((h, w), np.uint8, order="F")  # one object's pixels at a time, set and cleared in its box
        for i, (c, box) in enumerate(zip(object_classes, ndi.find_objects(labels, len(object_classes))), start=1):
            if box is None:
                continue
            one[box] = labels[box] == i
            rle = coco_mask.encode(one)
            one[box] = 0
            area = int(coco_mask.area(rle))
            rle["counts"] = rle["counts"].decode("ascii")
            self._annotation({"image_id": image_id, "category_id": int(c), "segmentation": rle, "area": area,
                              "bbox": [float(v) for v in coco_mask.toBbox(rle)], "iscrowd": 0,
                              "score": float(scores[i - 1]) if scores is not None else 1.0})

    def merge(self, other: "CocoWriter") -> None:
        """Add the images and objects of ``other`` (of the same classes), renumbered after these."""
        first = len(self.images)
        for im in other.images:
            self._image({k: v for k, v in im.items() if k != "id"})
        for a in other.annotations:
            self._annotation({k: v for k, v in a.items() if k != "id"} | {"image_id": a["image_id"] + first})

    def _image(self, entry: dict) -> None:
        self._add("images", {"id": len(self.images) + 1, **entry})

    def _annotation(self, entry: dict) -> None:
        self._add("annotations", {"id": len(self.annotations) + 1, **entry})

    def _add(self, key: str, entry: dict) -> None:
        getattr(self, key).append(entry)
        self._json[key].append(json.dumps(entry, separators=(",", ":")))

    def to_dict(self) -> dict:
        return json.loads(self.to_bytes())

    def to_bytes(self) -> bytes:
        head = json.dumps({"info": {"description": "objects found by a segmentation studio run"},
                           "categories": self.categories}, separators=(",", ":"))
        return (head[:-1] + ',"images":[' + ",".join(self._json["images"]) + '],"annotations":['
                + ",".join(self._json["annotations"]) + "]}").encode()

    def write(self, path: Path) -> Path:
        """The document so far at ``path``, atomically: a reader finds the previous whole file or this one."""
        from seg_core.base.atomic import atomic_write

        atomic_write(Path(path), lambda tmp: tmp.write_bytes(self.to_bytes()))
        return Path(path)


# -- in ---------------------------------------------------------------------------------------------------------
def is_coco(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("images"), list) and isinstance(doc.get("annotations"), list)


def _stem(file_name: str) -> str:
    """``images/a.png`` or ``C:\\x\\a.png`` -> ``a``."""
    base = PureWindowsPath(PurePosixPath(file_name).name).name
    return base.rsplit(".", 1)[0] if "." in base[1:] else base


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def read_coco(doc: dict, file: str) -> list[ImageAnnotations]:
    """The objects of a COCO document per image (``doc`` parsed; ``file`` names it in messages);
    AnnotationError naming the file and the annotation for what cannot be read."""
    cats = {}
    for c in doc.get("categories") or []:
        if isinstance(c, dict) and "id" in c and isinstance(c.get("name"), str):
            cats[c["id"]] = c["name"].strip()
    images: dict = {}
    for im in doc["images"]:
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            raise AnnotationError(f"{file}: an entry of 'images' has no id or file_name: {str(im)[:80]}")
        size = (im.get("height"), im.get("width"))
        size = tuple(size) if all(_positive_int(v) for v in size) else None
        images[im["id"]] = ImageAnnotations(_stem(im["file_name"]), im["file_name"], size)
    for n, a in enumerate(doc["annotations"], start=1):
        if not isinstance(a, dict):
            raise AnnotationError(f"{file}: annotation {n} is not an object")
        ident = a.get("id", n)
        im = images.get(a.get("image_id"))
        if im is None:
            raise AnnotationError(f"{file}: annotation {ident} is of image id {a.get('image_id')!r}, which 'images' "
                                  "does not list")
        if a.get("category_id") not in cats:
            raise AnnotationError(f"{file}: annotation {ident} (on {im.source}) is of category "
                                  f"{a.get('category_id')!r}, which 'categories' does not list")
        name = cats[a["category_id"]]
        what = f"annotation {ident} (class '{name}', on {im.source})"
        im.drawn.append(_drawn(a.get("segmentation"), what, name, im, file))
    return list(images.values())


def _drawn(seg, what: str, name: str, im: ImageAnnotations, file: str) -> Drawn:
    if isinstance(seg, list):  # polygons: [[x1, y1, x2, y2, ...], ...], the parts of one object
        parts = []
        for ring in seg:
            if (not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ring)):
                raise AnnotationError(f"{file}: {what}: a polygon needs at least 3 points as x, y numbers")
            poly = Polygon(np.asarray(ring, float).reshape(-1, 2))
            why = problem(poly)
            if why:
                raise AnnotationError(f"{file}: {what}: {why}")
            parts.append(poly)
        if not parts:
            raise AnnotationError(f"{file}: {what}: its segmentation is empty")
        if im.size is None:
            raise AnnotationError(f"{file}: image {im.source} has no height and width; pycocotools needs them "
                                  "to draw polygons")
        h, w = im.size
        rle = coco_mask.merge(coco_mask.frPyObjects(seg, h, w))
        return Drawn(what, name, rle=rle)
    if isinstance(seg, dict) and isinstance(seg.get("size"), list) and len(seg["size"]) == 2:
        h, w = seg["size"]
        if im.size is not None and (h, w) != tuple(im.size):
            raise AnnotationError(f"{file}: {what}: its mask is {w}x{h} but the image is {im.size[1]}x{im.size[0]}")
        counts = seg.get("counts")
        try:
            if isinstance(counts, list):  # uncompressed RLE (iscrowd objects, Label Studio)
                rle = coco_mask.frPyObjects(seg, h, w)
            elif isinstance(counts, str):
                rle = {"size": [h, w], "counts": counts.encode("ascii")}
            else:
                raise ValueError("counts is neither a list nor a string")
            if isinstance(counts, list) and sum(counts) != h * w:
                raise ValueError(f"its run lengths add up to {sum(counts)} pixels, not {h}x{w}")
            coco_mask.decode(rle)
        except (ValueError, TypeError, UnicodeEncodeError) as err:
            raise AnnotationError(f"{file}: {what}: its run-length encoding cannot be read ({err})") from None
        return Drawn(what, name, rle=rle)
    raise AnnotationError(f"{file}: {what}: no segmentation (polygons or RLE); a box alone is not a mask")
