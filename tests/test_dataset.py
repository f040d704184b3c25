"""Reading images and masks, and the validate command's report."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from seg_core.dataset import scan_dataset
from seg_core.mask_values import IGNORE
from seg_core.imageio import ImageReadError, read_image, read_mask_raw

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
    assert "toobig.png: values [7] exceed the 2 classes" in out
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
    assert "b.png: values [9] exceed" in res.stderr
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_binary_255_masks_read_as_0_1_and_ignore_index(tmp_path):
    _pair(tmp_path, "a", values=(0, 255))
    ds = scan_dataset(tmp_path)
    assert ds.num_classes == 2
    assert set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, 1}
    # with 255 declared as the ignore value it means "void", not class 1
    ds = scan_dataset(tmp_path, num_classes=2, ignore_index=255)
    assert set(np.unique(ds.load_mask(ds.samples[0])).tolist()) == {0, IGNORE}


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
