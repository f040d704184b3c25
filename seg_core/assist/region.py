"""One object from one gesture: ``grow_region`` (a click: the connected region like the clicked pixel in a feature
space, stopped at strong edges) and ``box_object`` (a dragged box: GrabCut inside it). Both return (H, W) bool."""
from __future__ import annotations

import cv2
import numpy as np

from seg_core.assist.features import resize_channels
from seg_core.assist.preview import check_image

SEED_RADIUS = 2  # the clicked pixel's features: the mean over this neighbourhood
GRABCUT_ITERATIONS = 4
HOLE_FRACTION = 0.05  # holes smaller than this share of the region are filled
EDGE_RIM = 1  # edge pixels this close to the grown region join it
FIRST_WINDOW = 48  # pixels across the first window round a click (what is "alike" is judged in the window)


def _fill_holes(mask: np.ndarray, fraction: float = HOLE_FRACTION) -> np.ndarray:
    """The mask with its holes (background not connected to the border) filled where they are smaller than
    ``fraction`` of the mask's area (a click on the background does not take the objects in it)."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(np.pad(~mask, 1).astype(np.uint8), connectivity=4)
    comp = comp[1:-1, 1:-1]
    outside = np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]]))
    small = stats[:, cv2.CC_STAT_AREA] < fraction * max(1, int(mask.sum()))
    small[outside] = False
    small[0] = False  # the mask itself
    return mask | small[comp]


def _component(mask: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The 4-connected component of ``mask`` holding ``point`` (row, col); empty when it is off the mask."""
    _, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    label = comp[point]
    return comp == label if label else np.zeros(mask.shape, bool)


def _split_at_necks(mask: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The part of ``mask`` holding ``point`` after cutting it at its narrow necks: a watershed of the distance
    to the mask's edge from its local maxima (the classic separation of touching round objects)."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    peaks = peak_local_max(dist, min_distance=max(2, int(dist[point] * 0.7)), labels=mask.astype(np.int32),
                           exclude_border=False)
    if len(peaks) < 2:
        return mask
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    parts = watershed(-dist, markers, mask=mask)
    return parts == parts[point] if parts[point] else mask


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of non-negative values (the split that best separates two groups)."""
    top = float(values.max())
    if top <= 1e-6:
        return top
    t, _ = cv2.threshold((values * (255.0 / top)).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return t * top / 255.0


def edge_map(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Strong edges: gradient magnitude of the smoothed grey image above its Otsu threshold and above 3x its
    median (a flat image has none)."""
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), sigma)
    mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    if float(mag.max()) <= 1e-6:
        return np.zeros(mag.shape, bool)
    return mag > max(_otsu(mag), 3.0 * float(np.median(mag)))


def grow_region(image: np.ndarray, point: tuple[int, int], features: np.ndarray | None = None,
                tolerance: float | None = None, edges: bool = True) -> np.ndarray:
    """The region around ``point`` (row, col): the pixels connected to it whose features lie within
    ``tolerance`` of the clicked pixel's (a distance in the image's standard deviations, root mean square over
    the features; default: Otsu's split of the distances), not crossing strong edges, small holes filled.

    ``features``: (h, w, D) of the image at any grid size (e.g. ``LivePreview.grid_features()``, upsampled
    here); default the image's colour in Lab, lightly smoothed."""
    image = check_image(image)
    h, w = image.shape[:2]
    r, c = int(point[0]), int(point[1])
    if not (0 <= r < h and 0 <= c < w):
        raise ValueError(f"point {point} (row, col) lies outside the {w}x{h} image")
    if features is None:
        features = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), 1.0), cv2.COLOR_RGB2LAB).astype(np.float32)
    feats = np.asarray(features, np.float32)
    if feats.ndim == 2:
        feats = feats[..., None]
    if feats.shape[:2] != (h, w):
        feats = resize_channels(feats, (h, w))
    feats = (feats - feats.reshape(-1, feats.shape[-1]).mean(0)) / (feats.reshape(-1, feats.shape[-1]).std(0) + 1e-6)
    seed = feats[max(0, r - SEED_RADIUS):r + SEED_RADIUS + 1, max(0, c - SEED_RADIUS):c + SEED_RADIUS + 1]
    seed = seed.reshape(-1, feats.shape[-1]).mean(0)
    dist = np.sqrt(((feats - seed) ** 2).mean(-1))
    edge = edge_map(image) if edges else np.zeros((h, w), bool)
    half = FIRST_WINDOW // 2
    while True:  # a window round the click, doubled while the region reaches its border (it is larger)
        y0, y1, x0, x1 = max(0, r - half), min(h, r + half + 1), max(0, c - half), min(w, c + half + 1)
        d, e = dist[y0:y1, x0:x1], edge[y0:y1, x0:x1]
        alike = d <= (_otsu(d) if tolerance is None else tolerance)  # what is like the click, here
        alike[r - y0, c - x0] = True
        part = _component(alike & ~e, (r - y0, c - x0)) if not e[r - y0, c - x0] else _component(alike, (r - y0, c - x0))
        whole = y0 == 0 and x0 == 0 and y1 == h and x1 == w

        def touches(p):
            return ((p[0].any() and y0 > 0) or (p[-1].any() and y1 < h)
                    or (p[:, 0].any() and x0 > 0) or (p[:, -1].any() and x1 < w))

        if whole or not touches(part):
            break
        split = _split_at_necks(part, (r - y0, c - x0))  # touching objects alike: the clicked one, when it is
        if not (split[0].any() or split[-1].any() or split[:, 0].any() or split[:, -1].any()):  # whole in view
            part = split
            break
        half *= 2
    region = np.zeros((h, w), bool)
    region[y0:y1, x0:x1] = part
    if edges:  # the region's rim of edge pixels (the object's outline) belongs to it
        rim = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=EDGE_RIM) > 0
        region |= rim & edge
    return _fill_holes(region)


def box_object(image: np.ndarray, box: tuple[int, int, int, int], iterations: int = GRABCUT_ITERATIONS) -> np.ndarray:
    """The object inside ``box`` (row0, col0, row1, col1; ends exclusive), by GrabCut started from the box:
    outside the box is background, inside it probably the object. Nothing outside the box is returned."""
    image = check_image(image)
    h, w = image.shape[:2]
    r0, c0, r1, c1 = (int(v) for v in box)
    r0, r1 = sorted((max(0, min(h, r0)), max(0, min(h, r1))))
    c0, c1 = sorted((max(0, min(w, c0)), max(0, min(w, c1))))
    out = np.zeros((h, w), bool)
    if r1 - r0 < 2 or c1 - c0 < 2:
        return out
    mask = np.zeros((h, w), np.uint8)
    rect = (c0, r0, c1 - c0, r1 - r0)
    if r0 == 0 and c0 == 0 and r1 == h and c1 == w:  # no pixel outside: the box's border stands for background
        rect = (1, 1, max(1, w - 2), max(1, h - 2))
    try:
        cv2.grabCut(np.ascontiguousarray(image[..., ::-1]), mask, rect, np.zeros((1, 65), np.float64),
                    np.zeros((1, 65), np.float64), iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # too few pixels of one side to model: the box itself
        out[r0:r1, c0:c1] = True
        return out
    obj = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    out[r0:r1, c0:c1] = obj[r0:r1, c0:c1]
    return out
