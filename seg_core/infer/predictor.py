"""A trained run in use: its model loaded once, masks predicted (optionally CRF-refined) for images and folders."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.infer.crf import CRFParams, dense_crf
from seg_core.base.device import autocast_dtype, pick_device, use_all_cpu_threads
from seg_core.data.imageio import IMAGE_EXTS, read_image, write_index_mask, write_rgb
from seg_core.infer.overlay import overlay
from seg_core.base.limits import limits, pixels_text
from seg_core.base.progress import Steps
from seg_core.infer.sliding_window import predict_mask, predict_probs, probs_to_mask
from seg_core.runs.folder import Run


@dataclass
class Prediction:
    mask: np.ndarray  # (H, W) class indices
    probs: np.ndarray | None  # (C, H, W); None for images above limits.max_prob_pixels (see ``note``)
    seconds: float
    crf_seconds: float = 0.0
    note: str = ""  # what was done differently and why (a very large image: tiles, no probabilities, no CRF)


@dataclass
class Predictor:
    """A run's model loaded once, for many images."""

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

    def predict(self, image: np.ndarray, crf: CRFParams | None | bool = None, tta: bool | None = None) -> Prediction:
        """``crf``: None uses the predictor's setting, False turns it off, or give CRFParams; ``tta`` (flips
        averaged): None uses the predictor's setting."""
        t0 = time.perf_counter()
        params = self.crf if crf is None else (crf or None)
        tta = self.tta if tta is None else tta
        h, w = image.shape[:2]
        lim = limits()
        if h * w > lim.max_prob_pixels:  # memory bounded by the tile: a mask, no class probabilities
            mask, _ = predict_mask(self.model, image, tta=tta, amp_dtype=self.amp)
            note = (f"{w}x{h} is more than {pixels_text(lim.max_prob_pixels)}, so it was predicted tile by "
                    "tile straight into the mask, without class probabilities"
                    + ("; the dense CRF needs them and was skipped" if params is not None else "")
                    + " (the limit is the environment variable SEG_CORE_MAX_PROB_PIXELS, now "
                    f"{lim.max_prob_pixels}; raising it costs memory)")
            return Prediction(mask, None, time.perf_counter() - t0, 0.0, note)
        probs = predict_probs(self.model, image, tta=tta, amp_dtype=self.amp)
        t1 = time.perf_counter()
        if params is not None:
            probs = dense_crf(image, probs, params)
        t2 = time.perf_counter()
        return Prediction(probs_to_mask(probs), probs, t1 - t0, t2 - t1)


def image_files(folder: Path) -> list[Path]:
    """The image files of a folder, without hidden ones (such as a temporary file left by a killed write)."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTS)


def predict_folder(run: Run, images: Path, out: Path, crf: CRFParams | None = None, tta: bool = False,
                   device: str = "auto", progress=None, cancel=None) -> list[dict]:
    """Write ``out/masks/<stem>.png`` (palette index PNG) and ``out/overlays/<stem>.png`` per image.

    An unreadable image is reported in the returned rows and skipped; the others still run. ``progress`` gets
    a ``Count`` per image ("3/12 images predicted"); when ``cancel`` (an Event) is set, it stops before
    the next image and raises ``Cancelled`` (``seg_core.base.progress``) saying how many masks were written (they stay, each whole;
    ``partial``: the rows so far).
    """
    out = Path(out)
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    files = image_files(images)
    steps = Steps(progress, cancel, len(files), "images predicted")
    rows = []
    for f in files:
        steps.check(lambda: f"cancelled after {steps.done} of {len(files)} images: the {_written(rows)} mask(s) "
                            f"written are kept in {out / 'masks'}; {len(files) - steps.done} not predicted", rows)
        try:
            image = read_image(f)
        except ValueError as err:
            rows.append({"image": f.name, "error": str(err)})
            steps.tick(f"{f.name} skipped")
            continue
        p = pred.predict(image)
        write_index_mask(out / "masks" / f"{f.stem}.png", p.mask, pred.classes)
        write_rgb(out / "overlays" / f"{f.stem}.png", overlay(image, p.mask, pred.classes, 0.5))
        counts = np.bincount(p.mask.ravel(), minlength=len(pred.classes))
        rows.append({"image": f.name, "mask": f"masks/{f.stem}.png", "seconds": round(p.seconds + p.crf_seconds, 3),
                     **{f"{n}_fraction": round(float(c) / p.mask.size, 4) for n, c in zip(pred.classes.names, counts)}})
        steps.tick(f.name)
    return rows


def _written(rows: list[dict]) -> int:
    return sum("mask" in r for r in rows)
