"""The live preview on thin lines and small spots, from dabs painted one at a time (each update learns which of its
classifiers labels the new dabs right): the lines are recovered where the encoder's coarse grid alone loses them
(the code before scored IoU 0.40 on this image, the new 0.75), and the spots from dabs where the suggestion is wrong
(the code before the linear classifier scored 0.58 on the first image)."""
import cv2
import numpy as np
import pytest

from seg_core.assist import LivePreview
from seg_core.assist.choice import HeldOutWeights
from seg_core.assist.classifier import LinearClassifier

from assist_images import UNPAINTED, dots_on, small_spots, thin_lines


def paint_one_at_a_time(img, truth, dabs: np.ndarray) -> tuple[np.ndarray, LivePreview]:
    """The suggestion after each dab of ``dabs`` is painted in turn (as a user paints); the last, and the preview."""
    live = LivePreview(img, 2)
    labels = np.full(truth.shape, UNPAINTED, np.uint8)
    n, comp = cv2.connectedComponents((dabs != UNPAINTED).astype(np.uint8))
    for i in range(1, n):
        labels[comp == i] = dabs[comp == i]
        pred = live.update(labels)
    return pred, live


def iou(pred, truth) -> float:
    return float(((pred == 1) & (truth == 1)).sum() / ((pred == 1) | (truth == 1)).sum())


def test_a_few_dabs_recover_thin_lines():
    img, truth = thin_lines(0)
    pred, live = paint_one_at_a_time(img, truth, dots_on(truth, 8, seed=0))
    assert pred.shape == truth.shape and set(np.unique(pred)) <= {0, 1}
    assert iou(pred, truth) >= 0.6, iou(pred, truth)
    assert live.weights.weights()["forest"] > 0.5  # the fine filters carry them


def dab_where_wrong(pred: np.ndarray, truth: np.ndarray, labels: np.ndarray) -> None:
    """A user's correction: a small dab of the true class in the middle of the largest wrong region."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats((pred != truth).astype(np.uint8), connectivity=8)
    region = (comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(region, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    dab = np.zeros_like(region)
    cv2.circle(dab, (int(x), int(y)), 2, 1, -1)
    labels[(dab > 0) & (truth == truth[y, x])] = truth[y, x]


@pytest.mark.parametrize("seed", [0, 1])
def test_ten_corrections_recover_small_spots(seed):
    img, truth = small_spots(seed)
    live = LivePreview(img, 2)
    labels = np.full(truth.shape, UNPAINTED, np.uint8)
    pred = live.update(labels)
    for _ in range(10):
        dab_where_wrong(pred, truth, labels)
        pred = live.update(labels)
    assert iou(pred, truth) >= 0.65, iou(pred, truth)
    assert live.weights.weights()["network"] < 0.5  # the encoder's coarse grid does not carry them


def test_the_linear_classifier_learns_a_direction_and_keeps_to_the_classes_it_was_given():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = np.where(x[:, 0] > 0, 2, 0)  # classes 0 and 2 of 4, told apart by the first feature
    linear = LinearClassifier(5, 4)
    linear.fit(x, y)
    far = np.array([[3, 0, 0, 0, 0], [-3, 0, 0, 0, 0]], np.float32)
    probs = linear.probabilities(far)
    assert probs.shape == (2, 4) and np.allclose(probs.sum(1), 1)
    assert probs[0].argmax() == 2 and probs[1].argmax() == 0
    assert (probs[:, [1, 3]] == 0).all()  # classes it was not given
    y3 = np.where(x[:, 1] > 1, 3, y)  # a new class painted later: the next fit (from the last weights) learns it
    linear.fit(x, y3)
    assert linear.probabilities(np.array([[0, 4, 0, 0, 0]], np.float32))[0].argmax() == 3
    offset = np.log(np.full((2, 4), 0.01, np.float32))
    offset[:, 3] = 0  # a trained model sure of class 3: its log-probabilities are added to the outputs
    assert (linear.probabilities(far, offset).argmax(1) == 3).all()


def test_the_classifier_that_labels_new_strokes_right_gets_the_weight():
    weights = HeldOutWeights(("network", "forest"), 2)
    assert weights.weights() == {"network": 0.5, "forest": 0.5}  # nothing held out yet
    classes = np.array([0, 0, 1, 1, 1])
    right = np.eye(2)[classes]
    weights.add({"network": 1 - right, "forest": right}, classes)
    assert weights.weights()["forest"] > 0.9
    weights.add({"network": right, "forest": 1 - right}, classes)  # one stroke each way: even again
    assert weights.weights() == pytest.approx({"network": 0.5, "forest": 0.5})
