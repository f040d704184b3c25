"""What the values of a stored mask mean: class indices, the unlabelled value, binary 0/255 masks."""
from __future__ import annotations

import numpy as np

UNLABELLED = 255  # the value of pixels nobody labelled: stored by the app, skipped by losses and metrics
IGNORE = UNLABELLED  # the same value in training labels (masks are normalised to it)
MAX_CLASSES = 255  # class indices 0..254; 255 is reserved for unlabelled


def is_binary_255(values: np.ndarray, ignore_index: int | None) -> bool:
    """True when a mask holds only 0 and 255 and 255 is not the ignore value: read as {0, 1}."""
    vals = set(np.unique(values).tolist())
    return 255 in vals and vals <= {0, 255} and ignore_index != 255



def normalise_mask(raw: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """Map stored values to training labels: {0,255}->{0,1}, ignore value -> IGNORE."""
    if is_binary_255(raw, ignore_index):
        raw = (raw > 0).astype(np.int32)
    out = raw.astype(np.int64)
    if ignore_index is not None:
        out[raw == ignore_index] = IGNORE
    return out.clip(0, 255).astype(np.uint8)
