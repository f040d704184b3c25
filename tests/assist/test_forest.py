"""The preview's forest: the ilastik-style anchor's own filters on each colour channel, trusted first while the
strokes are few, a whole image predicted by fewer trees where the first ones agree, and no scikit-learn
warnings whatever the host program's warning filters."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seg_core.assist import LivePreview
from seg_core.assist.choice import HeldOutWeights
from seg_core.assist.classifier import CASCADE_ROWS, FilterForest
from seg_core.assist.preview import HANDICAP
from seg_core.assist.features import FILTER_SIGMAS, FINE_DIMS, channels, fine_features, filter_stack

from assist_images import UNPAINTED, strokes, two_regions


def test_the_fine_filters_are_the_anchors_bank_on_each_channel():
    img, _ = two_regions()
    fine = fine_features(img)
    assert fine.shape == (*img.shape[:2], FINE_DIMS)
    per_channel = FINE_DIMS // 3
    for c, channel in enumerate(channels(img)):  # a colour image: three channels
        bank = np.stack(filter_stack(channel, FILTER_SIGMAS), axis=-1)
        assert np.allclose(fine[..., c * per_channel:(c + 1) * per_channel], bank)
    grey = np.repeat(img[..., :1], 3, axis=2)
    fine = fine_features(grey)  # a grey image: the same bank three times, the same number of features
    assert fine.shape[-1] == FINE_DIMS
    assert np.array_equal(fine[..., :per_channel], fine[..., 2 * per_channel:])


def test_with_few_strokes_the_forest_is_trusted_first_and_with_a_trained_model_the_network():
    img, truth = two_regions()
    assert LivePreview(img, 2).weights.weights()["forest"] > 0.8

    def model(image):
        return np.dstack([1.0 - truth, truth]).astype(np.float32)

    assert LivePreview(img, 2, model=model).weights.weights()["network"] > 0.8


def test_a_handicapped_classifier_earns_the_weight_by_labelling_new_strokes_right():
    weights = HeldOutWeights(("network", "forest"), 2, {"network": HANDICAP})
    assert weights.weights()["forest"] > 0.9
    classes = np.array([0, 0, 1, 1])
    right = np.eye(2)[classes]
    weights.add({"network": right, "forest": 1 - right}, classes)  # one stroke it labels right, the forest wrong
    assert weights.weights()["forest"] > 0.45
    weights.add({"network": right, "forest": 1 - right}, classes)  # and another
    assert weights.weights()["network"] > 0.9


def test_a_whole_image_from_fewer_trees_gives_the_forests_answer():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(CASCADE_ROWS * 3, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    forest = FilterForest(3)  # a class it is not given gets zero
    forest.fit(x[:300], y[:300])
    probs = forest.probabilities(x)
    full = forest.forest.predict_proba(x)
    assert probs.shape == (len(x), 3) and np.allclose(probs[:, 2], 0)
    assert (probs[:, :2].argmax(1) == full.argmax(1)).mean() > 0.99
    assert np.abs(probs[:, :2] - full).mean() < 0.01


HOST_WITHOUT_FILTERS = """
import warnings
import numpy as np
from seg_core.assist.classifier import CASCADE_ROWS, FilterForest
x = np.random.default_rng(0).normal(size=(CASCADE_ROWS + 10, 4)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
caught = []
for stroke in range(3):  # scikit-learn warned once per tree from the second
    with warnings.catch_warnings(record=True) as now:
        warnings.resetwarnings()  # as some host programs do
        forest = FilterForest(2)
        forest.fit(x[:200], y[:200])
        forest.probabilities(x)  # the first trees, then the rest on the rows they are not sure of
        forest.probabilities(x[:50])  # all the trees at once
    caught += now
print(len([w for w in caught if "sklearn" in str(w.message)]), "warnings")
"""


def test_no_scikit_learn_warnings_where_the_host_program_cleared_the_warning_filters():
    # in a fresh interpreter: pytest's own handling of warnings hides these
    done = subprocess.run([sys.executable, "-c", HOST_WITHOUT_FILTERS], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0 warnings", done.stdout


@pytest.mark.parametrize("target_grey", [True, False])
def test_grey_and_colour_images_learn_from_each_other(target_grey):
    def grey(img):  # the blue channel: the disc bright, the ground dark
        return np.repeat(img[..., 2:], 3, axis=2)

    def tinted(img):  # a colour image of the same scene: the blue channel's brightness, tinted
        return (grey(img) * np.array([1.0, 0.85, 0.7])).astype(np.uint8)

    (img, truth), (other, other_truth) = two_regions(0), two_regions(1)
    img, other = (grey(img), tinted(other)) if target_grey else (tinted(img), grey(other))
    pred = LivePreview(img, 2, [(other, other_truth)]).update(np.full(truth.shape, UNPAINTED, np.uint8))
    assert pred.shape == truth.shape
    assert (pred == truth).mean() > 0.85


def test_a_classifier_that_never_gives_a_rare_class_does_not_win_by_the_strokes_on_the_other():
    # the strokes land where the suggestion shown is wrong: the forest's errors, most of them on the ground
    weights = HeldOutWeights(("network", "forest"), 2)
    spot, ground = np.array([1, 1]), np.array([0, 0, 0])

    def never_a_spot(c):
        return np.tile([1.0, 0.0], (len(c), 1))

    weights.add({"network": never_a_spot(spot), "forest": np.full((2, 2), 0.5)}, spot)
    for _ in range(4):
        weights.add({"network": never_a_spot(ground), "forest": np.tile([0.3, 0.7], (3, 1))}, ground)
    # root mean square over the classes: the forest 0.61 (0.5 on spots, 0.7 on ground), the network 0.71 (1 and 0),
    # five updates: weight exp(-3 x 5 x 0.1) against 1; by the mean over the pixels the network would win
    assert weights.weights()["forest"] > 0.8
