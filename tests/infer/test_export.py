"""Exporting a run (zip, TorchScript, ONNX) and predicted masks (a zip of palette PNGs): counted progress, and a
cancel that leaves no partial file."""
import io
import json
import os
import threading
import time
import zipfile

import numpy as np
import torch

from pathlib import Path

from PIL import Image

import pytest

import cv2

from seg_core import ClassList
from seg_core.infer.export import (export_onnx, export_torchscript, masks_zip, run_zip, run_zip_current,
                             write_masks_zip)
from seg_core.base.progress import Cancelled
from seg_core.data.imageio import read_image, read_mask_raw, write_index_mask
from seg_core.infer.onnx_predictor import OnnxPredictor
from seg_core.infer.predictor import Predictor
from seg_core.infer.sliding_window import predict_mask, predict_probs
from seg_core.model.network import norm_stats

from conftest import SAMPLE

TISSUE = read_image(SAMPLE / "images" / "tissue_00.png")


def _sized(h: int, w: int) -> np.ndarray:
    return cv2.resize(TISSUE, (w, h), interpolation=cv2.INTER_AREA)


# sizes images come in: the training crop, odd sides (mirrored up to 32), a side shorter than its padding
# (its edge repeated)
SIZES = [(64, 64), (37, 53), (45, 130), (10, 75)]
LARGE = (560, 700)  # above the limit set below, predicted tile by tile (2 x 2 tiles of 512)


def test_exports_run_and_match_the_model(tiny_run, tmp_path):
    x = torch.rand(1, 3, 64, 64)
    ref = tiny_run.load_model()(x).detach()
    seen = []
    extra = {"description.json": ""}
    ts = torch.jit.load(str(export_torchscript(tiny_run, tmp_path / "m.pt", progress=lambda c: seen.append(c.text()))),
                        _extra_files=extra)
    assert torch.allclose(ts(x), ref, atol=1e-4)
    described = json.loads((tmp_path / "m.json").read_text())  # the description beside the file, and inside it
    assert json.loads(extra["description.json"]) == described and described["classes"] == tiny_run.classes.to_json()
    assert described["side_multiple"] == 32 and described["input"]["value_range"] == [0, 1]
    assert seen == ["TorchScript export: 0/3 steps · loading the model", "TorchScript export: 1/3 steps · converting "
                    "to TorchScript (tracing the network, the longest step)", "TorchScript export: 2/3 steps · writing "
                    "m.pt", "TorchScript export: 3/3 steps · done"]
    seen.clear()
    onnx_path = export_onnx(tiny_run, tmp_path / "m.onnx", progress=lambda c: seen.append(c.text()))
    assert seen[1:] == ["ONNX export: 1/3 steps · converting to ONNX (tracing the network, the longest step)",
                        "ONNX export: 2/3 steps · writing m.onnx", "ONNX export: 3/3 steps · done"]
    import onnx

    onnx.checker.check_model(onnx.load(str(onnx_path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx", "m.pt"]
    counts = []
    path = run_zip(tiny_run, tmp_path / "run.zip", progress=counts.append)
    names = zipfile.ZipFile(path).namelist()
    assert f"{tiny_run.name}/model.safetensors" in names and f"{tiny_run.name}/config.json" in names
    assert counts[-1].text() == f"zip: {len(names)}/{len(names)} files · {Path(names[-1]).name}"
    assert run_zip_current(tiny_run, path)
    assert zipfile.ZipFile(path).read(f"{tiny_run.name}/model.safetensors") == \
        (tiny_run.path / "model.safetensors").read_bytes()


def test_masks_zip_holds_palette_pngs_written_like_the_workspace_masks(tmp_path):
    classes = ClassList(["background", "cell", "nucleus"], [(0, 0, 0), (60, 180, 75), (230, 25, 75)])
    a = np.array([[0, 1], [2, 255]], np.uint8)
    b = np.ones((3, 4), np.int64)  # predictions come as any integer type
    with zipfile.ZipFile(io.BytesIO(masks_zip([("a", a), ("img.v2", b)], classes))) as z:
        assert z.namelist() == ["classes.json", "masks/a.png", "masks/img.v2.png"]
        assert ClassList.from_json(z.read("classes.json"), strict=True) == classes  # what the values mean
        png = z.read("masks/a.png")
        im = Image.open(io.BytesIO(png))
        assert im.mode == "P" and np.array_equal(np.asarray(im), a)
        assert im.getpalette()[:9] == [0, 0, 0, 60, 180, 75, 230, 25, 75]  # viewers see class colours
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(z.read("masks/img.v2.png")))), b)
    write_index_mask(tmp_path / "a.png", a, classes)
    assert (tmp_path / "a.png").read_bytes() == png  # one way of writing a mask PNG
    assert np.array_equal(read_mask_raw(tmp_path / "a.png"), a)


def _cancel_at(text_part: str):
    """A progress callback that records each count and sets the returned event at the first whose text holds
    ``text_part`` (as if the user pressed Cancel then)."""
    event, seen = threading.Event(), []

    def progress(count):
        seen.append(count.text())
        if text_part in count.text():
            event.set()
    return progress, event, seen


@pytest.mark.parametrize("exporter, stage", [(export_torchscript, "TorchScript export"), (export_onnx, "ONNX export")])
def test_a_cancelled_export_leaves_no_file_and_an_earlier_one_as_it_was(tiny_run, tmp_path, exporter, stage):
    progress, cancel, seen = _cancel_at("loading")
    with pytest.raises(Cancelled, match=f"^{stage} cancelled; no file was written$"):
        exporter(tiny_run, tmp_path / "m", progress=progress, cancel=cancel)
    assert seen == [f"{stage}: 0/3 steps · loading the model"] and not any(tmp_path.iterdir())
    (tmp_path / "m").write_bytes(b"an earlier export")
    progress, cancel, seen = _cancel_at("writing")  # cancelled while the file was written: its temporary file goes
    with pytest.raises(Cancelled, match=r"\(m is as it was\)"):
        exporter(tiny_run, tmp_path / "m", progress=progress, cancel=cancel)
    assert seen[-1] == f"{stage}: 2/3 steps · writing m"
    assert [p.name for p in tmp_path.iterdir()] == ["m"] and (tmp_path / "m").read_bytes() == b"an earlier export"


def test_run_zip_cancelled_midway_writes_nothing(tiny_run, tmp_path):
    progress, cancel, seen = _cancel_at("zip: 1/")
    with pytest.raises(Cancelled, match="zip cancelled; no zip was written"):
        run_zip(tiny_run, tmp_path / "run.zip", progress=progress, cancel=cancel)
    assert seen[-1].startswith("zip: 1/") and not any(tmp_path.iterdir())
    assert not run_zip_current(tiny_run, tmp_path / "run.zip")


def test_masks_zip_file_counts_masks_names_those_left_out_and_cancels(tmp_path):
    classes = ClassList(["background", "cell"])
    made = []

    def predicted(value):
        def make():
            made.append(value)
            return np.full((4, 4), value, np.uint8)
        return make

    def unreadable():
        raise ValueError("cannot read image: not an image in a format we read")

    items = [("up", np.zeros((4, 4), np.uint8)), ("a", predicted(1)), ("bad", unreadable), ("b", predicted(0))]
    seen = []
    res = write_masks_zip(tmp_path / "masks.zip", items, classes, progress=lambda c: seen.append(c.text()))
    assert seen == ["zip: 1/4 masks · up", "zip: 2/4 masks · a", "zip: 3/4 masks · bad", "zip: 4/4 masks · b"]
    assert res.written == ["up", "a", "b"] and res.left_out == ["bad: cannot read image: not an image in a format "
                                                                 "we read"]
    with zipfile.ZipFile(res.path) as z:
        assert z.namelist() == ["classes.json", "masks/up.png", "masks/a.png", "masks/b.png"]
        assert ClassList.from_json(z.read("classes.json")) == classes
        assert np.asarray(Image.open(io.BytesIO(z.read("masks/a.png")))).max() == 1

    left = tmp_path / ".masks.k3j2x9.zip"  # a temporary file left by a killed server, an hour ago
    left.write_bytes(b"half a zip")
    os.utime(left, (time.time() - 3600, time.time() - 3600))
    write_masks_zip(tmp_path / "masks.zip", items[:1], classes)
    assert not left.exists()

    made.clear()
    progress, cancel, seen = _cancel_at("2/4")
    with pytest.raises(Cancelled, match="cancelled after 2 of 4 masks; no zip was written"):
        write_masks_zip(tmp_path / "other.zip", items, classes, progress=progress, cancel=cancel)
    assert made == [1]  # stopped before predicting the next image
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks.zip"]


def test_the_onnx_file_describes_itself(tiny_run, tiny_onnx):
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tiny_onnx)).metadata_props}
    cfg = tiny_run.config
    assert json.loads(props["classes"]) == tiny_run.classes.to_json()  # names, colours, unlabelled value
    inp = json.loads(props["input"])
    assert inp["name"] == "image" and inp["layout"].startswith("NCHW") and inp["colour_order"] == "RGB"
    assert inp["value_range"] == [0, 1] and "inside the model" in inp["normalisation"]
    mean, std = norm_stats(cfg["backbone"])
    assert inp["mean"] == pytest.approx(mean) and inp["std"] == pytest.approx(std)
    colour = inp["colour_normalisation"]  # the run's reference, which the ONNX predictor applies first
    assert colour["mean"] == pytest.approx(cfg["colour_reference"]["mean"]) and len(colour["std"]) == 3
    assert "L*a*b*" in colour["how"]
    assert props["side_multiple"] == "32" and json.loads(props["padding"])["mode"].startswith("reflect")
    output = json.loads(props["output"])
    assert output["name"] == "logits" and "class scores per pixel" in output["meaning"]
    assert props["backbone"] == cfg["backbone"] and props["architecture"] == cfg["arch"]
    assert json.loads(props["held_out_scores"])["val_miou"] == pytest.approx(tiny_run.best_val_miou)
    trained = json.loads(props["trained"])
    assert trained["run"] == tiny_run.name and trained["data"] == cfg["data"]
    assert trained["train_images"] == len(cfg["split"]["train"]) and trained["finished"].startswith("20")


@pytest.mark.parametrize("tta", [False, True])
def test_the_onnx_file_alone_predicts_what_the_run_predicts(tiny_run, tiny_onnx, tta):
    by_run, by_file = Predictor(tiny_run, tta=tta), OnnxPredictor(tiny_onnx, tta=tta)
    assert by_file.classes == tiny_run.classes
    for h, w in SIZES:
        a, b = by_run.predict(_sized(h, w)), by_file.predict(_sized(h, w))
        assert b.mask.shape == (h, w) and b.probs.shape == (len(tiny_run.classes), h, w)
        assert (a.mask == b.mask).mean() >= 0.995, (h, w)
        assert np.abs(a.probs - b.probs).max() < 1e-3, (h, w)


def test_a_large_image_is_tiled_alike_by_the_run_the_onnx_and_the_torchscript_file(tiny_run, tiny_onnx, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("SEG_CORE_MAX_PROB_PIXELS", str(100_000))  # so the large image goes tile by tile
    image = _sized(*LARGE)
    a, b = Predictor(tiny_run).predict(image), OnnxPredictor(tiny_onnx).predict(image)
    assert a.probs is None and b.probs is None and "tile by tile" in b.note
    assert b.mask.shape == LARGE and (a.mask == b.mask).mean() >= 0.995
    ts = torch.jit.load(str(export_torchscript(tiny_run, tmp_path / "m.pt")))  # traced at 64x64, used at any size
    model = tiny_run.load_model()
    seen = Predictor(tiny_run).prepare(image)  # colours evened out as the description says, then the network
    assert (predict_mask(ts, seen)[0] == a.mask).mean() >= 0.995
    for h, w in SIZES:
        assert np.abs(predict_probs(ts, _sized(h, w)) - predict_probs(model, _sized(h, w))).max() < 1e-4, (h, w)


def test_a_file_that_is_not_a_described_onnx_model_is_named(tiny_onnx, tmp_path):
    import onnx

    bare = onnx.load(str(tiny_onnx))  # an ONNX model from elsewhere: no description
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    with pytest.raises(ValueError, match=r"bare\.onnx: has no model description .*export it again"):
        OnnxPredictor(tmp_path / "bare.onnx")
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model")
    with pytest.raises(ValueError, match=r"notes\.onnx: cannot be loaded as an ONNX model"):
        OnnxPredictor(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx: no such model file"):
        OnnxPredictor(tmp_path / "missing.onnx")
