"""A predicted class mask (and its class probabilities) to a label image: one id per object, 0 background.

Per class other than the background: enclosed background filled (``fill_holes``), connected regions
(4-connected), optionally touching objects separated by a watershed on the distance to the class's edge
(optionally weighed by the class probability) from its peaks, at least ``split_spacing`` typical radii apart; pieces below
``min_size`` pixels dropped, and, given the model's confidence per pixel, objects where it never reaches
``min_confidence`` (faint specks the model half believes in). Ids run 1..N over the whole image, in order of
class and then of position.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.measure import label
from skimage.segmentation import relabel_sequential, watershed

from seg_core.base.regions import median_pixel_area
from seg_core.objects.settings import ObjectSettings

MAX_OBJECTS = np.iinfo(np.uint16).max  # ids of a 16-bit label image


@dataclass
class Objects:
    """``labels``: (H, W) int32, 0 background, 1..N the objects; ``classes``: (N,) each object's class index
    (object id i has class ``classes[i - 1]``)."""

    labels: np.ndarray
    classes: np.ndarray
    faint: int = 0  # regions left out because the model was nowhere in them as sure as ``min_confidence``

    def __len__(self) -> int:
        return len(self.classes)

    def as_uint16(self, name: str = "the image") -> np.ndarray:
        """The label image as uint16 (as written to TIFF); more than 65535 objects is an error naming ``name``."""
        if len(self) > MAX_OBJECTS:
            raise ValueError(f"{name}: {len(self)} objects, more than a 16-bit label image holds ({MAX_OBJECTS}); "
                             "raise the minimum object size")
        return self.labels.astype(np.uint16)


def without(lab: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """``lab`` with the objects whose ids ``drop`` marks (a boolean per id; the background's is ignored) cleared."""
    drop[0] = False
    if not drop.any():
        return lab
    lab = lab.copy()
    lab[drop[lab]] = 0
    return lab


def _drop_small(lab: np.ndarray, min_size: int) -> np.ndarray:
    if min_size <= 1 or lab.max() == 0:
        return lab
    return without(lab, np.bincount(lab.ravel()) < min_size)


def peak_confidence(lab: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Per id 0..max of ``lab``, the highest ``confidence`` inside it (the predicted class's probability, 0..1,
    or 0..255 as uint8), as 0..1."""
    scale = 255.0 if confidence.dtype == np.uint8 else 1.0
    return np.asarray(ndi.maximum(confidence, lab, index=np.arange(lab.max() + 1)), np.float32) / scale


def _drop_faint(lab: np.ndarray, confidence: np.ndarray | None, min_confidence: float) -> tuple[np.ndarray, int]:
    """``lab`` without the objects whose highest ``confidence`` (``peak_confidence``) stays under
    ``min_confidence``; and how many were left out."""
    if confidence is None or min_confidence <= 0 or lab.max() == 0:
        return lab, 0
    peak = peak_confidence(lab, confidence)
    present = np.bincount(lab.ravel(), minlength=len(peak)) > 0
    faint = (peak < min_confidence) & present
    faint[0] = False
    return without(lab, faint), int(faint.sum())


def enclosed(region: np.ndarray) -> np.ndarray:
    """The pixels outside ``region`` that it encloses (4-connected parts of the rest not reaching the image's
    edge): one labelling pass, where ``binary_fill_holes`` dilates again and again."""
    rest = label(~region, connectivity=1)
    edge = np.unique(np.concatenate([rest[0], rest[-1], rest[:, 0], rest[:, -1]]))
    return (rest > 0) & ~np.isin(rest, edge)


def typical_radius(regions: np.ndarray) -> float:
    """The radius of a disc as large as the typical region of the label image ``regions`` (the one holding the
    median pixel: ``median_pixel_area``); 1 when there is none."""
    area = median_pixel_area(np.bincount(regions.ravel())[1:])
    return 1.0 if area is None else float(np.sqrt(area / np.pi))


def split_touching(region: np.ndarray, spacing: float, prob: np.ndarray | None = None) -> np.ndarray:
    """Labels of the boolean ``region`` with touching blobs separated: a watershed on the distance to the
    region's edge (times ``prob``, the class probability, when given), smoothed, from one marker per centre:
    the local peaks of that distance at least ``spacing`` typical radii apart (``typical_radius`` of the
    region's connected parts). Two blobs whose centres lie farther apart than that split; a lone round or
    oval blob keeps one centre; a region with no such peak keeps one at its farthest point.

    Shapes are taken with what the region encloses (a cell's body around its nucleus, of another class, is
    one blob with one centre, not a ring of several); only the region's own pixels are labelled."""
    solid = region | enclosed(region)
    dist = ndi.distance_transform_edt(solid).astype(np.float32)
    if prob is not None:
        dist *= np.where(region, prob, 1.0)
    dist = ndi.gaussian_filter(dist, 1.0) * solid
    regions = label(solid, connectivity=1)
    apart = max(1, int(round(spacing * typical_radius(regions))))
    peaks = peak_local_max(dist, min_distance=apart, labels=regions, exclude_border=False)
    markers = np.zeros(region.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    unmarked = np.setdiff1d(np.arange(1, regions.max() + 1), regions[tuple(peaks.T)])
    if len(unmarked):
        far = ndi.maximum_position(dist, regions, index=unmarked)
        markers[tuple(np.array(far).T)] = np.arange(len(peaks) + 1, len(peaks) + len(unmarked) + 1)
    return watershed(-dist, markers, mask=solid) * region


def label_objects(mask: np.ndarray, probs: np.ndarray | None = None,
                  settings: ObjectSettings = ObjectSettings(), num_classes: int | None = None,
                  confidence: np.ndarray | None = None) -> Objects:
    """The objects of ``mask`` ((H, W) class indices; class 0 is background). ``probs``: (C, H, W) class
    probabilities, used to separate touching objects where given (None: the mask alone). ``confidence``: (H, W)
    the predicted class's probability (float 0..1 or uint8 0..255): objects where it never reaches
    ``settings.min_confidence`` are left out (None: all kept)."""
    n = num_classes or (len(probs) if probs is not None else int(mask.max(initial=0)) + 1)
    out = np.zeros(mask.shape, np.int32)
    classes: list[np.ndarray] = []
    next_id, faint = 1, 0
    for c in range(1, n):
        region = mask == c
        if not region.any():
            continue
        if settings.fill_holes:
            region |= enclosed(region) & (mask == 0)
        lab = label(region, connectivity=1)
        lab = _drop_small(lab, settings.min_size)
        if settings.split_touching and lab.any():
            region = lab > 0
            lab = _drop_small(split_touching(region, settings.split_spacing,
                                             None if probs is None else probs[c]), settings.min_size)
        lab, left_out = _drop_faint(lab, confidence, settings.min_confidence)
        faint += left_out
        lab, _, _ = relabel_sequential(lab.astype(np.int32), offset=next_id)
        count = int(lab.max()) - next_id + 1 if lab.any() else 0
        if count:
            out[lab > 0] = lab[lab > 0]
            classes.append(np.full(count, c, np.int32))
            next_id += count
    return Objects(out, np.concatenate(classes) if classes else np.zeros(0, np.int32), faint)
