"""Inference at the original resolution with a torch model: padded to the network's multiple, tiles for big
images (``tiling``: the same padding and tiles as the ONNX predictor), flip TTA."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from seg_core.base.device import autocast
from seg_core.infer.tiling import (MAX_WHOLE_PIXELS, TILE, TILE_OVERLAP, Forward, labels_tiled, mask_tiled, pad_plan,
                                   probs_tiled)
from seg_core.model.network import OUTPUT_MULTIPLE

__all__ = ["MAX_WHOLE_PIXELS", "TILE", "TILE_OVERLAP", "to_tensor", "torch_forward", "predict_probs", "predict_mask",
           "predict_labels", "probs_to_mask"]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in 0..1."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)[None].float().div_(255)


def _forward_padded(model, x: torch.Tensor, amp_dtype, tta: bool) -> torch.Tensor:
    """Softmax probabilities (1, C, H, W) for a tensor of any size (padded to the multiple as ``pad_plan`` says)."""
    h, w = x.shape[-2:]
    ph, pw, reflect = pad_plan(h, w, OUTPUT_MULTIPLE)
    xp = F.pad(x, (0, pw, 0, ph), mode="reflect" if reflect else "replicate") if (ph or pw) else x
    views = [xp, xp.flip(-1)] if tta else [xp]
    with autocast(x.device, amp_dtype):
        out = None
        for i, v in enumerate(views):
            p = model(v).float().softmax(1)
            p = p.flip(-1) if i == 1 else p
            out = p if out is None else out + p
    return (out / len(views))[..., :h, :w]


def torch_forward(model, tta: bool = False, amp_dtype=None) -> Forward:
    """``tiling``'s forward for a torch model: an (h, w, 3) uint8 crop -> (C, h, w) float32 probabilities."""
    device = next(model.parameters()).device

    @torch.inference_mode()
    def forward(crop: np.ndarray) -> np.ndarray:
        return _forward_padded(model, to_tensor(crop).to(device), amp_dtype, tta)[0].float().cpu().numpy()
    return forward


def predict_probs(model, image: np.ndarray, tta: bool = False, amp_dtype=None,
                  max_pixels: int = MAX_WHOLE_PIXELS, tile: int = TILE) -> np.ndarray:
    """Class probabilities (C, H, W) float32 for one RGB uint8 image at its own resolution (overlapping tiles
    averaged above ``max_pixels``). Memory grows with the image: for very large images use ``predict_mask``."""
    return probs_tiled(torch_forward(model, tta, amp_dtype), image, max_pixels, tile)


def predict_mask(model, image: np.ndarray, tta: bool = False, amp_dtype=None, tile: int = TILE,
                 confidence: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W) uint8 class indices for an image of any size, predicted tile by tile (``tiling.mask_tiled``):
    memory bounded by one tile. ``confidence``: also the top class probability per pixel as uint8 (0..255)."""
    return mask_tiled(torch_forward(model, tta, amp_dtype), image, tile, confidence)


def probs_to_mask(probs: np.ndarray) -> np.ndarray:
    return probs.argmax(0).astype(np.uint8)


def predict_labels(model, image: np.ndarray, tta: bool = False, amp_dtype=None) -> np.ndarray:
    """The class of every pixel (``tiling.labels_tiled``): whole when small enough, else tile by tile."""
    return labels_tiled(torch_forward(model, tta, amp_dtype), image)
