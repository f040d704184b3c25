"""The live preview (``seg_core.assist.LivePreview``) on small synthetic images: strokes, one class, no labels,
examples, bad input."""
import numpy as np
import pytest

from seg_core.assist import LivePreview

from assist_images import UNPAINTED, strokes, two_regions


def accuracy_per_region(pred, truth) -> tuple[float, float]:
    return float((pred[truth == 0] == 0).mean()), float((pred[truth == 1] == 1).mean())


def test_two_strokes_label_most_of_each_region():
    img, truth = two_regions()
    pred = LivePreview(img, 2).update(strokes(truth.shape))
    assert pred.shape == truth.shape and pred.dtype == np.uint8
    ground, disc = accuracy_per_region(pred, truth)
    assert ground > 0.9 and disc > 0.9, (ground, disc)


def test_updates_follow_the_strokes_and_keep_painted_pixels():
    img, truth = two_regions(1)
    live = LivePreview(img, 3)
    labels = strokes(truth.shape)
    first = live.update(labels)
    labels[10:13, 60:70] = 2  # a third class painted on the ground
    second = live.update(labels)
    assert set(np.unique(first)) <= {0, 1} and 2 in second
    painted = labels != UNPAINTED
    assert np.array_equal(second[painted], labels[painted])
    assert live.probabilities is not None and live.probabilities.shape[-1] == 3


def test_an_undo_or_a_cleared_mask_after_strokes_still_gets_a_suggestion():
    """Fewer painted pixels than the update before (an undo, a cleared mask, or another tab's older labels): no
    pixel is new to score the classifiers on, and the suggestion still comes (it once failed there)."""
    examples = [two_regions(seed) for seed in (1, 2)]
    img, truth = two_regions(3)
    live = LivePreview(img, 2, examples)
    labels = strokes(truth.shape)
    live.update(labels)
    undone = labels.copy()
    undone[3:6] = UNPAINTED  # the ground stroke undone
    pred = live.update(undone)
    assert pred.shape == truth.shape and (pred[undone == 1] == 1).all()
    ground, disc = accuracy_per_region(live.update(np.full(truth.shape, UNPAINTED, np.uint8)), truth)
    assert ground > 0.85 and disc > 0.85, (ground, disc)


def test_labels_of_one_class_give_that_class_everywhere():
    img, truth = two_regions()
    labels = np.full(truth.shape, UNPAINTED, np.uint8)
    labels[20:25, 20:25] = 2
    assert (LivePreview(img, 3).update(labels) == 2).all()


def test_no_labels_and_no_examples_give_background():
    img, truth = two_regions()
    pred = LivePreview(img, 2).update(np.full(truth.shape, UNPAINTED, np.uint8))
    assert pred.shape == truth.shape and (pred == 0).all()


def test_no_labels_with_examples_predict_from_the_examples():
    examples = [two_regions(seed) for seed in (1, 2)]
    examples[1][1][::7] = UNPAINTED  # examples may be partly labelled
    img, truth = two_regions(3, shape=(56, 72))  # a new image, another size
    pred = LivePreview(img, 2, examples).update(np.full(truth.shape, UNPAINTED, np.uint8))
    ground, disc = accuracy_per_region(pred, truth)
    assert ground > 0.85 and disc > 0.85, (ground, disc)


def test_bad_input_is_refused_with_a_message():
    img, truth = two_regions()
    live = LivePreview(img, 2)
    with pytest.raises(ValueError, match="holds values \\[5\\]"):
        live.update(np.full(truth.shape, 5, np.uint8))
    with pytest.raises(ValueError, match="same size"):
        live.update(np.full((10, 10), UNPAINTED, np.uint8))
    with pytest.raises(ValueError, match="not a grey or colour image"):
        LivePreview(img[..., :2, None], 2)
    with pytest.raises(ValueError, match="example 0's mask"):
        LivePreview(img, 2, [(img, np.zeros((5, 5), np.uint8))])


def left_half_model(num_classes: int = 2):
    """A stand-in for a trained network that knows what the image does not show: the left half is class 1."""
    def probabilities(image):
        h, w = image.shape[:2]
        p = np.zeros((h, w, num_classes), np.float32)
        p[:, : w // 2, 1], p[:, w // 2:, 0] = 0.9, 0.9
        p[:, : w // 2, 0], p[:, w // 2:, 1] = 0.1, 0.1
        return p
    return probabilities


def plain_noise(seed: int = 0, shape=(48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(90, 160, (*shape, 3), dtype=np.uint8)


def test_a_trained_model_gives_the_preview_what_the_image_does_not_show():
    img = plain_noise()
    truth = np.zeros(img.shape[:2], np.uint8)
    truth[:, :32] = 1
    unpainted = np.full(truth.shape, UNPAINTED, np.uint8)
    live = LivePreview(img, 2, model=left_half_model())
    assert np.array_equal(live.update(unpainted), truth)  # no strokes, no examples: the model's classes
    labels = unpainted.copy()
    labels[20:23, 5:10], labels[20:23, 50:55] = 1, 0  # one stroke on each side
    pred = live.update(labels)
    assert (pred == truth).mean() > 0.95
    assert (LivePreview(img, 2).update(labels) == truth).mean() < 0.8  # without it, noise alone cannot tell


def test_the_strokes_overrule_a_trained_model_that_is_wrong():
    img, truth = two_regions()
    wrong = left_half_model()  # knows nothing of the disc
    labels = strokes(truth.shape)
    labels[30:34, 2:12] = 0  # the ground on the model's "class 1" side, painted
    pred = LivePreview(img, 2, model=wrong).update(labels)
    ground, disc = accuracy_per_region(pred, truth)
    assert ground > 0.85 and disc > 0.85, (ground, disc)


def test_a_model_of_the_wrong_shape_is_refused_with_a_message():
    img, _ = two_regions()
    with pytest.raises(ValueError, match="trained model gave probabilities of shape"):
        LivePreview(img, 3, model=left_half_model(2))
