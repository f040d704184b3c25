"""classes.json has one reader (``ClassList.from_json``): lenient for a data folder's own file, strict for an
upload (refused saying what is wrong), and the same check guards what the workspace saves."""
import json

import pytest

from seg_core import ClassList, Workspace
from seg_core.base.classes import ClassesError


def test_both_forms_and_both_spellings_read_the_same():
    a = ClassList.from_json({"classes": [{"name": "bg", "colour": [1, 2, 3]}, {"name": "fg", "color": [4, 5, 6]}],
                             "unlabelled": 255})
    b = ClassList.from_json(json.dumps({"names": ["bg", "fg"], "colours": [[1, 2, 3], [4, 5, 6]],
                                        "unlabelled": 255}), strict=True)
    assert (a.names, a.colours, a.unlabelled) == (b.names, b.colours, b.unlabelled) == \
        (["bg", "fg"], [(1, 2, 3), (4, 5, 6)], 255)


def test_a_folders_own_file_is_read_leniently_an_upload_strictly():
    odd = {"classes": [{"name": "bg", "color": [1, 2, 3]}, {"name": "fg"}]}  # one colour for two classes
    assert ClassList.from_json(odd).colours[1] == ClassList(["bg", "fg"]).colours[1]  # the default colour
    with pytest.raises(ClassesError, match="1 colours for 2 classes; give every class a colour or none"):
        ClassList.from_json(odd, strict=True)
    assert ClassList.from_json({"names": ["only"]}).names == ["only"]
    with pytest.raises(ClassesError, match="needs 2 to 255 classes, got 1"):
        ClassList.from_json({"names": ["only"]}, strict=True)


def test_a_damaged_file_is_named_and_never_a_crash(tmp_path):
    for content in ("{not json", "[1, 2]", '{"classes": 3}'):
        (tmp_path / "classes.json").write_text(content)
        with pytest.raises(ValueError, match="classes.json: not a valid classes.json"):
            ClassList.load(tmp_path / "classes.json")


def test_the_workspace_saves_only_what_an_upload_would_pass(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    for classes, why in [(ClassList(["a", "a"]), r"class names must differ from each other \(a repeat\)"),
                         (ClassList(["a"]), "needs 2 to 255 classes, got 1"),
                         (ClassList(["a", " "]), "class 1: the name must be non-empty text")]:
        with pytest.raises(ValueError, match=why):
            ws.save_classes(classes)
        with pytest.raises(ClassesError, match=why):
            ClassList.from_json(classes.to_json(), strict=True)
    assert ws.classes().names == ["background", "foreground"]  # nothing was written
