"""One image's prediction and a folder's, whatever runs the network (a run's torch model in ``predictor``, an
exported ONNX file in ``onnx_predictor``): the same limits, tiles, CRF and files written. No torch here.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.base.limits import limits, pixels_text
from seg_core.base.progress import Steps
from seg_core.data.imageio import IMAGE_EXTS, read_image, write_index_mask, write_rgb
from seg_core.data.model_input import ModelInput
from seg_core.data.stacks.files import file_suffix
from seg_core.infer.crf import CRFParams, dense_crf
from seg_core.data.stacks.planes import stack_header
from seg_core.infer.stack_prediction import predict_stack
from seg_core.infer.overlay import overlay
from seg_core.infer.tiling import Forward, mask_tiled, probs_tiled


@dataclass
class Prediction:
    mask: np.ndarray  # (H, W) class indices
    probs: np.ndarray | None  # (C, H, W); None for images above limits.max_prob_pixels (see ``note``)
    seconds: float
    crf_seconds: float = 0.0
    note: str = ""  # what was done differently and why (a very large image: tiles, no probabilities, no CRF)
    confidence: np.ndarray | None = None  # (H, W) uint8 0..255, the predicted class's probability, when no probs

    def top_probability(self) -> np.ndarray | None:
        """(H, W) the predicted class's probability: float32 0..1 from ``probs``, or uint8 0..255 for a very
        large image predicted tile by tile; None when neither was kept."""
        if self.probs is not None:
            return self.probs.max(0)
        return self.confidence


def predict_image(forward: Forward, image: np.ndarray, crf: CRFParams | None = None) -> Prediction:
    """The mask of one uint8 image (H, W, K: RGB, or the channels the network reads) from ``forward`` (``tiling``): its class probabilities (tiles averaged above ``tiling.MAX_WHOLE_PIXELS``), refined
    by the dense CRF when ``crf`` is given; above ``limits().max_prob_pixels`` tile by tile straight into the
    mask, without probabilities or CRF (``note``)."""
    t0 = time.perf_counter()
    h, w = image.shape[:2]
    lim = limits()
    if h * w > lim.max_prob_pixels:  # memory bounded by the tile: a mask, no class probabilities
        mask, confidence = mask_tiled(forward, image, confidence=True)
        note = (f"{w}x{h} is more than {pixels_text(lim.max_prob_pixels)}, so it was predicted tile by "
                "tile straight into the mask, without class probabilities"
                + ("; the dense CRF needs them and was skipped" if crf is not None else "")
                + "; use a smaller image for those, or raise the limit with the environment variable "
                f"SEG_CORE_MAX_PROB_PIXELS (now {lim.max_prob_pixels}; raising it costs memory)")
        return Prediction(mask, None, time.perf_counter() - t0, 0.0, note, confidence)
    probs = probs_tiled(forward, image)
    t1 = time.perf_counter()
    if crf is not None:
        probs = dense_crf(image, probs, crf)
    t2 = time.perf_counter()
    return Prediction(probs.argmax(0).astype(np.uint8), probs, t1 - t0, t2 - t1)


class ImagePredictor(ABC):
    """The one ``predict`` of a run's ``Predictor`` (torch) and an exported file's ``OnnxPredictor``; each gives
    ``forward(tta)`` (``tiling``'s forward of its network, flips averaged when ``tta``), ``prepare`` (the image
    readied as in training: colours evened out when the run was trained so), ``intensities`` (the fixed ranges
    16-bit and float images are read with, or None: ``seg_core.data.intensities``) and its settings ``tta`` and
    ``crf``. ``intensities`` is how the network reads an image: a ``model_input.ModelInput`` (its channels, in
    order, and their fixed ranges), passed on to ``imageio.read_image`` wherever this predictor's images are read
    (the name is older than channels)."""

    tta: bool
    crf: CRFParams | None
    prepare: Callable[[np.ndarray], np.ndarray]
    intensities: ModelInput

    def read(self, path, data: bytes | None = None) -> np.ndarray:
        """An image file (or its bytes, or a stack's plane) as this predictor's network reads it, before
        ``prepare`` (``imageio.read_image`` with ``intensities``)."""
        return read_image(path, data, self.intensities)

    @abstractmethod
    def forward(self, tta: bool) -> Forward:
        """``tiling``'s forward of the predictor's network: an (h, w, 3) uint8 crop -> (C, h, w) probabilities."""

    def predict(self, image: np.ndarray, crf: CRFParams | None | bool = None, tta: bool | None = None) -> Prediction:
        """``crf``: None uses the predictor's setting, False turns it off, or give CRFParams; ``tta`` (flips
        averaged): None uses the predictor's setting. The network and the CRF see the image ``prepare``d."""
        params = self.crf if crf is None else (crf or None)
        return predict_image(self.forward(self.tta if tta is None else tta), self.prepare(image), params)


def image_files(folder: Path) -> list[Path]:
    """The image files of a folder, without hidden ones (such as a temporary file left by a killed write)."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and not p.name.startswith(".") and file_suffix(p.name) in IMAGE_EXTS)


def predict_files(predict: Callable[[np.ndarray], Prediction], classes: ClassList, images: Path, out: Path,
                  progress=None, cancel=None, intensities: ModelInput | None = None) -> list[dict]:
    """Write ``out/masks/<stem>.png`` (palette index PNG) and ``out/overlays/<stem>.png`` for each image of the
    folder ``images``, with ``predict``; returns a row per image (its mask, seconds and class fractions). A stack
    (or NIfTI volume) gives one mask stack of its planes (``stack_prediction``): ``out/masks/<stem>.tif`` or
    ``.nii.gz``, and an overlay per plane (on the image's display composite: ``display.display_rgb``).
    ``intensities``: how the predictor reads images (``ImagePredictor.intensities``).

    An unreadable image is reported in the returned rows and skipped; the others still run. ``progress`` gets
    a ``Count`` per image ("3/12 images predicted"); when ``cancel`` (an Event) is set, it stops before
    the next image and raises ``Cancelled`` (``seg_core.base.progress``) saying how many masks were written (they
    stay, each whole; ``partial``: the rows so far).
    """
    out = Path(out)
    files = image_files(images)
    steps = Steps(progress, cancel, len(files), "images predicted")
    rows = []
    for f in files:
        steps.check(lambda: f"cancelled after {steps.done} of {len(files)} images: the {_written(rows)} mask(s) "
                            f"written are kept in {out / 'masks'}; {len(files) - steps.done} not predicted", rows)
        try:
            stack = stack_header(f, volumes=True)
            if stack is not None:  # a stack in, a stack out
                rows.append(predict_stack(predict, classes, f, stack, out, intensities))
                steps.tick(f.name)
                continue
            image = read_image(f, intensities=intensities)
        except ValueError as err:
            rows.append({"image": f.name, "error": str(err)})
            steps.tick(f"{f.name} skipped")
            continue
        p = predict(image)
        write_index_mask(out / "masks" / f"{f.stem}.png", p.mask, classes)
        write_rgb(out / "overlays" / f"{f.stem}.png", overlay(image, p.mask, classes, 0.5,
                                                              intensities.channels if intensities else ()))
        counts = np.bincount(p.mask.ravel(), minlength=len(classes))
        rows.append({"image": f.name, "mask": f"masks/{f.stem}.png", "seconds": round(p.seconds + p.crf_seconds, 3),
                     **{f"{n}_fraction": round(float(c) / p.mask.size, 4) for n, c in zip(classes.names, counts)}})
        steps.tick(f.name)
    return rows


def _written(rows: list[dict]) -> int:
    return sum("mask" in r for r in rows)
