"""Exporting: a zip of a run folder, TorchScript and ONNX models (inputs RGB 0..1, NCHW), a zip of masks."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from .atomic import atomic_write, atomic_write_bytes
from .classes import ClassList
from .imageio import index_mask_png
from .runs import CHECKPOINT, CLASSES, CONFIG, HISTORY, STATUS, Run

EXAMPLE_SIZE = (1, 3, 256, 256)


def _example(run: Run) -> torch.Tensor:
    h, w = run.config.get("img_size", EXAMPLE_SIZE[2:])
    return torch.rand(1, 3, int(h), int(w))


def export_torchscript(run: Run, path: Path) -> Path:
    """Traced TorchScript file; load with ``torch.jit.load`` and call on (N, 3, H, W) in 0..1."""
    model = run.load_model().float()
    with torch.inference_mode():
        traced = torch.jit.trace(model, _example(run), check_trace=False)
    atomic_write(Path(path), lambda p: traced.save(str(p)))
    return Path(path)


def export_onnx(run: Run, path: Path) -> Path:
    """ONNX file with dynamic batch, height and width (multiples of 32)."""
    model = run.load_model().float()
    buf = io.BytesIO()
    torch.onnx.export(model, (_example(run),), buf, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "logits": {0: "batch", 2: "height", 3: "width"}},
                      opset_version=17, dynamo=False)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def run_zip(run: Run) -> bytes:
    """The run's checkpoint, config, classes and history as a zip (for download)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in (CONFIG, CLASSES, CHECKPOINT, HISTORY, STATUS):
            p = run.path / name
            if p.is_file():
                z.write(p, f"{run.name}/{name}")
    return buf.getvalue()


def masks_zip(items: Iterable[tuple[str, np.ndarray]], classes: ClassList) -> bytes:
    """``(stem, class-index mask)`` pairs as ``masks/<stem>.png`` palette PNGs in a zip (for download)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for stem, mask in items:
            z.writestr(f"masks/{stem}.png", index_mask_png(mask, classes))
    return buf.getvalue()
