"""Objects in a mask: found, separated when touching, measured, matched, drawn, and their settings kept."""
from dataclasses import replace

import numpy as np
import pytest
from skimage.draw import disk, ellipse
from skimage.measure import regionprops_table

from seg_core.base.classes import ClassList
from seg_core.objects.drawing import PICKED, outline_objects
from seg_core.objects.instances import label_objects
from seg_core.objects.matching import match_objects
from seg_core.objects.measure import image_summary, measure_objects
from seg_core.objects.settings import ObjectSettings

PLAIN = ObjectSettings(split_touching=False, min_size=0)


def two_touching(shape=(60, 100)):
    """Two discs of radius 14 overlapping a little (one blob with a neck), class 1."""
    m = np.zeros(shape, np.uint8)
    for centre in ((30, 30), (30, 56)):
        m[disk(centre, 14, shape=shape)] = 1
    return m


def test_touching_objects_are_one_region_unless_separated():
    m = two_touching()
    assert len(label_objects(m, settings=PLAIN, num_classes=2)) == 1
    objs = label_objects(m, settings=replace(PLAIN, split_touching=True), num_classes=2)
    assert len(objs) == 2 and set(np.unique(objs.labels)) == {0, 1, 2}
    left, right = (objs.labels[30, 30], objs.labels[30, 56])
    assert {left, right} == {1, 2}
    assert (objs.labels > 0).sum() == (m == 1).sum()  # every pixel of the class in exactly one object


def test_heavily_overlapping_objects_are_separated_and_an_oval_is_not_cut():
    """Two discs of radius 12 whose centres lie 20 pixels apart: the waist between them is as thick as half a
    disc, so no neck shows; their centres still do. A lone oval three times as long as wide keeps one centre."""
    shape = (60, 140)
    m = np.zeros(shape, np.uint8)
    for centre in ((30, 20), (30, 40)):
        m[disk(centre, 12, shape=shape)] = 1
    m[ellipse(30, 100, 9, 27, shape=shape)] = 1
    objs = label_objects(m, settings=replace(PLAIN, split_touching=True), num_classes=2)
    assert len(objs) == 3
    assert objs.labels[30, 14] != objs.labels[30, 46] and objs.labels[30, 14] > 0
    oval = objs.labels[30, 76:125]
    assert len(set(oval.tolist())) == 1 and oval[0] > 0


def test_a_cell_around_its_nucleus_is_one_object_and_touching_cells_two():
    """Class 1 a cell's body, class 2 its nucleus (a hole of another class in the body): the body is one
    object, not a ring cut into pieces; two such cells touching are two."""
    shape = (80, 160)
    m = np.zeros(shape, np.uint8)
    for centre in ((40, 30), (40, 100), (40, 134)):
        m[disk(centre, 19, shape=shape)] = 1
    for centre in ((40, 30), (40, 100), (40, 134)):
        m[disk(centre, 8, shape=shape)] = 2
    objs = label_objects(m, settings=replace(PLAIN, split_touching=True), num_classes=3)
    assert list(objs.classes) == [1, 1, 1, 2, 2, 2]
    assert len(np.unique(objs.labels[m == 1])) == 3  # one object per body, every body pixel in one
    assert len({objs.labels[40, 14], objs.labels[40, 46], objs.labels[22, 30], objs.labels[58, 30]}) == 1
    assert objs.labels[40, 84] != objs.labels[40, 150]
    assert (objs.labels[m == 2] > 0).all() and objs.labels[40, 30] != objs.labels[40, 14]  # nuclei their own


def test_the_probability_moves_the_seam_where_the_model_is_unsure():
    m = two_touching()
    probs = np.stack([1 - m, m]).astype(np.float32)
    probs[1, :, 40:44] *= 0.3  # the model hesitates left of the geometric neck
    objs = label_objects(m, probs, replace(PLAIN, split_touching=True))
    assert len(objs) == 2
    assert objs.labels[30, 40] != objs.labels[30, 45]  # split where the probability dips


def test_holes_are_filled_small_objects_dropped_and_classes_kept():
    m = np.zeros((50, 50), np.uint8)
    m[5:25, 5:25] = 1
    m[12:16, 12:16] = 0  # a hole of background: filled
    m[30:45, 30:45] = 2
    m[35:40, 35:40] = 1  # an object of class 1 inside class 2: not filled over
    m[2:4, 40:42] = 1  # 4 pixels: dropped at min_size 5
    objs = label_objects(m, settings=replace(PLAIN, min_size=5), num_classes=3)
    assert list(objs.classes) == [1, 1, 2]
    assert objs.labels[13, 13] == objs.labels[6, 6] == 1 and objs.labels[2, 40] == 0
    assert (objs.labels == 3).sum() == 15 * 15 - 25 and objs.labels[37, 37] == 2
    unfilled = label_objects(m, settings=replace(PLAIN, fill_holes=False), num_classes=3)
    assert unfilled.labels[13, 13] == 0 and len(unfilled) == 4


def test_faint_regions_are_left_out_and_counted():
    """Three blobs of class 1: the model is sure somewhere in the first (0.97), hesitant all over the second
    (0.6) and sure at one pixel of the third; only the second is faint."""
    m = np.zeros((40, 120), np.uint8)
    conf = np.full(m.shape, 0.99, np.float32)
    for i, peak in enumerate((0.97, 0.6, 0.55)):
        rr, cc = disk((20, 20 + 40 * i), 8, shape=m.shape)
        m[rr, cc] = 1
        conf[rr, cc] = 0.55 if i == 2 else peak
    conf[20, 100] = 0.95  # the third: one confident pixel is enough
    sure = replace(PLAIN, min_confidence=0.9)
    objs = label_objects(m, settings=sure, num_classes=2, confidence=conf)
    assert len(objs) == 2 and objs.faint == 1
    assert objs.labels[20, 60] == 0 and objs.labels[20, 20] == 1 and objs.labels[20, 100] == 2  # ids stay 1..N
    as_bytes = label_objects(m, settings=sure, num_classes=2, confidence=(conf * 255 + 0.5).astype(np.uint8))
    assert np.array_equal(as_bytes.labels, objs.labels) and as_bytes.faint == 1  # a tiled image's 0..255
    assert len(label_objects(m, settings=replace(sure, min_confidence=0), num_classes=2, confidence=conf)) == 3
    assert len(label_objects(m, settings=sure, num_classes=2)) == 3  # no confidence known: all kept
    assert label_objects(m, settings=sure, num_classes=2).faint == 0


def test_no_objects_in_an_empty_mask():
    objs = label_objects(np.zeros((20, 20), np.uint8), settings=ObjectSettings(), num_classes=2)
    assert len(objs) == 0 and not objs.labels.any()
    df = measure_objects(objs, np.zeros((20, 20, 3), np.uint8), ["bg", "fg"], "empty.png")
    assert len(df) == 0 and {"image", "object", "class", "area_px"} <= set(df.columns)


def _ellipses(seed=0, shape=(200, 240)):
    rng = np.random.default_rng(seed)
    m = np.zeros(shape, np.uint8)
    for i in range(25):
        rr, cc = ellipse(*rng.integers(10, 190, 2), rng.integers(3, 12), rng.integers(3, 12), shape=shape,
                         rotation=rng.uniform(0, 3))
        m[rr, cc] = 1 + i % 2
    return m, rng.integers(0, 256, shape + (3,), dtype=np.uint8)


def test_measurements_are_scikit_images_and_scale_with_the_pixel_size():
    m, image = _ellipses()
    objs = label_objects(m, settings=PLAIN, num_classes=3)
    df = measure_objects(objs, image, ["background", "cell", "nucleus"], "a.png", pixel_size=0.5)
    ref = regionprops_table(objs.labels, image, properties=(
        "label", "area", "perimeter", "equivalent_diameter_area", "axis_major_length", "axis_minor_length",
        "eccentricity", "solidity", "centroid", "bbox", "intensity_mean"))
    assert list(df["object"]) == list(ref["label"]) == list(range(1, len(objs) + 1))
    for ours, theirs in [("area_px", "area"), ("perimeter_px", "perimeter"), ("solidity", "solidity"),
                         ("equivalent_diameter_px", "equivalent_diameter_area"),
                         ("major_axis_px", "axis_major_length"), ("minor_axis_px", "axis_minor_length"),
                         ("eccentricity", "eccentricity"), ("centroid_y", "centroid-0"), ("centroid_x", "centroid-1"),
                         ("bbox_min_y", "bbox-0"), ("bbox_min_x", "bbox-1"), ("bbox_max_y", "bbox-2"),
                         ("bbox_max_x", "bbox-3"), ("mean_red", "intensity_mean-0"),
                         ("mean_blue", "intensity_mean-2")]:
        np.testing.assert_allclose(df[ours], ref[theirs], atol=1e-9, err_msg=ours)
    np.testing.assert_allclose(df["area_um2"], df["area_px"] * 0.25)
    np.testing.assert_allclose(df["major_axis_um"], df["major_axis_px"] * 0.5)
    assert list(df["class"]) == [["background", "cell", "nucleus"][c] for c in objs.classes]
    assert (df["image"] == "a.png").all()


def test_each_channels_mean_and_sum_are_the_stored_values_and_sizes_follow_the_pixel_size():
    from seg_core.data.stacks.metadata import PixelSize

    m = np.zeros((40, 60), np.uint8)
    m[5:15, 5:25] = 1  # 200 pixels
    m[20:30, 40:50] = 2  # 100 pixels
    raw = np.zeros((40, 60, 2), np.uint16)
    raw[..., 0], raw[..., 1] = 300, 1000  # background counts
    raw[5:15, 5:25, 0] = 40000  # nuclei stain bright in the cell, values 8 bits cannot hold
    raw[5:10, 5:25, 1] = 2000  # membrane stain in half of it
    raw[20:30, 40:50, 0] = 65535
    objs = label_objects(m, settings=PLAIN, num_classes=3)
    df = measure_objects(objs, raw, ["background", "cell", "nucleus"], "two.ome.tif",
                         pixel_size=PixelSize(0.5, 0.5), channels=["DAPI", "GFP (488 nm)"])
    cell, nucleus = df[df["class"] == "cell"].iloc[0], df[df["class"] == "nucleus"].iloc[0]
    assert (cell["mean_DAPI"], cell["sum_DAPI"]) == (40000, 40000 * 200)
    assert (cell["mean_GFP_488_nm"], cell["sum_GFP_488_nm"]) == (1500, 2000 * 100 + 1000 * 100)
    assert (nucleus["mean_DAPI"], nucleus["sum_DAPI"], nucleus["mean_GFP_488_nm"]) == (65535, 65535 * 100, 1000)
    assert (cell["area_px"], cell["area_um2"], nucleus["area_um2"]) == (200, 50.0, 25.0)
    assert (cell["centroid_y_um"], cell["centroid_x_um"]) == (4.75, 7.25)  # row 9.5, column 14.5
    assert cell["perimeter_um"] == cell["perimeter_px"] * 0.5
    unnamed = measure_objects(objs, raw, ["background", "cell", "nucleus"],
                              pixel_size=PixelSize(0.5, 0.25))  # pixels of another width than height
    assert {"mean_channel_1", "sum_channel_2", "area_um2"} <= set(unnamed.columns)
    assert unnamed["area_um2"].iloc[0] == 200 * 0.125 and "perimeter_um" not in unnamed.columns


def test_image_summary_counts_and_covers_per_class():
    m, _ = _ellipses(1)
    objs = label_objects(m, settings=PLAIN, num_classes=3)
    s = image_summary(objs, ["background", "cell", "nucleus"], "a.png", pixel_size=2.0)
    assert list(s["class"]) == ["cell", "nucleus"]
    assert s["count"].sum() == len(objs) and list(s["count"]) == [int((objs.classes == c).sum()) for c in (1, 2)]
    assert s["area_px"].sum() == (objs.labels > 0).sum() and list(s["area_um2"]) == list(s["area_px"] * 4.0)


def test_too_many_objects_for_16_bits_is_said():
    objs = label_objects((np.indices((520, 520)).sum(0) % 2 == 0).astype(np.uint8),  # a checkerboard
                         settings=replace(PLAIN, fill_holes=False), num_classes=2)
    with pytest.raises(ValueError, match=r"big\.png: 135200 objects, more than a 16-bit label image holds"):
        objs.as_uint16("big.png")


def test_matching_counts_pairs_above_half_overlap():
    true = np.zeros((20, 40), np.int32)
    true[0:10, 0:10], true[10:20, 20:30], true[0:5, 30:35] = 7, 9, 11
    pred = np.zeros_like(true)
    pred[0:10, 0:8] = 1  # IoU 0.8 with 7
    pred[10:20, 20:24] = 2  # IoU 0.4 with 9: no match
    pred[15:20, 0:5] = 3  # nothing there
    m = match_objects(pred, true)
    assert (m.tp, m.fp, m.fn, m.predicted, m.true) == (1, 2, 2, 3, 3)
    assert m.f1 == pytest.approx(2 / 6) and m.mean_iou == pytest.approx(0.8) and m.count_error == 0.0
    assert match_objects(true, true).f1 == 1.0


def test_outlines_are_in_class_colours_and_the_picked_one_stands_out():
    m = np.zeros((40, 40), np.uint8)
    m[5:15, 5:15], m[20:35, 20:35] = 1, 2
    classes = ClassList(["bg", "a", "b"], [(0, 0, 0), (255, 0, 0), (0, 0, 255)])
    objs = label_objects(m, settings=PLAIN, num_classes=3)
    image = np.full((40, 40, 3), 128, np.uint8)
    out = outline_objects(image, objs, classes, picked=2)
    assert tuple(out[5, 10]) == (255, 0, 0) and tuple(out[10, 10]) == (128, 128, 128)  # edge, inside
    assert tuple(out[20, 27]) == PICKED
    assert (image == 128).all()  # the image itself untouched


def test_settings_are_kept_and_bad_values_named(tmp_path):
    path = tmp_path / "objects.json"
    assert ObjectSettings.load(path) == ObjectSettings()  # none saved: the defaults
    s = ObjectSettings(split_touching=False, min_size=30, min_confidence=0.75, pixel_size=0.25)
    s.save(path)
    assert ObjectSettings.load(path) == s
    path.write_text("{not json")
    assert ObjectSettings.load(path) == ObjectSettings()
    with pytest.raises(ValueError, match="pixel size must be a positive number of micrometres, not -1"):
        ObjectSettings(pixel_size=-1)
    with pytest.raises(ValueError, match="minimum object size must be 0 or more pixels"):
        ObjectSettings(min_size=-3)
    with pytest.raises(ValueError, match=r"must lie between 0 and 1 \(0: keep every object\), not 1.5"):
        ObjectSettings(min_confidence=1.5)
    with pytest.raises(ValueError, match="spacing of separated objects must lie above 0 and at most 10 typical radii, not 0"):
        ObjectSettings(split_spacing=0)
    old = {**ObjectSettings().to_json(), "split_level": 0.5}  # saved before the spacing replaced the level
    path.write_text(__import__("json").dumps(old))
    assert ObjectSettings.load(path) == ObjectSettings()
