"""Inference at the original resolution: pad to the network's multiple, tiles for big images, flip TTA."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from seg_core.base.device import autocast
from seg_core.model.network import OUTPUT_MULTIPLE

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
    """Class probabilities (C, H, W) float32 for one RGB uint8 image at its own resolution (overlapping tiles
    averaged above ``max_pixels``). Memory grows with the image: for very large images use ``predict_mask``."""
    device = next(model.parameters()).device
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return _forward_padded(model, to_tensor(image).to(device), amp_dtype, tta)[0].float().cpu().numpy()
    acc = None
    count = np.zeros((h, w), np.uint8)
    for y0 in _tile_starts(h, tile, TILE_OVERLAP):
        for x0 in _tile_starts(w, tile, TILE_OVERLAP):
            crop = image[y0:y0 + tile, x0:x0 + tile]  # only the tile becomes a float tensor
            p = _forward_padded(model, to_tensor(crop).to(device), amp_dtype, tta)[0].float().cpu().numpy()
            if acc is None:
                acc = np.zeros((p.shape[0], h, w), np.float32)
            acc[:, y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] += p
            count[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] += 1
    acc /= count[None]
    return acc


def _owned(starts: list[int], tile: int, size: int) -> list[tuple[int, int, int]]:
    """(start, lo, hi) per tile: the rows (or columns) lo..hi that this tile alone writes, split at the
    middle of each overlap, so every pixel comes from the tile that sees most around it."""
    out = []
    for i, s in enumerate(starts):
        lo = 0 if i == 0 else (starts[i - 1] + tile + s) // 2
        hi = size if i == len(starts) - 1 else (s + tile + starts[i + 1]) // 2
        out.append((s, lo, hi))
    return out


@torch.inference_mode()
def predict_mask(model, image: np.ndarray, tta: bool = False, amp_dtype=None, tile: int = TILE,
                 confidence: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W) uint8 class indices for an image of any size, predicted tile by tile (tiles overlap by
    ``TILE_OVERLAP``; each pixel is taken from the tile whose centre is nearest): besides the image and the
    mask, memory is bounded by one tile, not by the image. ``confidence``: also the top class probability
    per pixel as uint8 (0..255)."""
    device = next(model.parameters()).device
    h, w = image.shape[:2]
    mask = np.empty((h, w), np.uint8)
    conf = np.empty((h, w), np.uint8) if confidence else None
    for y0, ylo, yhi in _owned(_tile_starts(h, tile, TILE_OVERLAP), tile, h):
        for x0, xlo, xhi in _owned(_tile_starts(w, tile, TILE_OVERLAP), tile, w):
            crop = image[y0:y0 + tile, x0:x0 + tile]
            p = _forward_padded(model, to_tensor(crop).to(device), amp_dtype, tta)[0]
            top, idx = p[:, ylo - y0:yhi - y0, xlo - x0:xhi - x0].float().max(0)
            mask[ylo:yhi, xlo:xhi] = idx.to(torch.uint8).cpu().numpy()
            if conf is not None:
                conf[ylo:yhi, xlo:xhi] = (top * 255 + 0.5).to(torch.uint8).cpu().numpy()
            del p, top, idx
    return mask, conf


def probs_to_mask(probs: np.ndarray) -> np.ndarray:
    return probs.argmax(0).astype(np.uint8)


def predict_labels(model, image: np.ndarray, tta: bool = False, amp_dtype=None) -> np.ndarray:
    """The class of every pixel: from the whole image's class probabilities when it is small enough
    (``MAX_WHOLE_PIXELS``), else tile by tile straight into the mask (memory bounded by a tile)."""
    if image.shape[0] * image.shape[1] <= MAX_WHOLE_PIXELS:
        return predict_probs(model, image, tta=tta, amp_dtype=amp_dtype).argmax(0)
    return predict_mask(model, image, tta=tta, amp_dtype=amp_dtype)[0]
