"""Per-object measurements and the per-image summary per class.

Every measure is scikit-image's ``regionprops`` definition (tests/objects check them against
``regionprops_table``), computed for all objects of an image at once: one pass over the pixels with
``np.bincount`` instead of one Python call per object, so a 2048x2048 image with thousands of objects takes
seconds, not a minute. Area, centroid, second moments (and from them the axes, eccentricity and equivalent
diameter) and mean intensities are sums over pixels; the perimeter is regionprops' weighted count of
border-pixel configurations (4-connected border, 3x3 weights), summed per object; the bounding box comes from
``scipy.ndimage.find_objects``; solidity counts the pixels in each object's convex hull as regionprops does,
the hull from OpenCV (``solidities``).

Lengths in pixels (``_px``) and, with a pixel size (``seg_core.data.stacks.metadata.PixelSize``), in
micrometres (``_um``; areas ``_um2``; lengths only for square pixels); the centroid and bounding box in pixels
(row ``y``, column ``x``; the box's max is exclusive), the centroid in micrometres as well; ``mean_<channel>``
and ``sum_<channel>`` the mean and the sum of each channel's values over the object, as given: ``measure`` gives
the file's values as stored (``imageio.read_raw``, 16-bit counts as counted), as QuPath and CellProfiler report
them. Channel names come from the file, else ``red``/``green``/``blue`` for RGB, else ``channel_1`` ..,
made safe for a column (``intensity_columns``).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
import cv2
from skimage.measure import grid_points_in_poly

from seg_core.data.stacks.metadata import PixelSize
from seg_core.objects.instances import Objects

LENGTHS = ("perimeter", "equivalent_diameter", "major_axis", "minor_axis")  # scaled by the pixel size


def default_channel_names(n: int) -> list[str]:
    """Names of ``n`` channels the file does not name: red, green, blue for three, else channel_1 .. channel_n."""
    return ["red", "green", "blue"] if n == 3 else [f"channel_{i}" for i in range(1, n + 1)]


def intensity_columns(names: list[str]) -> list[str]:
    """Channel names as column suffixes: letters, digits and ``_`` only (``GFP (488 nm)`` -> ``GFP_488_nm``),
    never empty, never twice (``DAPI``, ``DAPI_2``)."""
    out: list[str] = []
    for i, name in enumerate(names, 1):
        safe = re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_") or f"channel_{i}"
        cand, k = safe, 2
        while cand in out:
            cand, k = f"{safe}_{k}", k + 1
        out.append(cand)
    return out


def _pixel_sums(lab: np.ndarray, image: np.ndarray, n: int, channels: list[str] | None) -> dict:
    """Area, centroid, axes, eccentricity, equivalent diameter and the channels' means and sums of objects 1..n."""
    rows, cols = np.nonzero(lab)
    ids = lab[rows, cols]
    area = np.bincount(ids, minlength=n + 1)[1:].astype(np.float64)
    solidity = solidities(rows, cols, ids, area)
    safe = np.maximum(area, 1)

    def mean(values):
        return np.bincount(ids, weights=values, minlength=n + 1)[1:] / safe

    cy, cx = mean(rows.astype(np.float64)), mean(cols.astype(np.float64))
    dy, dx = rows - cy[ids - 1], cols - cx[ids - 1]  # about each object's centroid: no cancellation
    a, b, c = mean(dy * dy), mean(dx * dx), mean(dy * dx)  # the covariance (regionprops' inertia tensor)
    half, root = (a + b) / 2, np.sqrt(((a - b) / 2) ** 2 + c ** 2)
    l1, l2 = half + root, np.maximum(half - root, 0)
    out = {"area_px": area.astype(np.int64), "equivalent_diameter_px": np.sqrt(4 * area / np.pi),
           "major_axis_px": 4 * np.sqrt(l1), "minor_axis_px": 4 * np.sqrt(l2),
           "eccentricity": np.where(l1 > 0, np.sqrt(1 - l2 / np.where(l1 > 0, l1, 1)), 0.0),
           "centroid_y": cy, "centroid_x": cx, "solidity": solidity}
    pixels = image[rows, cols] if image.ndim == 3 else image[rows, cols][:, None]
    names = intensity_columns(channels or default_channel_names(pixels.shape[1]))
    if len(names) != pixels.shape[1]:
        raise ValueError(f"{len(names)} channel names for an image of {pixels.shape[1]} channels")
    for i, name in enumerate(names):
        total = np.bincount(ids, weights=pixels[:, i].astype(np.float64), minlength=n + 1)[1:]
        out[f"mean_{name}"], out[f"sum_{name}"] = total / safe, total
    return out


# regionprops' perimeter: a border pixel's value is 1 + the weights of its border neighbours of the same object
_NEIGHBOURS = [((-1, -1), 10), ((-1, 0), 2), ((-1, 1), 10), ((0, -1), 2), ((0, 1), 2), ((1, -1), 10), ((1, 0), 2),
               ((1, 1), 10)]
_PERIMETER_WEIGHTS = np.zeros(50)
_PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_PERIMETER_WEIGHTS[[21, 33]] = np.sqrt(2)
_PERIMETER_WEIGHTS[[13, 23]] = (1 + np.sqrt(2)) / 2


def _shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``a`` seen from one pixel over: out[y, x] = a[y + dy, x + dx] (0 outside)."""
    h, w = a.shape
    out = np.zeros_like(a)
    out[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] = a[max(0, dy):h + min(0, dy) or h,
                                                                   max(0, dx):w + min(0, dx) or w]
    return out


def perimeters(lab: np.ndarray, n: int) -> np.ndarray:
    """regionprops' ``perimeter`` (4-connected border) of objects 1..n, all at once."""
    padded = np.pad(lab, 1)
    inner = padded[1:-1, 1:-1] > 0
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        inner &= padded[1 + dy:padded.shape[0] - 1 + dy, 1 + dx:padded.shape[1] - 1 + dx] == lab
    border = np.where((lab > 0) & ~inner, lab, 0)
    value = (border > 0).astype(np.int32)
    for (dy, dx), weight in _NEIGHBOURS:
        value += weight * ((_shifted(border, dy, dx) == border) & (border > 0))
    ids = border[border > 0]
    return np.bincount(ids, weights=_PERIMETER_WEIGHTS[np.minimum(value[border > 0], 49)], minlength=n + 1)[1:]


_EDGE_MIDDLES = np.array([[0, -0.5], [0, 0.5], [-0.5, 0], [0.5, 0]], np.float32)  # of a pixel, as regionprops


def solidities(rows: np.ndarray, cols: np.ndarray, ids: np.ndarray, area: np.ndarray) -> np.ndarray:
    """regionprops' ``solidity`` per object (``ids`` 1..n of the pixels at ``rows``, ``cols``): the area over
    the pixels of the object's box whose centres lie in (or on) the convex hull of its pixels' edge middles;
    the hulls from OpenCV's ``convexHull`` (regionprops calls SciPy's Qhull twice per object)."""
    order = np.argsort(ids, kind="stable")
    points = np.stack([rows[order], cols[order]], axis=1).astype(np.float32)
    ends = np.cumsum(area.astype(np.int64))
    out = np.ones(len(area))
    for i, (start, end) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
        mine = points[start:end]
        low = mine.min(0)
        hull = cv2.convexHull(mine - low).reshape(-1, 1, 2)
        verts = cv2.convexHull((hull + _EDGE_MIDDLES[None]).reshape(-1, 2)).reshape(-1, 2)
        inside = grid_points_in_poly(tuple((mine.max(0) - low + 1).astype(int)), verts, binarize=False) >= 1
        out[i] = area[i] / max(int(inside.sum()), 1)
    return out


def as_pixel_size(size: PixelSize | float | None) -> PixelSize | None:
    """A pixel size from micrometres per (square) pixel, or as it is."""
    return PixelSize(float(size), float(size)) if isinstance(size, (int, float)) else size


def measure_objects(objects: Objects, image: np.ndarray, class_names: list[str], image_name: str = "",
                    pixel_size: PixelSize | float | None = None, channels: list[str] | None = None) -> pd.DataFrame:
    """One row per object: image, object (its id in the label image), class, then the measurements; the
    intensities of ``image``'s channels (named ``channels``, default ``default_channel_names``)."""
    lab, n = objects.labels, len(objects)
    if image.shape[:2] != lab.shape:
        raise ValueError(f"{image_name or 'the image'}: the image is {image.shape[1]}x{image.shape[0]}, "
                         f"its objects {lab.shape[1]}x{lab.shape[0]}")
    sums = _pixel_sums(lab, image, n, channels)
    boxes = [s if s is not None else (slice(0, 0), slice(0, 0)) for s in ndi.find_objects(lab, n)]
    df = pd.DataFrame({"image": image_name, "object": np.arange(1, n + 1, dtype=np.int64),
                       "class": [class_names[c] for c in objects.classes],
                       "area_px": sums.pop("area_px"), "perimeter_px": perimeters(lab, n)}
                      | {k: sums.pop(k) for k in ("equivalent_diameter_px", "major_axis_px", "minor_axis_px",
                                                  "eccentricity")}
                      | {"solidity": sums.pop("solidity"), "centroid_y": sums.pop("centroid_y"),
                         "centroid_x": sums.pop("centroid_x"),
                         "bbox_min_y": [s[0].start for s in boxes], "bbox_min_x": [s[1].start for s in boxes],
                         "bbox_max_y": [s[0].stop for s in boxes], "bbox_max_x": [s[1].stop for s in boxes]}
                      | sums)
    size = as_pixel_size(pixel_size)
    if size is not None:
        df.insert(df.columns.get_loc("area_px") + 1, "area_um2", df["area_px"] * size.area)
        for name in LENGTHS if size.square else ():  # lengths on pixels of another width than height: not one scale
            df.insert(df.columns.get_loc(f"{name}_px") + 1, f"{name}_um", df[f"{name}_px"] * size.x)
        df.insert(df.columns.get_loc("centroid_x") + 1, "centroid_y_um", df["centroid_y"] * size.y)
        df.insert(df.columns.get_loc("centroid_y_um") + 1, "centroid_x_um", df["centroid_x"] * size.x)
    return df.astype({c: np.int64 for c in ("bbox_min_y", "bbox_min_x", "bbox_max_y", "bbox_max_x")})


def image_summary(objects: Objects, class_names: list[str], image_name: str = "",
                  pixel_size: PixelSize | float | None = None) -> pd.DataFrame:
    """Per class other than the background: the count of objects, the area they cover (pixels, and square
    micrometres with a pixel size) and its fraction of the image."""
    area = np.bincount(objects.labels.ravel(), minlength=len(objects) + 1)[1:]
    size = as_pixel_size(pixel_size)
    rows = []
    for c in range(1, len(class_names)):
        mine = objects.classes == c
        covered = int(area[mine].sum())
        rows.append({"image": image_name, "class": class_names[c], "count": int(mine.sum()), "area_px": covered}
                    | ({"area_um2": covered * size.area} if size is not None else {})
                    | {"area_fraction": covered / objects.labels.size})
    return pd.DataFrame(rows)


def area_histogram(table: pd.DataFrame, column: str = "area_px", bins: int = 20) -> pd.DataFrame:
    """Objects per size bin and class: index the bins' centres (``column``'s unit), one column per class."""
    if table.empty:
        return pd.DataFrame()
    edges = np.histogram_bin_edges(table[column], bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    return pd.DataFrame({name: np.histogram(group[column], bins=edges)[0] for name, group in table.groupby("class")},
                        index=pd.Index(np.round(centres, 1), name=column))


def crop_box(row: pd.Series, shape: tuple[int, int], margin: int = 16) -> tuple[slice, slice]:
    """The object's bounding box (a table row) widened by ``margin`` pixels, within an image of ``shape``."""
    return (slice(max(0, int(row["bbox_min_y"]) - margin), min(shape[0], int(row["bbox_max_y"]) + margin)),
            slice(max(0, int(row["bbox_min_x"]) - margin), min(shape[1], int(row["bbox_max_x"]) + margin)))
