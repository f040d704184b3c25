"""What a mask holds (coverage, stale values), and a raster canvas's strokes read back as labels at the
image's size and laid onto the saved mask (the drawable-canvas comparison in benchmarks/bench_canvas.py)."""
import numpy as np

from seg_core import ClassList
from seg_core.data.annotation import ERASER_COLOUR, NOT_PAINTED, apply_strokes, brush_values, coverage, \
    stale_values, stroke_colour, strokes_to_labels
from seg_core.base.mask_values import UNLABELLED

CLASSES = ClassList(["background", "cell", "nucleus"], [(0, 0, 0), (60, 180, 75), (230, 25, 75)])


def test_each_brush_draws_in_its_own_colour():
    assert brush_values(CLASSES) == [0, 1, 2, UNLABELLED]
    assert [stroke_colour(v, CLASSES) for v in brush_values(CLASSES)] == [(0, 0, 0), (60, 180, 75), (230, 25, 75),
                                                                            ERASER_COLOUR]


def test_strokes_map_to_the_nearest_brush_colour_at_the_image_size():
    canvas = np.zeros((8, 8, 4), np.uint8)  # a canvas shown at twice the 4x4 image's size
    canvas[0:2, 0:2] = (*stroke_colour(1, CLASSES), 255)  # cell
    canvas[0:2, 2:4] = (220, 35, 80, 140)  # an anti-aliased edge of a nucleus stroke
    canvas[2:4, 0:2] = (*ERASER_COLOUR, 255)
    canvas[2:4, 2:4] = (0, 0, 0, 255)  # background: black, but painted
    labels = strokes_to_labels(canvas, CLASSES, (4, 4))
    assert labels.shape == (4, 4)
    assert labels[0, 0] == 1 and labels[0, 1] == 2 and labels[1, 0] == UNLABELLED and labels[1, 1] == 0
    assert (labels[2:, :] == NOT_PAINTED).all() and (labels[:, 2:] == NOT_PAINTED).all()


def test_an_empty_or_missing_canvas_paints_nothing():
    assert strokes_to_labels(np.zeros((6, 6, 4), np.uint8), CLASSES, (6, 6)) is None
    assert strokes_to_labels(None, CLASSES, (6, 6)) is None


def test_strokes_apply_over_the_saved_mask_and_leave_it_untouched():
    base = np.array([[0, 1], [2, UNLABELLED]], np.uint8)
    labels = np.array([[NOT_PAINTED, 2], [UNLABELLED, 1]], np.int16)
    out = apply_strokes(base, labels, (2, 2))
    assert out.tolist() == [[0, 2], [UNLABELLED, 1]] and out.dtype == np.uint8
    assert base.tolist() == [[0, 1], [2, UNLABELLED]]
    assert apply_strokes(base, None, (2, 2)).tolist() == base.tolist()  # every stroke undone: the saved mask


def test_strokes_on_an_unlabelled_image_leave_the_rest_unlabelled():
    labels = np.full((2, 3), NOT_PAINTED, np.int16)
    labels[0, 0] = 1
    assert apply_strokes(None, labels, (2, 3)).tolist() == [[1, UNLABELLED, UNLABELLED], [UNLABELLED] * 3]
    assert apply_strokes(None, None, (2, 3)) is None  # no strokes, no mask: stays without a mask file


def test_coverage_counts_classes_and_unlabelled():
    shares, unlabelled = coverage(np.array([[0, 0, 1, UNLABELLED]], np.uint8), CLASSES)
    assert shares == [0.5, 0.25, 0.0] and unlabelled == 0.25


def test_stale_values_are_those_no_class_nor_unlabelled():
    mask = np.array([[0, 2, 5, UNLABELLED, 7]], np.uint8)
    assert stale_values(mask, CLASSES) == [5, 7]
    assert stale_values(np.zeros((2, 2), np.uint8), CLASSES) == []
