"""The region and box tools (``grow_region``, ``box_object``) on a synthetic blob."""
import cv2
import numpy as np

from seg_core.assist import LivePreview, box_object, grow_region


def blob_image() -> tuple[np.ndarray, np.ndarray]:
    """A light textured disc (radius 14) with a small dark spot inside, on a dark noisy ground, and its mask."""
    rng = np.random.default_rng(0)
    img = np.full((72, 96, 3), 40, np.float32)
    truth = np.zeros((72, 96), np.uint8)
    cv2.circle(truth, (48, 36), 14, 1, -1)
    img[truth == 1] = (190, 200, 170)
    img[35:38, 46:49] = 120  # a spot in the object: a hole the region fills
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), truth.astype(bool)


def iou(a, b) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_grow_region_from_a_click_inside_the_blob():
    img, truth = blob_image()
    region = grow_region(img, (30, 44))
    assert region.dtype == bool and region.shape == truth.shape
    assert iou(region, truth) > 0.85


def test_grow_region_from_the_ground_leaves_the_blob_out():
    img, truth = blob_image()
    region = grow_region(img, (5, 5))
    assert (region & truth).sum() < 0.05 * truth.sum() and region.sum() > 0.8 * (~truth).sum()


def test_grow_region_in_the_preview_feature_space():
    img, truth = blob_image()
    region = grow_region(img, (36, 40), features=LivePreview(img, 2).grid_features())
    assert iou(region, truth) > 0.6


def test_box_object_finds_the_blob_inside_the_box():
    img, truth = blob_image()
    obj = box_object(img, (16, 28, 56, 68))
    assert obj.dtype == bool and iou(obj, truth) > 0.85
    assert not obj[:16].any() and not obj[:, :28].any()  # nothing outside the box
    assert iou(box_object(img, (0, 0, 72, 96)), truth) > 0.5  # a box as large as the image still works
    assert not box_object(img, (10, 10, 11, 40)).any()  # a box too thin to hold anything


def test_a_click_on_one_of_two_touching_discs_takes_that_disc_only():
    rng = np.random.default_rng(1)
    img = np.full((90, 120, 3), 210, np.float32)
    left, right = np.zeros((90, 120), np.uint8), np.zeros((90, 120), np.uint8)
    cv2.circle(left, (45, 45), 15, 1, -1)
    cv2.circle(right, (73, 45), 15, 1, -1)  # overlapping the left one: one dark blob with a neck
    img[(left | right) == 1] = (90, 40, 120)
    img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    region = grow_region(img, (45, 42))
    assert iou(region, left.astype(bool)) > 0.7
    assert (region & right.astype(bool) & ~left.astype(bool)).sum() < 0.15 * right.sum()
