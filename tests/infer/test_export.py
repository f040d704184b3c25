"""Exporting a run (zip, TorchScript, ONNX) and predicted masks (a zip of palette PNGs): counted progress, and a
cancel that leaves no partial file."""
import io
import os
import threading
import time
import zipfile

import numpy as np
import torch

from pathlib import Path

from PIL import Image

import pytest

from seg_core import ClassList
from seg_core.infer.export import (export_onnx, export_torchscript, masks_zip, run_zip, run_zip_current,
                             write_masks_zip)
from seg_core.base.progress import Cancelled
from seg_core.data.imageio import read_mask_raw, write_index_mask


def test_exports_run_and_match_the_model(tiny_run, tmp_path):
    x = torch.rand(1, 3, 64, 64)
    ref = tiny_run.load_model()(x).detach()
    seen = []
    ts = torch.jit.load(str(export_torchscript(tiny_run, tmp_path / "m.pt", progress=lambda c: seen.append(c.text()))))
    assert torch.allclose(ts(x), ref, atol=1e-4)
    assert seen == ["TorchScript export: 0/3 steps · loading the model", "TorchScript export: 1/3 steps · converting "
                    "to TorchScript (tracing the network, the longest step)", "TorchScript export: 2/3 steps · writing "
                    "m.pt", "TorchScript export: 3/3 steps · done"]
    seen.clear()
    onnx_path = export_onnx(tiny_run, tmp_path / "m.onnx", progress=lambda c: seen.append(c.text()))
    assert seen[1:] == ["ONNX export: 1/3 steps · converting to ONNX (tracing the network, the longest step)",
                        "ONNX export: 2/3 steps · writing m.onnx", "ONNX export: 3/3 steps · done"]
    import onnx

    onnx.checker.check_model(onnx.load(str(onnx_path)))
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
        assert z.namelist() == ["masks/a.png", "masks/img.v2.png"]
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
        assert z.namelist() == ["masks/up.png", "masks/a.png", "masks/b.png"]
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
