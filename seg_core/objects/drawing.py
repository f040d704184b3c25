"""Objects drawn for people: their outlines in the class colours over the image, each object's id beside it,
one object picked out."""
from __future__ import annotations

import cv2
import numpy as np
from skimage.segmentation import find_boundaries

from seg_core.base.classes import ClassList
from seg_core.objects.instances import Objects

PICKED = (255, 255, 0)  # the picked object's outline
MAX_IDS = 400  # more ids than this would hide the image: outlines only


def outline_objects(image: np.ndarray, objects: Objects, classes: ClassList, centroids: np.ndarray | None = None,
                    picked: int | None = None) -> np.ndarray:
    """``image`` (RGB) with each object's outline in its class colour and, with ``centroids`` ((N, 2) row,
    column per object id), its id written there (up to MAX_IDS objects); object ``picked`` outlined thick."""
    out = image[..., :3].copy() if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    lab = objects.labels
    edge = find_boundaries(lab, mode="inner")
    colours = np.array([(0, 0, 0)] + [classes.colours[c] for c in objects.classes], np.uint8)
    out[edge] = colours[lab[edge]]
    if picked is not None and 1 <= picked <= len(objects):
        ring = cv2.dilate((edge & (lab == picked)).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        out[ring] = PICKED
    if centroids is not None and 0 < len(objects) <= MAX_IDS:
        scale = max(0.3, min(out.shape[:2]) / 1500)
        for i, (y, x) in enumerate(centroids, start=1):
            org = (int(x) + 2, int(y) - 2)
            cv2.putText(out, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(out, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out
