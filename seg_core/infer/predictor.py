"""A trained run in use: its model loaded once, masks predicted (optionally CRF-refined) for images and folders."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seg_core.base.device import autocast_dtype, pick_device, use_all_cpu_threads
from seg_core.data.colour import prepare_for
from seg_core.infer.crf import CRFParams
from seg_core.infer.prediction import ImagePredictor, Prediction, image_files, predict_files
from seg_core.infer.sliding_window import torch_forward
from seg_core.infer.tiling import Forward
from seg_core.runs.folder import Run

__all__ = ["Prediction", "Predictor", "image_files", "predict_folder"]


@dataclass
class Predictor(ImagePredictor):
    """A run's model loaded once, for many images (``predict``: ``ImagePredictor``'s)."""

    run: Run
    device: str = "auto"
    tta: bool = False
    crf: CRFParams | None = None
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        use_all_cpu_threads()
        dev = pick_device(self.device)
        self.model = self.run.load_model(str(dev))
        self.amp = autocast_dtype(dev, self.run.config.get("precision", "auto"))
        self.classes = self.run.classes
        self.prepare = prepare_for(self.run.colour_reference)  # colours evened out as in training, or as is
        self.intensities = self.run.reading  # the run's channels; 16-bit and float images by the run's ranges

    def forward(self, tta: bool) -> Forward:
        return torch_forward(self.model, tta, self.amp)


def predict_folder(run: Run, images: Path, out: Path, crf: CRFParams | None = None, tta: bool = False,
                   device: str = "auto", progress=None, cancel=None) -> list[dict]:
    """Write ``out/masks/<stem>.png`` (palette index PNG) and ``out/overlays/<stem>.png`` per image.

    An unreadable image is reported in the returned rows and skipped; the others still run. ``progress`` gets
    a ``Count`` per image ("3/12 images predicted"); when ``cancel`` (an Event) is set, it stops before
    the next image and raises ``Cancelled`` (``seg_core.base.progress``) saying how many masks were written (they stay, each whole;
    ``partial``: the rows so far).
    """
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    return predict_files(pred.predict, pred.classes, images, out, progress, cancel, pred.intensities)
