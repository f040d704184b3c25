"""Post-processing chosen by measurement: whether flip TTA and the dense CRF improve a run's held-out score.

At the end of training the best checkpoint is scored on the held-out (validation) images four ways: plain,
with flips averaged (TTA), with the dense CRF, with both. The run records every score and the choice in
``postprocess.json``; prediction uses that choice unless the user says otherwise (``resolve``).

The choice: the variant with the highest mIoU, but only when it beats plain by at least ``MIN_GAIN`` (a few
held-out images are noisy, and TTA doubles and the CRF adds seconds per image) on at least ``MIN_IMAGES``
images; else plain. Fewer images are still scored (the scores are recorded) but never change the default: on
the EM membranes the CRF and flips added 0.027 mIoU on 2 held-out slices and cost 0.12 on 10 unseen ones
(benchmarks/bench_quality.py). Without held-out images nothing is measured and both stay off.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from seg_core.base.progress import cancelled
from seg_core.infer.crf import CRFParams, dense_crf
from seg_core.infer.metrics import Confusion

FILE = "postprocess.json"
VARIANTS = {"plain": (False, False), "tta": (False, True), "crf": (True, False), "crf+tta": (True, True)}  # (crf, tta)
MIN_GAIN = 0.005  # mIoU a variant must add over plain to be chosen
MIN_IMAGES = 4  # held-out images a choice other than plain needs
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


def measure(model, pairs: Sequence[tuple[np.ndarray, np.ndarray]], num_classes: int, amp_dtype=None,
            crf: CRFParams | None = None, cancel: threading.Event | None = None,
            max_images: int = MAX_IMAGES, max_seconds: float = MAX_SECONDS, max_pixels: int = MAX_PIXELS) -> dict:
    """Score ``model`` on held-out ``pairs`` (image, label) plain, with TTA, with the CRF and with both.

    Returns {"images", "miou": {variant: score}, "gain": {variant: score - plain}, "crf", "tta", "chosen",
    "reason", "seconds"}; images above ``max_pixels`` (at most ``MAX_PIXELS``; or too large for class probabilities, ``limits``) are
    skipped and counted in "skipped_large". ``cancel`` (set) stops taking more images (those measured count)."""
    from seg_core.base.limits import limits
    from seg_core.infer.sliding_window import predict_probs

    params = crf or CRFParams()
    cms = {v: Confusion(num_classes) for v in VARIANTS}
    t0, used, skipped = time.perf_counter(), 0, 0
    model.eval()
    for i in range(min(len(pairs), max_images)):
        if cancelled(cancel) or (used and time.perf_counter() - t0 > max_seconds):
            break
        image, mask = pairs[i]  # read when needed (a lazy reader is fine)
        if image.shape[0] * image.shape[1] > min(limits().max_prob_pixels, MAX_PIXELS, max_pixels):
            skipped += 1
            continue
        probs = {False: predict_probs(model, image, tta=False, amp_dtype=amp_dtype),
                 True: predict_probs(model, image, tta=True, amp_dtype=amp_dtype)}
        for name, (use_crf, use_tta) in VARIANTS.items():
            p = dense_crf(image, probs[use_tta], params) if use_crf else probs[use_tta]
            cms[name].add(p.argmax(0), mask)
        used += 1
    result = {"images": used, "skipped_large": skipped, "seconds": round(time.perf_counter() - t0, 2),
              "crf_params": params.to_dict()}
    if not used:
        return result | choose(None).to_dict() | {"chosen": "plain"}
    miou = {v: round(cm.scores()["miou"], 4) for v, cm in cms.items()}
    result |= {"miou": miou, "gain": {v: round(m - miou["plain"], 4) for v, m in miou.items()}}
    c = choose(result)
    return result | c.to_dict() | {"chosen": next(v for v, f in VARIANTS.items() if f == (c.crf, c.tta))}


def choose(measured: dict | None) -> Choice:
    """The variant to predict with, from ``measure``'s result (None or no images: nothing measured)."""
    if not measured or not measured.get("images") or "miou" not in measured:
        return Choice(False, False, "not measured (no held-out images): CRF and flips off")
    miou, n = measured["miou"], measured["images"]
    best = max(VARIANTS, key=lambda v: (miou[v], -list(VARIANTS).index(v)))  # ties: the simpler variant
    gain = miou[best] - miou["plain"]
    where = f"on {n} held-out image{'s' if n != 1 else ''}"
    if n < MIN_IMAGES:
        best_txt = "plain scored best anyway" if best == "plain" else f"best was {best} {gain:+.3f} mIoU"
        return Choice(False, False, f"plain predictions: {n} held-out image{'s were' if n != 1 else ' was'} too few "
                                    f"to choose by (at least {MIN_IMAGES}; {best_txt})")
    if best == "plain" or gain < MIN_GAIN:
        others = ", ".join(f"{v} {miou[v] - miou['plain']:+.3f}" for v in VARIANTS if v != "plain")
        return Choice(False, False, f"plain predictions: neither CRF nor flips added {MIN_GAIN} mIoU {where} "
                                    f"({others})")
    crf, tta = VARIANTS[best]
    what = {"tta": "flips (TTA)", "crf": "the dense CRF", "crf+tta": "the dense CRF and flips (TTA)"}[best]
    return Choice(crf, tta, f"{what}: {gain:+.3f} mIoU {where} ({miou['plain']:.3f} -> {miou[best]:.3f})")


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
