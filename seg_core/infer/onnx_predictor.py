"""Prediction with an exported ONNX file alone, through onnxruntime: the file's own description
(``description``) says the classes, the input's colour normalisation and scaling, the side multiple, the padding and the post-processing;
tiles, limits and the files written are those of a run's prediction (``tiling``; a folder:
``prediction.predict_files(OnnxPredictor(f).predict, ...)``).

Loads no torch (numpy, onnxruntime, PIL, OpenCV, pydensecrf only): it runs where torch is not installed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.cores import cpu_count
from seg_core.data.colour import ColourReference, prepare_for
from seg_core.data.model_input import ModelInput
from seg_core.infer.crf import CRFParams
from seg_core.infer.description import classes_of, from_metadata
from seg_core.infer.prediction import ImagePredictor
from seg_core.infer.tiling import Forward, pad_image


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    have = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in have:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ValueError("--device cuda: this onnxruntime has no GPU support (install onnxruntime-gpu)")
    return ["CPUExecutionProvider"]


@dataclass
class OnnxPredictor(ImagePredictor):
    """An exported ONNX file loaded once, for many images (the same ``predict`` as a run's ``Predictor``:
    ``ImagePredictor``'s)."""

    path: Path
    device: str = "auto"
    tta: bool = False
    crf: CRFParams | None = None
    description: dict = field(init=False, repr=False)

    def __post_init__(self):
        import onnxruntime as ort

        self.path = Path(self.path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such model file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = cpu_count()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=_providers(self.device))
        except Exception as err:  # onnxruntime's own errors (not an ONNX file, damaged, unsupported)
            raise ValueError(f"{self.path}: cannot be loaded as an ONNX model ({type(err).__name__}: "
                             f"{str(err)[:300]})") from None
        self.description = from_metadata(self.session.get_modelmeta().custom_metadata_map, str(self.path))
        self.classes = classes_of(self.description)
        inp = self.description["input"]
        self.input_name, self.output_name = inp["name"], self.description["output"]["name"]
        low, high = inp["value_range"]
        self.divisor, self.offset = np.float32(255.0 / (high - low)), np.float32(low)  # 255 -> high
        self.multiple = int(self.description["side_multiple"])
        try:  # colours evened out as in training (absent: a model trained on images as they are); 16-bit and
            # float images read by the training images' fixed ranges (absent: 8-bit images, or an older file)
            self.prepare = prepare_for(ColourReference.from_dict(inp.get("colour_normalisation")))
            self.intensities = ModelInput.from_config(inp)  # the channels read, in order, and their ranges
        except ValueError as err:
            raise ValueError(f"{self.path}: {err}") from None

    def scores(self, padded: np.ndarray) -> np.ndarray:
        """The network's class scores (C, H, W) for an (H, W, K) uint8 image whose sides are multiples of
        ``side_multiple``."""
        x = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32) / self.divisor + self.offset
        return self.session.run([self.output_name], {self.input_name: x})[0][0]

    def forward(self, tta: bool) -> Forward:
        """``tiling``'s forward: an (h, w, 3) uint8 crop -> (C, h, w) float32 probabilities (flips averaged)."""
        def run(crop: np.ndarray) -> np.ndarray:
            h, w = crop.shape[:2]
            padded = pad_image(crop, self.multiple)
            p = _softmax(self.scores(padded))
            if tta:  # the padded image flipped, as the torch predictor flips it
                p = (p + _softmax(self.scores(padded[:, ::-1]))[:, :, ::-1]) / 2
            return np.ascontiguousarray(p[:, :h, :w], dtype=np.float32)
        return run

