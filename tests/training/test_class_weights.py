"""Class weights for the loss."""
import numpy as np
import pytest


def test_balanced_class_weights_favour_rare_classes(tiny_data):
    from seg_core import scan_dataset
    from seg_core.training.class_weights import balanced_weights

    ds = scan_dataset(tiny_data)
    counts = sum(ds.class_pixels.values())
    w = balanced_weights(ds, [s.stem for s in ds.labelled])
    rare, common = int(np.argmin(counts)), int(np.argmax(counts))
    assert w[rare] > 1 > w[common]
    assert balanced_weights(ds, []) == [1.0, 1.0, 1.0]  # nothing to count: no weighting
