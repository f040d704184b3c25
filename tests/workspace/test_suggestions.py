"""What a suggestion while labelling learns from in a workspace (``seg_core.workspace.suggestions``): the other
masks, newest first, and the object of a click or a box."""
from seg_core.workspace.suggestions import example_stems, find_object
from tests.assist.assist_images import two_regions


def test_examples_are_the_other_masks_newest_first():
    stamp = (("a.png", 3), ("b.png", 9), ("c.png", 5), ("notes.txt", 99))
    assert example_stems(stamp, "c") == ["b", "a"]
    assert example_stems(stamp, "x", limit=2) == ["b", "c"]


def test_find_object_by_a_click_and_by_a_box():
    img, truth = two_regions(seed=5)
    clicked = find_object(img, "object", (32, 40))
    assert (clicked & truth.astype(bool)).sum() / (clicked | truth.astype(bool)).sum() > 0.8
    boxed = find_object(img, "box", (8, 16, 56, 64))
    assert (boxed & truth.astype(bool)).sum() / (boxed | truth.astype(bool)).sum() > 0.7
    assert not boxed[:8].any() and not boxed[:, :16].any()  # nothing outside the box
