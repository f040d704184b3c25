"""Per-class loss weights: given by the user, or balanced from the training masks' pixel counts."""
from __future__ import annotations

import numpy as np

from seg_core.data.dataset import Dataset
from seg_core.runs.config import ConfigError


def balanced_weights(ds: Dataset, stems: list[str], power: float = 0.5, limit: float = 10.0) -> list[float]:
    """Class weights (median frequency / frequency) ** power over the training images, clipped to
    [1/limit, limit]; 1 for classes absent from them. Rare classes count for more in the loss."""
    counts = sum((ds.class_pixels[s] for s in stems if s in ds.class_pixels), np.zeros(ds.num_classes))
    freq = counts / max(counts.sum(), 1)
    present = freq > 0
    if not present.any():
        return [1.0] * ds.num_classes
    w = np.ones(ds.num_classes)
    w[present] = np.clip((np.median(freq[present]) / freq[present]) ** power, 1 / limit, limit)
    return w.round(4).tolist()


def class_weights_for(setting: list[float] | str | None, ds: Dataset, train_stems: list[str]) -> list[float] | None:
    """The weights a run's loss uses for ``setting`` ("balanced", None, or one number per class)."""
    if setting is None:
        return None
    if setting == "balanced":
        return balanced_weights(ds, train_stems)
    if len(setting) != ds.num_classes:
        raise ConfigError("class_weights", f"{len(setting)} values given for {ds.num_classes} classes "
                                           f"({', '.join(ds.classes.names)})")
    return [float(v) for v in setting]
