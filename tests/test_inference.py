"""Prediction at full resolution, tiles, dense CRF, export, and the workspace's safe writes."""
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from seg_core import CRFParams, Predictor, Workspace, dense_crf
from seg_core.export import export_onnx, export_torchscript, run_zip
from seg_core.predict import predict_probs


def test_prediction_keeps_original_size_and_tiles_agree(tiny_run):
    model = tiny_run.load_model()
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)  # not a multiple of 32
    whole = predict_probs(model, img)
    assert whole.shape == (3, 70, 90) and np.allclose(whole.sum(0), 1, atol=1e-4)
    tiled = predict_probs(model, img, max_pixels=1000, tile=64)  # forces 2x2 overlapping tiles
    assert tiled.shape == whole.shape
    assert (tiled.argmax(0) == whole.argmax(0)).mean() > 0.8


def test_dense_crf_snaps_a_blurry_prediction_to_the_edge():
    img = np.zeros((60, 60, 3), np.uint8)
    img[:, 30:] = 255
    truth = (np.arange(60)[None, :] >= 30).repeat(60, 0)
    p1 = np.clip((np.arange(60) - 22) / 16, 0.05, 0.95)[None, :].repeat(60, 0)  # boundary drawn at x=30 but soft
    p1 = np.roll(p1, -5, axis=1)  # and shifted: the raw argmax is 5 pixels off
    p1[:, -5:] = 0.95
    probs = np.stack([1 - p1, p1]).astype(np.float32)
    before = (probs.argmax(0) == truth).mean()
    after = (dense_crf(img, probs, CRFParams(sxy_bilateral=20, srgb=10, compat_bilateral=10)).argmax(0) == truth).mean()
    assert before < 0.95 and after > before


def test_predictor_with_crf_and_tta(tiny_run):
    img = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    p = Predictor(tiny_run, tta=True).predict(img, crf=CRFParams(iterations=2))
    assert p.mask.shape == (64, 64) and p.crf_seconds > 0 and p.mask.max() < 3


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


def test_workspace_starts_with_the_sample_and_survives_bad_uploads(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert len(ws.stems()) == 12 and ws.classes().names == ["background", "cell", "nucleus"]
    labelled_before = sorted(p.name for p in ws.masks_dir.iterdir())
    with pytest.raises(ValueError, match="broken.png: cannot read image"):
        ws.add_image("broken.png", b"\x89PNG garbage")
    rep = ws.import_files([("ok.png", _png(np.zeros((20, 30, 3), np.uint8))),
                           ("masks/ok.png", _png(np.ones((20, 30), np.uint8) * 7)),
                           ("masks/ghost.png", _png(np.zeros((5, 5), np.uint8)))])
    assert rep.added == ["ok"]
    assert any("ok.png: values [7] are not classes 0..2" in p for p in rep.problems)
    assert any("ghost.png: no image named 'ghost'" in p for p in rep.problems)
    assert sorted(p.name for p in ws.masks_dir.iterdir()) == labelled_before  # nothing saved was lost
    mask = np.full((20, 30), 255, np.uint8)
    mask[:5, :5] = 2
    ws.save_mask("ok", mask)
    again = Workspace(tmp_path / "ws")  # an app restart
    assert np.array_equal(again.read_mask("ok"), mask)
    ds = again.scan()
    assert not ds.errors and ds.class_pixels["ok"].tolist() == [0, 0, 25]  # unlabelled pixels are not a class
    again.remove("ok")
    assert "ok" not in again.stems() and any((tmp_path / "ws" / "trash").rglob("ok.png"))


def test_zip_import(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("set/images/a.png", _png(np.zeros((8, 8, 3), np.uint8)))
        z.writestr("set/masks/a.png", _png(np.array([[0, 255] * 4] * 8, np.uint8)))
        z.writestr("set/images/broken.png", b"not a png")
    rep = ws.import_zip(buf.getvalue(), "mine.zip")
    assert rep.added == ["a"]
    assert len(rep.problems) == 1 and rep.problems[0].startswith("mine.zip: broken.png")
    assert "broken" not in ws.stems()
    assert set(np.unique(ws.read_mask("a")).tolist()) == {0, 1}  # 0/255 masks read as classes 0/1


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
