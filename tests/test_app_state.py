"""The pages' shared helpers: the class editor's table, upload types."""
from segapp.state import classes_from_table, file_types
from seg_core.base.classes import default_colour
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS


def test_class_table_rows_keep_their_colours():
    classes = classes_from_table(["background", "", None, " cell ", "nucleus"],
                                 ["#000000", "#ffffff", "#ffffff", "#3cb44b", "red"])
    assert classes.names == ["background", "cell", "nucleus"]
    assert classes.colours == [(0, 0, 0), (60, 180, 75), default_colour(2)]  # an unreadable colour: the default


def test_upload_types_are_the_engines():
    assert file_types(IMAGE_EXTS) == ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"]
    assert file_types(MASK_EXTS) == ["png", "gif", "tif", "tiff"]
