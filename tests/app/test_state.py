"""The pages' shared helpers: the class editor's table, upload types."""
import nibabel
import numpy as np
from PIL import Image

from seg_core.base.classes import default_colour
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, read_image, read_mask_raw
from segapp.state import classes_from_table, file_types


def test_class_table_rows_keep_their_colours():
    classes = classes_from_table(["background", "", None, " cell ", "nucleus"],
                                 ["#000000", "#ffffff", "#ffffff", "#3cb44b", "red"])
    assert classes.names == ["background", "cell", "nucleus"]
    assert classes.colours == [(0, 0, 0), (60, 180, 75), default_colour(2)]  # an unreadable colour: the default


def test_every_upload_type_offered_is_one_the_engine_reads(tmp_path):
    """The Data page's uploaders offer exactly the suffixes the engine takes, and a file of each reads."""
    image_types, mask_types = file_types(IMAGE_EXTS), file_types(MASK_EXTS)
    assert {f".{t}" for t in image_types} == set(IMAGE_EXTS) and {f".{t}" for t in mask_types} == set(MASK_EXTS)
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[2:4, 3:5] = (200, 100, 50)
    for t in image_types:
        if t.startswith("nii"):  # NIfTI (nibabel): one value a voxel, X before Y
            nibabel.save(nibabel.Nifti1Image(rgb[..., 0].T, np.eye(4)), tmp_path / f"image.{t}")
        else:
            Image.fromarray(rgb).save(tmp_path / f"image.{t}")
        assert read_image(tmp_path / f"image.{t}").shape == (6, 8, 3), t
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:5] = 2
    for t in mask_types:  # a palette image, as mask tools write them (GIF holds only those)
        if t.startswith("nii"):  # NIfTI label volumes hold the values themselves
            nibabel.save(nibabel.Nifti1Image(mask.T, np.eye(4)), tmp_path / f"mask.{t}")
            assert np.array_equal(read_mask_raw(tmp_path / f"mask.{t}"), mask), t
            continue
        img = Image.fromarray(mask, "P")
        img.putpalette([0, 0, 0, 230, 25, 75, 60, 180, 75])
        img.save(tmp_path / f"mask.{t}", optimize=False)
        assert np.array_equal(read_mask_raw(tmp_path / f"mask.{t}"), mask), t
