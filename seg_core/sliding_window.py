"""Inference at the original resolution: pad to the network's multiple, tiles for big images, flip TTA."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .device import autocast
from .model import OUTPUT_MULTIPLE

MAX_WHOLE_PIXELS = 1024 * 1024  # above this, predict in overlapping tiles
TILE = 512
TILE_OVERLAP = 64


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in 0..1."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)[None].float().div_(255)


def _forward_padded(model, x: torch.Tensor, amp_dtype, tta: bool) -> torch.Tensor:
    """Softmax probabilities (1, C, H, W) for a tensor of any size (reflect-padded to the multiple)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % OUTPUT_MULTIPLE, (-w) % OUTPUT_MULTIPLE
    mode = "reflect" if ph < h and pw < w else "replicate"
    xp = F.pad(x, (0, pw, 0, ph), mode=mode) if (ph or pw) else x
    views = [xp, xp.flip(-1)] if tta else [xp]
    with autocast(x.device, amp_dtype):
        out = None
        for i, v in enumerate(views):
            p = model(v).float().softmax(1)
            p = p.flip(-1) if i == 1 else p
            out = p if out is None else out + p
    return (out / len(views))[..., :h, :w]


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - min(overlap, tile // 4)
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


@torch.inference_mode()
def predict_probs(model, image: np.ndarray, tta: bool = False, amp_dtype=None,
                  max_pixels: int = MAX_WHOLE_PIXELS, tile: int = TILE) -> np.ndarray:
    """Class probabilities (C, H, W) float32 for one RGB uint8 image at its own resolution."""
    device = next(model.parameters()).device
    x = to_tensor(image).to(device)
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return _forward_padded(model, x, amp_dtype, tta)[0].cpu().numpy()
    acc = None
    count = torch.zeros(1, 1, h, w, device=device)
    for y0 in _tile_starts(h, tile, TILE_OVERLAP):
        for x0 in _tile_starts(w, tile, TILE_OVERLAP):
            crop = x[..., y0:y0 + tile, x0:x0 + tile]
            p = _forward_padded(model, crop, amp_dtype, tta)
            if acc is None:
                acc = torch.zeros(1, p.shape[1], h, w, device=device)
            acc[..., y0:y0 + crop.shape[-2], x0:x0 + crop.shape[-1]] += p
            count[..., y0:y0 + crop.shape[-2], x0:x0 + crop.shape[-1]] += 1
    return (acc / count)[0].cpu().numpy()


def probs_to_mask(probs: np.ndarray) -> np.ndarray:
    return probs.argmax(0).astype(np.uint8)
