"""Using a trained run: predict masks (optionally CRF-refined) and score them against ground truth."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .crf import CRFParams, dense_crf
from .dataset import scan_dataset
from .device import autocast_dtype, pick_device, use_all_cpu_threads
from .imageio import IMAGE_EXTS, read_image, write_index_mask, write_rgb
from .metrics import confusion, scores
from .overlay import overlay
from .predict import predict_probs, probs_to_mask
from .runs import Run
from .train import DatasetError


@dataclass
class Prediction:
    mask: np.ndarray  # (H, W) class indices
    probs: np.ndarray  # (C, H, W)
    seconds: float
    crf_seconds: float = 0.0


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

    def predict(self, image: np.ndarray, crf: CRFParams | None | bool = None) -> Prediction:
        """``crf``: None uses the predictor's setting, False turns it off, or give CRFParams."""
        t0 = time.perf_counter()
        probs = predict_probs(self.model, image, tta=self.tta, amp_dtype=self.amp)
        t1 = time.perf_counter()
        params = self.crf if crf is None else (crf or None)
        if params is not None:
            probs = dense_crf(image, probs, params)
        t2 = time.perf_counter()
        return Prediction(probs_to_mask(probs), probs, t1 - t0, t2 - t1)


def evaluate_run(run: Run, data: Path, crf: CRFParams | None = None, tta: bool = False,
                 ignore_index: int | None = None, device: str = "auto", require_masks: bool = True) -> dict:
    """Score ``run`` on a labelled folder: dataset metrics plus one row per image.

    Each row's ``split`` says whether the run trained on that image ("train"), held it out for
    validation ("validation") or never saw it ("unseen"); ``held_out`` scores the last two together.
    """
    cfg = run.config
    split = cfg.get("split") or {}
    role = {s: "train" for s in split.get("train", [])} | {s: "validation" for s in split.get("val", [])}
    if ignore_index is None:
        ignore_index = cfg.get("ignore_index")
    ds = scan_dataset(Path(data), len(run.classes), ignore_index, classes=run.classes, require_masks=require_masks)
    if ds.errors:
        raise DatasetError(ds.errors)
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    n = len(run.classes)
    cm = np.zeros((n, n), np.int64)
    held, n_held = np.zeros((n, n), np.int64), 0
    per_image, secs, crf_secs = [], [], []
    for s in ds.labelled:
        image, mask = read_image(s.image), ds.load_mask(s)
        p = pred.predict(image)
        c = confusion(p.mask, mask, n)
        cm += c
        sc = scores(c, run.classes.names)
        split_of = role.get(s.stem, "unseen")
        per_image.append({"image": s.image.name, "split": split_of, "miou": sc["miou"],
                          "pixel_accuracy": sc["pixel_accuracy"]})
        if split_of != "train":
            held += c
            n_held += 1
        secs.append(p.seconds + p.crf_seconds)
        crf_secs.append(p.crf_seconds)
    result = scores(cm, run.classes.names)
    result.update(images=len(per_image), seconds_per_image=float(np.mean(secs)) if secs else 0.0,
                  crf=crf is not None, tta=tta, per_image=per_image)
    if n_held:
        result["held_out"] = scores(held, run.classes.names) | {"images": n_held}
    if crf is not None:
        result["crf_seconds_per_image"] = float(np.mean(crf_secs)) if crf_secs else 0.0
    return result


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def predict_folder(run: Run, images: Path, out: Path, crf: CRFParams | None = None, tta: bool = False,
                   device: str = "auto", progress=None) -> list[dict]:
    """Write ``out/masks/<stem>.png`` (palette index PNG) and ``out/overlays/<stem>.png`` per image.

    An unreadable image is reported in the returned rows and skipped; the others still run.
    """
    out = Path(out)
    pred = Predictor(run, device=device, tta=tta, crf=crf)
    files = image_files(images)
    rows = []
    for i, f in enumerate(files):
        try:
            image = read_image(f)
        except ValueError as err:
            rows.append({"image": f.name, "error": str(err)})
            continue
        p = pred.predict(image)
        write_index_mask(out / "masks" / f"{f.stem}.png", p.mask, pred.classes)
        write_rgb(out / "overlays" / f"{f.stem}.png", overlay(image, p.mask, pred.classes, 0.5))
        counts = np.bincount(p.mask.ravel(), minlength=len(pred.classes))
        rows.append({"image": f.name, "mask": f"masks/{f.stem}.png", "seconds": round(p.seconds + p.crf_seconds, 3),
                     **{f"{n}_fraction": round(float(c) / p.mask.size, 4) for n, c in zip(pred.classes.names, counts)}})
        if progress:
            progress({"done": i + 1, "total": len(files), "image": f.name})
    return rows
