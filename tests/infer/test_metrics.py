"""Metrics from a confusion matrix."""
import numpy as np
import pytest

from seg_core.infer.metrics import confusion, scores


def test_metrics_from_confusion():
    pred = np.array([[0, 0, 1, 1]])
    true = np.array([[0, 1, 1, 255]])
    s = scores(confusion(pred, true, 2), ["a", "b"])
    assert s["per_class_iou"] == {"a": 0.5, "b": 0.5} and s["pixel_accuracy"] == pytest.approx(2 / 3)
