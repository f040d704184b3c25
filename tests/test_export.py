"""Exporting a run (zip, TorchScript, ONNX) and predicted masks (a zip of palette PNGs)."""
import io
import zipfile

import numpy as np
import torch

from PIL import Image

from seg_core import ClassList
from seg_core.export import export_onnx, export_torchscript, masks_zip, run_zip
from seg_core.imageio import read_mask_raw, write_index_mask


def test_exports_run_and_match_the_model(tiny_run, tmp_path):
    x = torch.rand(1, 3, 64, 64)
    ref = tiny_run.load_model()(x).detach()
    ts = torch.jit.load(str(export_torchscript(tiny_run, tmp_path / "m.pt")))
    assert torch.allclose(ts(x), ref, atol=1e-4)
    onnx_path = export_onnx(tiny_run, tmp_path / "m.onnx")
    import onnx

    onnx.checker.check_model(onnx.load(str(onnx_path)))
    names = zipfile.ZipFile(io.BytesIO(run_zip(tiny_run))).namelist()
    assert f"{tiny_run.name}/model.safetensors" in names and f"{tiny_run.name}/config.json" in names


def test_masks_zip_holds_palette_pngs_written_like_the_workspace_masks(tmp_path):
    classes = ClassList(["background", "cell", "nucleus"], [(0, 0, 0), (60, 180, 75), (230, 25, 75)])
    a = np.array([[0, 1], [2, 255]], np.uint8)
    b = np.ones((3, 4), np.int64)  # predictions come as any integer type
    with zipfile.ZipFile(io.BytesIO(masks_zip([("a", a), ("img.v2", b)], classes))) as z:
        assert z.namelist() == ["masks/a.png", "masks/img.v2.png"]
        png = z.read("masks/a.png")
        im = Image.open(io.BytesIO(png))
        assert im.mode == "P" and np.array_equal(np.asarray(im), a)
        assert im.getpalette()[:9] == [0, 0, 0, 60, 180, 75, 230, 25, 75]  # viewers see class colours
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(z.read("masks/img.v2.png")))), b)
    write_index_mask(tmp_path / "a.png", a, classes)
    assert (tmp_path / "a.png").read_bytes() == png  # one way of writing a mask PNG
    assert np.array_equal(read_mask_raw(tmp_path / "a.png"), a)
