"""Post-processing chosen by measurement: whether flip TTA and the dense CRF improve a run's held-out score.

At the end of training the best checkpoint is scored on the held-out (validation) images four ways: plain,
with flips averaged (TTA), with the dense CRF, with both. The run records every score and the choice in
``postprocess.json``; prediction uses that choice unless the user says otherwise (``resolve``).

The choice. Flips are on unless at least ``MIN_IMAGES`` held-out images score them below plain: they cost a
second pass and gained on every unseen set measured (nuclei object F1 +0.015-0.025, EM membranes and street
scenes +0.009 mIoU; benchmarks/results/2026-12-03-default-recipe.md), as nnU-Net's default mirroring does. The CRF is
on only when it adds at least ``MIN_GAIN`` mIoU over that on at least ``MIN_IMAGES`` images: a few held-out
images are noisy, and on the EM membranes the CRF and flips added 0.027 mIoU on 2 held-out slices and cost
0.12 on 10 unseen ones (benchmarks/bench_quality.py). Fewer images are still scored (the scores are
recorded) but never turn the CRF on or flips off; without held-out images nothing is measured.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from seg_core.base.progress import cancelled
from seg_core.infer.crf import CRFParams, dense_crf
from seg_core.infer.metrics import Confusion

FILE = "postprocess.json"
VARIANTS = {"plain": (False, False), "tta": (False, True), "crf": (True, False), "crf+tta": (True, True)}  # (crf, tta)
MIN_GAIN = 0.005  # mIoU the CRF must add to be chosen
MIN_IMAGES = 4  # held-out images a measured choice needs (fewer: flips on, CRF off)
MAX_IMAGES = 16  # held-out images measured at most (the first ones, in the split's order)
MAX_SECONDS = 120.0  # measuring stops taking more images after this long (at least one image is measured)
MAX_PIXELS = 2 * 1024 * 1024  # larger held-out images are not measured (the CRF takes tens of seconds on them)


@dataclass(frozen=True)
class Choice:
    """What prediction applies, and why (``reason`` is one sentence for the app and the CLI)."""

    crf: bool
    tta: bool
    reason: str

    def to_dict(self) -> dict:
        return {"crf": self.crf, "tta": self.tta, "reason": self.reason}


def too_large(pixels: int, max_pixels: int = MAX_PIXELS) -> bool:
    """Whether a held-out image of ``pixels`` is left out of the measurements on held-out images (this module's and
    ``balance``'s): above ``max_pixels`` (at most ``MAX_PIXELS``) or too large for class probabilities (``limits``)."""
    from seg_core.base.limits import limits

    return pixels > min(limits().max_prob_pixels, MAX_PIXELS, max_pixels)


def measure(model, pairs: Sequence[tuple[np.ndarray, np.ndarray]], num_classes: int, amp_dtype=None,
            crf: CRFParams | None = None, cancel: threading.Event | None = None,
            max_images: int = MAX_IMAGES, max_seconds: float = MAX_SECONDS, max_pixels: int = MAX_PIXELS,
            each: Callable[[dict[bool, np.ndarray], np.ndarray], None] | None = None) -> dict:
    """Score ``model`` on held-out ``pairs`` (image, label) plain, with TTA, with the CRF and with both.

    Returns {"images", "miou": {variant: score}, "gain": {variant: score - plain}, "crf", "tta", "chosen",
    "reason", "seconds"}; images ``too_large`` for ``max_pixels`` are skipped and counted in "skipped_large".
    ``cancel`` (set) stops taking more images (those measured count).
    ``each``: called with every measured image's class probabilities ({tta: (C, H, W)}, without and with flips)
    and its label, for what else is measured on them (how objects are counted: ``seg_core.objects.faint``)."""
    from seg_core.infer.sliding_window import predict_probs

    params = crf or CRFParams()
    cms = {v: Confusion(num_classes) for v in VARIANTS}
    t0, used, skipped = time.perf_counter(), 0, 0
    model.eval()
    for i in range(min(len(pairs), max_images)):
        if cancelled(cancel) or (used and time.perf_counter() - t0 > max_seconds):
            break
        image, mask = pairs[i]  # read when needed (a lazy reader is fine)
        if too_large(image.shape[0] * image.shape[1], max_pixels):
            skipped += 1
            continue
        probs = {False: predict_probs(model, image, tta=False, amp_dtype=amp_dtype),
                 True: predict_probs(model, image, tta=True, amp_dtype=amp_dtype)}
        for name, (use_crf, use_tta) in VARIANTS.items():
            p = dense_crf(image, probs[use_tta], params) if use_crf else probs[use_tta]
            cms[name].add(p.argmax(0), mask)
        if each is not None:
            each(probs, mask)
        used += 1
    result = {"images": used, "skipped_large": skipped, "seconds": round(time.perf_counter() - t0, 2),
              "crf_params": params.to_dict()}
    if not used:
        c = choose(None)
        return result | c.to_dict() | {"chosen": _name(c)}
    miou = {v: round(cm.scores()["miou"], 4) for v, cm in cms.items()}
    result |= {"miou": miou, "gain": {v: round(m - miou["plain"], 4) for v, m in miou.items()}}
    c = choose(result)
    return result | c.to_dict() | {"chosen": _name(c)}


def _name(c: Choice) -> str:
    return next(v for v, f in VARIANTS.items() if f == (c.crf, c.tta))


def chosen_by_measurement(measured: dict | None) -> bool:
    """Whether ``measure``'s result (or a run's postprocess.json) scored enough held-out images to choose by
    (``MIN_IMAGES``); else the default holds: flips on, CRF off."""
    return bool(measured) and "miou" in measured and measured.get("images", 0) >= MIN_IMAGES


def choose(measured: dict | None) -> Choice:
    """The variant to predict with, from ``measure``'s result (None or no images: nothing measured)."""
    if not measured or not measured.get("images") or "miou" not in measured:
        return Choice(False, True, "flips on, CRF off: not measured (no held-out images)")
    miou, n = measured["miou"], measured["images"]
    where = f"on {n} held-out image{'s' if n != 1 else ''}"
    if not chosen_by_measurement(measured):
        best = max(VARIANTS, key=lambda v: (miou[v], -list(VARIANTS).index(v)))
        best_txt = "plain scored best" if best == "plain" else \
            f"best was {best} {miou[best] - miou['plain']:+.3f} mIoU"
        return Choice(False, True, f"flips on, CRF off: {n} held-out image{'s were' if n != 1 else ' was'} too few "
                                   f"to choose by (at least {MIN_IMAGES}; {best_txt})")
    tta = miou["tta"] >= miou["plain"]
    base = "tta" if tta else "plain"
    with_crf = "crf+tta" if tta else "crf"
    flips = f"flips {miou['tta'] - miou['plain']:+.3f}"
    if miou[with_crf] - miou[base] >= MIN_GAIN:
        what = "the dense CRF and flips (TTA)" if tta else "the dense CRF, flips off"
        return Choice(True, tta, f"{what}: {miou[with_crf] - miou['plain']:+.3f} mIoU {where} "
                                 f"({miou['plain']:.3f} -> {miou[with_crf]:.3f}; {flips})")
    crf_txt = f"the CRF added {miou[with_crf] - miou[base]:+.3f} mIoU, under {MIN_GAIN}"
    if tta:
        return Choice(False, True, f"flips on (TTA), CRF off: {flips} mIoU {where}; {crf_txt}")
    return Choice(False, False, f"plain predictions: flips scored lower ({flips} mIoU {where}); {crf_txt}")


def resolve(recorded: dict | None, crf: bool | None = None, tta: bool | None = None) -> Choice:
    """What to predict with: the user's ``crf`` / ``tta`` where given (not None), else the run's measured
    choice (``recorded``: its postprocess.json, None when it has none)."""
    c = Choice(bool(recorded.get("crf")), bool(recorded.get("tta")), str(recorded.get("reason", ""))) \
        if recorded else choose(None)
    if crf is None and tta is None:
        return c
    crf_on = c.crf if crf is None else crf
    tta_on = c.tta if tta is None else tta
    return Choice(crf_on, tta_on, f"CRF {'on' if crf_on else 'off'}, flips {'on' if tta_on else 'off'} "
                                  f"(set by you; the run measured: {c.reason})")
