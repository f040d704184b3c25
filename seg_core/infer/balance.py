"""How much of the balanced class weights' lean a run keeps, chosen by measurement on its held-out images.

Balanced class weights (``training/class_weights.py``) make the loss count a rare class's pixels more, which
helps the network learn it, but also teaches it to call a pixel rare more often than the images show: a
network trained with weights w predicts, at best, probabilities proportional to w_c * p(c | x) (more membrane,
vessel or defect than there is). Subtracting ``strength * log(w_c)`` from each class's logit undoes that lean
in full (strength 1), half (0.5) or not at all (0). When training ends, the best checkpoint's plain predictions
on the held-out images are scored at each strength and the best is kept when it beats the lean as trained by
at least ``MIN_GAIN`` mIoU; it is then folded into the bias of the network's last layer, so every reader of
the run (prediction, ``measure``, the click tool, an exported ONNX file) predicts the same without knowing it.

Measured (benchmarks/results/2026-12-06-balance.md): on EM membranes the full undoing scored +0.021 mIoU on
unseen slices and matched a training without weights; on street scenes, where the weights themselves gain
0.02, half of it scored +0.004. A bar of 0.001 proved too low (benchmarks/results/2026-12-07-balance-bar.md):
in 6 of 7 trainings where half the lean was undone for +0.001 to +0.004 on the held-out images, the unseen
images scored 0.003 to 0.024 lower than as trained (EM membranes, small street things); the bar is now the
CRF's. Only the automatic ("balanced") weights are measured: weights the user typed say how much they want each
class favoured and are kept as trained.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from seg_core.base.progress import cancelled
from seg_core.infer.metrics import Confusion
from seg_core.infer.postprocess import MAX_IMAGES, MAX_PIXELS, MIN_GAIN, too_large

KEY = "balance"  # its part of postprocess.json
STRENGTHS = (0.0, 0.5, 1.0)  # how much of the weights' lean is undone
# A strength must add MIN_GAIN mIoU on the held-out images over the lean as trained: the CRF's bar (postprocess.py).


@dataclass(frozen=True)
class Balance:
    """The strength chosen, why (one sentence), and what was measured."""

    strength: float
    reason: str
    weights: tuple[float, ...] = ()
    images: int = 0
    miou: dict | None = None  # strength (as text) -> held-out mIoU

    def to_dict(self) -> dict:
        return {"strength": self.strength, "reason": self.reason, "weights": list(self.weights),
                "images": self.images, "miou": self.miou}

    def offsets(self) -> np.ndarray:
        """What is added to each class's logit."""
        return -self.strength * np.log(np.asarray(self.weights, np.float64))


def adjusted(probs: np.ndarray, weights: Sequence[float], strength: float) -> np.ndarray:
    """Class probabilities (C, H, W) with ``strength`` of the weights' lean undone (renormalised)."""
    if not strength:
        return probs
    scale = np.asarray(weights, np.float32) ** -strength
    p = probs * scale[:, None, None]
    return p / np.maximum(p.sum(0, keepdims=True), 1e-12)


def measure_balance(model, pairs, weights: Sequence[float], num_classes: int, amp_dtype=None,
                    cancel: threading.Event | None = None, max_images: int = MAX_IMAGES, max_seconds: float = 60.0,
                    max_pixels: int = MAX_PIXELS) -> Balance:
    """Score ``model``'s plain predictions on held-out ``pairs`` (image, label) with each of ``STRENGTHS`` of the
    class ``weights``' lean undone, and choose (``choose_balance``). The images ``postprocess.measure`` skips as
    ``too_large`` for ``max_pixels`` are skipped;
    ``cancel`` or ``max_seconds`` stop taking more (at least one image is measured)."""
    from seg_core.infer.sliding_window import predict_probs

    cms = {s: Confusion(num_classes) for s in STRENGTHS}
    t0, used = time.perf_counter(), 0
    model.eval()
    for i in range(min(len(pairs), max_images)):
        if cancelled(cancel) or (used and time.perf_counter() - t0 > max_seconds):
            break
        image, mask = pairs[i]
        if too_large(image.shape[0] * image.shape[1], max_pixels):
            continue
        probs = predict_probs(model, image, tta=False, amp_dtype=amp_dtype)
        for s, cm in cms.items():
            cm.add(adjusted(probs, weights, s).argmax(0), mask)
        used += 1
    miou = {s: round(cm.scores()["miou"], 4) for s, cm in cms.items()} if used else None
    return choose_balance(miou, weights, used)


def choose_balance(miou: dict | None, weights: Sequence[float], images: int) -> Balance:
    """The strength with the best held-out mIoU when it adds at least ``MIN_GAIN`` to the lean as trained (the
    smaller strength on a tie); else 0."""
    w = tuple(float(v) for v in weights)
    if not miou:
        return Balance(0.0, "rare classes favoured as trained: no held-out image to measure on", w, images)
    best = max(STRENGTHS, key=lambda s: (miou[s], -s))
    gain = miou[best] - miou[0.0]
    where = f"on {images} held-out image{'s' * (images != 1)}"
    table = {str(s): m for s, m in miou.items()}
    if best == 0.0 or gain < MIN_GAIN:
        return Balance(0.0, f"rare classes favoured as trained: undoing the class weights' lean added at most "
                            f"{max(gain, 0.0):+.3f} mIoU {where} (under {MIN_GAIN})", w, images, table)
    how = "in full" if best == 1.0 else f"by {best:g}"
    return Balance(best, f"the class weights' lean undone {how}: {gain:+.3f} mIoU {where} "
                         f"({miou[0.0]:.3f} -> {miou[best]:.3f})", w, images, table)


def head_layer(model: nn.Module) -> nn.Conv2d:
    """The network's last layer (the class logits): the segmentation head's convolution."""
    net = getattr(model, "net", model)
    return next(m for m in net.segmentation_head.modules() if isinstance(m, nn.Conv2d))


def fold(model: nn.Module, balance: Balance) -> None:
    """Add ``balance``'s offsets to the bias of ``model``'s last layer, in place."""
    if not balance.strength:
        return
    conv = head_layer(model)
    with torch.no_grad():
        conv.bias += torch.as_tensor(balance.offsets(), dtype=conv.bias.dtype, device=conv.bias.device)
