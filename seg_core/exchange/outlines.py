"""Objects of a label image as polygons, and polygons back to pixels, so that the two are exact inverses.

Coordinates are QuPath's and COCO's: x to the right, y down, (0, 0) the top-left corner of the top-left pixel,
so pixel (row r, column c) covers x in [c, c+1] and y in [r, r+1] and its centre is (c + 0.5, r + 0.5).

An object's outline is traced by scikit-image's ``find_contours`` at level 0.5 of the object's 0/1 image:
the outline passes halfway between each object pixel's centre and its neighbours' outside (a pixel's
corner is cut diagonally where the object turns), holes are outlines of their own, and the rings are
combined by shapely (a ring inside an odd number of others is a hole). A pixel belongs to a polygon when
its centre lies inside it (shapely's ``contains_xy``). No pixel centre can lie on such an outline, so
filling the outline of an object gives back exactly its pixels; polygons drawn elsewhere (QuPath's brush, a
COCO polygon) are filled by the same rule, and pixels on their edges go whichever way their centres fall.
"""
from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage as ndi
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity
from skimage.measure import find_contours


def outline(mask: np.ndarray, top: int = 0, left: int = 0) -> Polygon | MultiPolygon:
    """The polygon(s) of the True pixels of ``mask`` (holes kept), shifted by ``top``/``left`` pixels."""
    padded = np.pad(mask.astype(np.float32), 1)
    rings = [Polygon(np.stack([c[:, 1] - 0.5 + left, c[:, 0] - 0.5 + top], axis=1))
             for c in find_contours(padded, 0.5, fully_connected="high") if len(c) >= 4]
    if not rings:
        return Polygon()
    while len(rings) > 1:  # combined in pairs, then pairs of pairs: an object with thousands of holes (tissue
        # around the glass of a slide) takes a fraction of a second, where combining them one by one took minutes
        rings = [a.symmetric_difference(b) for a, b in zip(rings[::2], rings[1::2])] + rings[len(rings) & ~1:]
    return rings[0].simplify(0)  # points on a straight edge between two others dropped: the same polygon


def outlines(labels: np.ndarray, n: int | None = None) -> list[Polygon | MultiPolygon]:
    """The outline of each object 1..n of a label image (``n``: its highest id), in the order of the ids."""
    n = int(labels.max()) if n is None else n
    out = []
    for i, box in enumerate(ndi.find_objects(labels, n), start=1):
        if box is None:
            out.append(Polygon())
            continue
        out.append(outline(labels[box] == i, box[0].start, box[1].start))
    return out


def fill(shape, hw: tuple[int, int]) -> np.ndarray:
    """The (H, W) pixels whose centres lie inside ``shape`` (a shapely polygon or multipolygon)."""
    h, w = hw
    out = np.zeros((h, w), bool)
    if shape.is_empty:
        return out
    x0, y0, x1, y1 = shape.bounds
    c0, c1 = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)) + 1)
    r0, r1 = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)) + 1)
    if c0 >= c1 or r0 >= r1:
        return out
    shapely.prepare(shape)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    out[r0:r1, c0:c1] = shapely.contains_xy(shape, xx + 0.5, yy + 0.5)
    return out


def problem(shape) -> str:
    """What is wrong with a polygon as an outline ("" when nothing): a crossing edge, a ring of too few points."""
    if shape.is_empty:
        return "its outline is empty"
    if shape.is_valid:
        return ""
    why = explain_validity(shape)  # "Self-intersection[12.5 30]"
    name, _, where = why.partition("[")
    where = where.rstrip("]").split()
    at = f" at x={float(where[0]):g}, y={float(where[1]):g}" if len(where) == 2 else ""
    if name.lower().startswith(("self-intersection", "ring self-intersection")):
        return f"its outline crosses itself{at}; redraw it so that its edges do not cross"
    return f"its outline is not a valid polygon ({name.strip()}{at})"
