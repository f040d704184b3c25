"""Exporting: a zip of a run folder, TorchScript and ONNX models (inputs RGB, or the run's N channels, 0..1, NCHW:
(1, N, H, W)) that describe
themselves (``description``: in the ONNX file's metadata, beside and inside the TorchScript file), a zip of
masks with its ``classes.json``.

Each writes its file atomically (a hidden temporary file renamed at the end) and takes ``progress`` (a
``Count``: "zip: 7/12 masks", "ONNX export: 1/3 steps · converting") and ``cancel`` (an Event): a
cancelled export stops at its next file, chunk or stage, removes its temporary file and raises
``Cancelled`` (``seg_core.base.progress``); no partial file is left and an earlier file of that name stays as it was.
"""
from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import numpy as np
import torch

from seg_core.base.atomic import atomic_write
from seg_core.base.classes import ClassList
from seg_core.base.progress import Progress, Steps
from seg_core.data.imageio import index_mask_png
from seg_core.infer.description import INPUT_NAME, JSON_NAME, OUTPUT_NAME, describe, to_metadata, write_beside
from seg_core.runs.folder import CHECKPOINT, CLASSES, CONFIG, HISTORY, STATUS, Run

EXAMPLE_SIZE = (1, 3, 256, 256)
RUN_FILES = (CONFIG, CLASSES, CHECKPOINT, HISTORY, STATUS)  # what a run zip holds
CHUNK = 1 << 20  # bytes copied into a zip between two cancel checks


def _clear_leftovers(path: Path, older_than_s: float = 600) -> None:
    """Remove the temporary files of ``path`` (``atomic_write``'s ``.<stem>.<random><suffix>``) that a killed
    process left: untouched for ``older_than_s`` seconds (one being written now is newer)."""
    now = time.time()
    for tmp in Path(path).parent.glob(f".{Path(path).stem}.*{Path(path).suffix}"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
        except OSError:  # removed meanwhile
            pass


def _example(run: Run) -> torch.Tensor:
    h, w = run.config.get("img_size", EXAMPLE_SIZE[2:])
    return torch.rand(1, run.reading.in_channels, int(h), int(w))


def _description(run: Run, model) -> dict:
    from seg_core.model.network import OUTPUT_MULTIPLE

    return describe(run, model.mean.flatten().tolist(), model.std.flatten().tolist(), OUTPUT_MULTIPLE)


Wrap = Callable[[torch.nn.Module], torch.nn.Module]  # the run's network -> the model exported (``description`` kept)


def _export(run: Run, path: Path, stage: str, convert: Callable[[torch.nn.Module], Callable[[Path], None]],
            progress: Progress | None, cancel: threading.Event | None, wrap: Wrap | None = None) -> Path:
    """Load the model, ``convert`` it (returns a writer of the file), write it atomically; three counted steps,
    cancel checked between them and before the file takes its name. ``convert`` finds the model's description
    (``description.describe``) as ``model.description``. ``wrap``: what is exported instead of the network (a
    module around it that sets its own ``description``, from the network's)."""
    path = Path(path)
    steps = Steps(progress, cancel, 3, "steps", stage)
    nothing = f"{stage} cancelled; no file was written" + (f" ({path.name} is as it was)" if path.exists() else "")
    steps.show("loading the model")
    model = run.load_model().float()
    model.description = _description(run, model)
    if wrap is not None:
        model = wrap(model)
    steps.check(nothing)
    # the longest step: the network is traced once through an example image (about 5 s on a 2-core CPU for
    # the default backbone, benchmarks/bench_ui.py part export); the first export in a process also loads the
    # model libraries while "loading the model"
    steps.tick(f"converting to {stage.split()[0]} (tracing the network, the longest step)")
    write = convert(model)
    steps.check(nothing)
    steps.tick(f"writing {path.name}")

    def write_checked(tmp: Path) -> None:
        write(tmp)
        steps.check(nothing)  # raised inside atomic_write: the temporary file is removed

    _clear_leftovers(path)
    atomic_write(path, write_checked)
    steps.tick("done")
    return path


def export_torchscript(run: Run, path: Path, progress: Progress | None = None,
                       cancel: threading.Event | None = None, wrap: Wrap | None = None) -> Path:
    """Traced TorchScript file; load with ``torch.jit.load`` and call on (N, K, H, W) in 0..1 (K: 3, or the run's
    channels). Its description
    is inside (``description.json``, ``torch.jit.load(f, _extra_files=...)``) and beside it (``<stem>.json``)."""
    described = {}

    def convert(model):
        with torch.inference_mode():
            traced = torch.jit.trace(model, _example(run), check_trace=False)
        described.update(model.description)
        extra = {JSON_NAME: json.dumps(model.description, indent=2)}
        return lambda p: torch.jit.save(traced, str(p), _extra_files=extra)
    out = _export(run, path, "TorchScript export", convert, progress, cancel, wrap)
    write_beside(out, described)
    return out


def export_onnx(run: Run, path: Path, progress: Progress | None = None, cancel: threading.Event | None = None,
                wrap: Wrap | None = None) -> Path:
    """ONNX file with dynamic batch, height and width (multiples of 32) whose ``metadata_props`` describe it
    (``description``): ``python -m seg_core predict --model FILE.onnx`` needs nothing else."""
    def convert(model):
        import onnx

        buf = io.BytesIO()
        torch.onnx.export(model, (_example(run),), buf, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                        OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
                          opset_version=17, dynamo=False)
        proto = onnx.load_from_string(buf.getvalue())
        onnx.helper.set_model_props(proto, to_metadata(model.description))
        proto.doc_string = model.description["what"]
        return lambda p: p.write_bytes(proto.SerializeToString())
    return _export(run, path, "ONNX export", convert, progress, cancel, wrap)


def run_zip(run: Run, path: Path, progress: Progress | None = None, cancel: threading.Event | None = None) -> Path:
    """Write the run's checkpoint, config, classes and history as a zip to ``path`` (for download); the
    checkpoint is copied in chunks, so a cancel stops within a megabyte."""
    path = Path(path)
    files = [run.path / name for name in RUN_FILES if (run.path / name).is_file()]
    steps = Steps(progress, cancel, len(files), "files", "zip")
    nothing = "zip cancelled; no zip was written" + (f" ({path.name} is as it was)" if path.exists() else "")

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                size, copied = f.stat().st_size, 0
                with open(f, "rb") as src, z.open(f"{run.name}/{f.name}", "w", force_zip64=size > 2**31) as dst:
                    while chunk := src.read(CHUNK):
                        steps.check(nothing)
                        dst.write(chunk)
                        copied += len(chunk)
                        if size > CHUNK:
                            steps.show(f"{f.name} {copied / 2**20:.0f}/{size / 2**20:.0f} MB")
                steps.tick(f.name)
        steps.check(nothing)

    _clear_leftovers(path)
    atomic_write(path, write)
    return path


def run_zip_current(run: Run, path: Path) -> bool:
    """``path`` is a zip of the run as it is now: written after each of the run's files last changed."""
    path = Path(path)
    if not path.is_file():
        return False
    built = path.stat().st_mtime
    return all(not (run.path / n).is_file() or (run.path / n).stat().st_mtime <= built for n in RUN_FILES)


def _classes_json(z: zipfile.ZipFile, classes: ClassList) -> None:
    """The masks' classes (names, colours, unlabelled value) as the zip's ``classes.json``: what a mask value
    means, and the file the Data page reads back with the masks."""
    z.writestr(CLASSES, json.dumps(classes.to_json(), indent=2))


def masks_zip(items: Iterable[tuple[str, np.ndarray]], classes: ClassList) -> bytes:
    """``(stem, class-index mask)`` pairs as ``masks/<stem>.png`` palette PNGs in a zip with its
    ``classes.json``, in memory (a few masks for download; many go to a file with ``write_masks_zip``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        _classes_json(z, classes)
        for stem, mask in items:
            z.writestr(f"masks/{stem}.png", index_mask_png(mask, classes))
    return buf.getvalue()


MaskSource = Union[np.ndarray, Callable[[], np.ndarray]]


@dataclass
class MasksZip:
    path: Path
    written: list[str] = field(default_factory=list)  # stems in the zip
    left_out: list[str] = field(default_factory=list)  # "stem: why" of each mask that could not be made


def write_masks_zip(path: Path, items: Sequence[tuple[str, MaskSource]], classes: ClassList,
                    progress: Progress | None = None, cancel: threading.Event | None = None) -> MasksZip:
    """Write ``masks/<stem>.png`` palette PNGs and ``classes.json`` into a zip at ``path``. A mask may be a function that makes it
    when its turn comes (a prediction): one that fails (an unreadable or removed image) is left out and
    named. Counts "zip: 7/12 masks"; cancelled, no zip is written."""
    out = MasksZip(Path(path))
    steps = Steps(progress, cancel, len(items), "masks", "zip")

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as z:
            _classes_json(z, classes)
            for stem, mask in items:
                steps.check(lambda: f"cancelled after {steps.done} of {len(items)} masks; no zip was written")
                try:
                    z.writestr(f"masks/{stem}.png", index_mask_png(mask() if callable(mask) else mask, classes))
                    out.written.append(stem)
                except (OSError, ValueError) as err:  # FileNotFoundError, an unreadable image: named, the rest go on
                    out.left_out.append(f"{stem}: {err}")
                steps.tick(stem)

    _clear_leftovers(out.path)
    atomic_write(out.path, write)
    return out
