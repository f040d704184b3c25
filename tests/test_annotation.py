"""Painting: canvas strokes read back as labels at the image's size, and laid onto the saved mask."""
import numpy as np

from seg_core import ClassList
from seg_core.annotation import ERASER_COLOUR, NOT_PAINTED, apply_strokes, brush_values, coverage, \
    stroke_colour, strokes_to_labels
from seg_core.mask_values import UNLABELLED

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


# -- two canvases on one mask: each save lays only its own change onto the file as it is now ------------
from seg_core.annotation import CanvasEdits, apply_canvas  # noqa: E402


def _stroke(size, rows, cols, value):
    labels = np.full(size, NOT_PAINTED, np.int16)
    labels[rows, cols] = value
    return labels


def test_two_canvases_painting_one_mask_keep_each_others_strokes():
    size = (4, 4)
    a, b = CanvasEdits.start(size), CanvasEdits.start(size)
    file = None  # no mask yet
    ra = apply_canvas(file, a, _stroke(size, 0, slice(None), 1), size)  # tab A paints row 0
    file, a = ra.mask, ra.edits
    rb = apply_canvas(file, b, _stroke(size, 3, slice(None), 2), size)  # tab B, opened before A's stroke
    file, b = rb.mask, rb.edits
    assert (file[0] == 1).all() and (file[3] == 2).all() and (file[1:3] == UNLABELLED).all()
    more = _stroke(size, 0, slice(None), 1)  # A's canvas now holds its first stroke and a second one
    more[1, :] = 0
    ra = apply_canvas(file, a, more, size)
    file, a = ra.mask, ra.edits
    assert (file[0] == 1).all() and (file[1] == 0).all() and (file[3] == 2).all()  # B's row survived A's save
    assert ra.changed == 4


def test_undo_gives_back_what_was_under_the_stroke_unless_another_tab_changed_it_since():
    size = (2, 4)
    base = np.array([[0, 0, 1, 1], [2, 2, UNLABELLED, UNLABELLED]], np.uint8)
    a = CanvasEdits.start(size)
    r = apply_canvas(base, a, _stroke(size, 0, slice(None), 2), size)  # A paints row 0 with class 2
    file, a = r.mask, r.edits
    file[0, 3] = 0  # then tab B paints over one of A's pixels
    r = apply_canvas(file, a, None, size)  # A's undo (or reset): its canvas is empty again
    assert r.mask[0].tolist() == [0, 0, 1, 0]  # A's pixels get back what was under them; B's pixel stays B's
    assert r.kept_theirs == 1 and r.mask[1].tolist() == base[1].tolist()


def test_a_clear_in_another_tab_is_not_undone_by_the_next_stroke():
    size = (2, 2)
    a = CanvasEdits.start(size)
    r = apply_canvas(np.zeros(size, np.uint8), a, _stroke(size, 0, 0, 1), size)
    a = r.edits
    cleared = None  # tab B pressed Clear: the file is gone
    r = apply_canvas(cleared, a, _stroke(size, [0, 1], [0, 1], 1), size)  # A keeps its stroke and adds one
    assert r.mask.tolist() == [[UNLABELLED, UNLABELLED], [UNLABELLED, 1]]  # only A's new pixel: the clear stays


def test_taking_every_stroke_back_leaves_no_mask_when_there_was_none():
    size = (2, 2)
    a = CanvasEdits.start(size)
    r = apply_canvas(None, a, _stroke(size, 0, 0, 1), size)
    assert r.mask is not None
    r = apply_canvas(r.mask, r.edits, None, size)
    assert r.mask is None  # back to no mask file at all (a mask with no labelled pixel cannot be trained on)
