"""Reading images and masks, and the validate command's report."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from seg_core.base.classes import ClassList
from seg_core.cli.output import flags
from seg_core.data.dataset import scan_dataset, unlabelled_value
from segapp.words import plain
from seg_core.base.mask_values import IGNORE
from seg_core.data.imageio import ImageReadError, read_image, read_mask_raw

from conftest import ROOT


def _pair(root, stem, size=(32, 40), values=(0, 1), image_mode="RGB"):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    h, w = size
    Image.fromarray(np.full((h, w, 3), 120, np.uint8)).convert(image_mode).save(root / "images" / f"{stem}.png")
    m = np.zeros((h, w), np.uint8)
    m[: h // 2] = values[0]
    m[h // 2:] = values[1]
    Image.fromarray(m).save(root / "masks" / f"{stem}.png")


def test_validate_lists_every_problem_naming_files(tmp_path):
    _pair(tmp_path, "good")
    _pair(tmp_path, "toobig", values=(0, 7))
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "images" / "nomask.png")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "masks" / "orphan.png")
    _pair(tmp_path, "mismatch")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "masks" / "mismatch.png")
    data = (tmp_path / "images" / "good.png").read_bytes()
    _pair(tmp_path, "broken")
    (tmp_path / "images" / "broken.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "classes.json").write_text(json.dumps({"classes": [{"name": "bg"}, {"name": "fg"}]}))

    res = subprocess.run([sys.executable, "-m", "seg_core", "validate", "--data", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    out = res.stdout
    assert res.returncode == 1
    assert "toobig.png: values [7] are not classes 0..1" in out
    assert "nomask.png: no mask" in out
    assert "orphan.png: mask has no image" in out
    assert "mismatch.png: mask is 5x5 but image mismatch.png is 40x32" in out
    assert "broken.png" in out and "truncated" in out
    assert "5 error(s)" in out


def test_training_refuses_a_data_set_with_errors(tmp_path):
    _pair(tmp_path, "a")
    _pair(tmp_path, "b", values=(0, 9))
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["bg", "fg"]}))
    res = subprocess.run([sys.executable, "-m", "seg_core", "train", "--data", str(tmp_path), "--out",
                          str(tmp_path / "run"), "--epochs", "1"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2
    assert "b.png: values [9] are not classes 0..1" in res.stderr
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_binary_255_masks_read_as_0_1_and_ignore_index(tmp_path):
    _pair(tmp_path, "a", values=(0, 255))
    ds = scan_dataset(tmp_path)
    assert ds.num_classes == 2 and not ds.errors
    assert set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, 1}
    assert ds.mask_rules[0].startswith("Binary masks: every mask holds only 0 and 255")
    # 255 given as the unlabelled value by a flag: 0/255 masks read two ways, so the folder is refused ...
    ds = scan_dataset(tmp_path, num_classes=2, ignore_index=255)
    assert [p.file for p in ds.errors] == ["masks/"] and "a.png holds only 0 and 255" in ds.errors[0].message
    # ... until the reading is said: 255 unlabelled ("index") or class 1 ("binary")
    ds = scan_dataset(tmp_path, num_classes=2, ignore_index=255, mask_values="index")
    assert not ds.errors and set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, IGNORE}
    ds = scan_dataset(tmp_path, num_classes=2, ignore_index=255, mask_values="binary")
    assert not ds.errors and set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, 1}
    # a classes.json that says 255 is unlabelled is the folder's own word: no flag needed
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["bg", "fg"], "unlabelled": 255}))
    ds = scan_dataset(tmp_path)
    assert not ds.errors and set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, IGNORE}
    assert "255 marks unlabelled pixels (classes.json)" in ds.mask_rules[0]
    assert any(p.severity == "warning" and "class 1 'fg' has no labelled pixel" in p.message for p in ds.problems)


@pytest.mark.parametrize("kind, values, shown", [
    ("float_tif", (-1.0, 1e10), "[-1, 10000000000]"),
    ("int32_tif", (-255, 1), "[-255]"),
    ("u16_png", (1, 300), "[300]"),
])
def test_mask_values_outside_the_classes_are_refused_naming_file_and_values(tmp_path, kind, values, shown):
    _pair(tmp_path, "good", size=(8, 8), values=(0, 2))
    Image.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(tmp_path / "images" / "odd.png")
    m = np.zeros((8, 8), {"float_tif": np.float32, "int32_tif": np.int32, "u16_png": np.uint16}[kind])
    m[:4], m[4:6] = values
    if kind == "u16_png":
        Image.fromarray(m).save(tmp_path / "masks" / "odd.png")
        name = "odd.png"
    else:
        import tifffile
        tifffile.imwrite(tmp_path / "masks" / "odd.tif", m)
        name = "odd.tif"
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b", "c"]}))
    ds = scan_dataset(tmp_path)
    assert [(p.file, p.message) for p in ds.errors] == [(name, f"values {shown} are not classes 0..2")]
    assert [s.stem for s in ds.labelled] == ["good"]
    with pytest.raises(ValueError, match=re.escape(f"{name}: values {shown}")) as err:
        ds.load_mask(next(s for s in ds.samples if s.stem == "odd"))
    assert shown in str(err.value)
    ds = scan_dataset(tmp_path, ignore_index=255)
    assert ds.errors[0].message == f"values {shown} are not classes 0..2 nor the unlabelled value 255"


def test_mixed_0_1_and_0_255_masks_are_refused_naming_examples_and_the_flag(tmp_path):
    for stem in ("a", "b"):
        _pair(tmp_path, stem, values=(0, 1))
    for stem in ("c", "d"):
        _pair(tmp_path, stem, values=(0, 255))
    ds = scan_dataset(tmp_path)
    msg = ds.errors[0].message
    assert len(ds.errors) == 1 and ds.errors[0].file == "masks/"
    assert "a.png, b.png hold 1 (0/1 masks) and c.png, d.png only 0 and 255 (0/255 masks)" in msg
    assert "--" not in msg  # the engine names the settings; the command line words them as flags, the app plainly
    assert "--mask-values binary" in flags(msg) and "--ignore-index 255 --mask-values index" in flags(msg)
    assert "the mask reading 'binary'" in plain(msg) and "the unlabelled value 255 and the mask reading 'index'" in \
        plain(msg)
    ds = scan_dataset(tmp_path, mask_values="binary")
    assert not ds.errors and {s.stem: ds.class_pixels[s.stem].tolist() for s in ds.labelled} == {
        s: [640, 640] for s in "abcd"}


def test_palette_masks_are_read_by_index_and_validate_says_so(tmp_path):
    _pair(tmp_path, "a", values=(0, 1))
    m = Image.fromarray(np.array([[0, 1] * 20] * 32, np.uint8), mode="P")
    m.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 is red, index 1 black: colours are not used
    _pair(tmp_path, "p")
    m.save(tmp_path / "masks" / "p.png")
    res = subprocess.run([sys.executable, "-m", "seg_core", "validate", "--data", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout
    assert "mask values: Mask values are class indices 0..1 (0 class_0, 1 class_1); no value marks unlabelled " \
           "pixels (none is stated)." in res.stdout
    assert "mask values: Palette masks (1 of 2) are read by index: a pixel's palette number is its class; the " \
           "palette's colours are not used." in res.stdout


def test_camvid_style_void_is_ignored(tmp_path):
    _pair(tmp_path, "a", values=(3, 11))
    ds = scan_dataset(tmp_path, ignore_index=11)
    assert ds.num_classes == 4 and not ds.errors
    assert set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {3, IGNORE}


def test_palette_png_read_by_index(tmp_path):
    m = Image.fromarray(np.array([[0, 1], [2, 2]], np.uint8), mode="P")
    m.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    m.save(tmp_path / "p.png")
    assert read_mask_raw(tmp_path / "p.png").tolist() == [[0, 1], [2, 2]]


@pytest.mark.parametrize("kind", ["gray", "rgba", "u16", "gif", "jpg", "tif", "bmp"])
def test_image_formats_become_rgb_uint8(tmp_path, kind):
    base = (np.arange(48 * 64).reshape(48, 64) % 256).astype(np.uint8)
    if kind == "gray":
        Image.fromarray(base).save(p := tmp_path / "x.png")
    elif kind == "rgba":
        Image.fromarray(np.dstack([base] * 4)).save(p := tmp_path / "x.png")
    elif kind == "u16":
        Image.fromarray(base.astype(np.uint16) * 200).save(p := tmp_path / "x.png")
    elif kind == "tif":
        import tifffile
        tifffile.imwrite(p := tmp_path / "x.tif", base.astype(np.uint16) * 100)
    else:
        Image.fromarray(np.dstack([base] * 3)).save(p := tmp_path / f"x.{kind}")
    img = read_image(p)
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    assert img.max() > 200  # 16-bit data is stretched, not truncated to black


def test_unreadable_file_message_names_it(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="bad.jpg: cannot read image"):
        read_image(tmp_path / "bad.jpg")


def test_the_unlabelled_value_and_where_it_came_from():
    """Given, else the folder's classes.json (which may say there is none), else the fallback, else none; the
    given one's source is the setting, worded by each front end."""
    stated = ClassList(["bg", "fg"], ignore_index=7)
    given = unlabelled_value(stated, 255)
    assert (given.value, given.stated) == (255, False) and flags(given.source) == "--ignore-index"
    assert plain(given.source) == "the unlabelled value"
    assert unlabelled_value(stated, fallback=3) == unlabelled_value(stated)
    assert (unlabelled_value(stated).value, unlabelled_value(stated).source) == (7, "classes.json")
    none = unlabelled_value(ClassList(["bg", "fg"]), fallback=3)
    assert (none.value, none.source, none.stated) == (None, 'classes.json names no "unlabelled" value', True)
    assert unlabelled_value(None, fallback=3, fallback_source="the run r1").source == "the run r1"
    assert unlabelled_value(None).value is None and unlabelled_value(None).source == ""


def test_an_empty_images_folder_names_every_kind_of_file_it_reads(tmp_path):
    from seg_core.data.dataset import scan_dataset

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    problems = [str(p) for p in scan_dataset(tmp_path).problems]
    assert any("no images found (png, jpg, jpeg, tif, tiff, bmp, gif, nii, nii.gz)" in p for p in problems), problems
