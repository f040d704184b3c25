"""Intensities as measured: images stored with more than 8 bits (16-bit, 32-bit, float) read with one fixed
range per channel, taken from the run's training images, instead of each image's own percentile stretch.

An image's own stretch (``imageio.model_rgb`` without a range, as runs trained before this read them) makes an
empty field of view (background 300 +- 5 counts) full-range noise, while the same background beside a bright
nucleus is near black: what the model sees no longer says how bright anything is. So at the start of training
(``Intensities.from_images``) each channel's ``LOW_PERCENT`` and ``HIGH_PERCENT`` percentiles are taken over
the training images together (a regular sample of at most ``SAMPLE_VALUES`` values per image, of at most
``MAX_IMAGES`` images spread over them), kept in the run's config.json as ``input_normalisation`` and in an
exported model's description, and every image (training, validation, prediction, evaluate, measure, rank and
the exported file's predictor) is read as ``(value - low) / (high - low)``, clipped to 0..1, as 8-bit values.
8-bit images are read as they are stored, as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

LOW_PERCENT, HIGH_PERCENT = 0.5, 99.5
SAMPLE_VALUES = 1 << 18  # values per channel taken from one image (a regular grid), bounding time and memory
MAX_IMAGES = 32  # training images the ranges are taken from, spread over them


def how_text() -> str:
    """``Intensities.to_uint8`` in words, for config.json and an exported model's description."""
    return (f"images stored with more than 8 bits: per channel, (value - low) / (high - low), clipped to 0..1, "
            f"times 255, rounded (low, high: the {LOW_PERCENT:g} and {HIGH_PERCENT:g} percentiles of that channel "
            f"over the run's training images); gray repeated to 3 channels; 8-bit images as stored")


def _sample(arr: np.ndarray) -> np.ndarray:
    """(values, channels) float64: a regular grid of at most about ``SAMPLE_VALUES`` pixels of (H, W, C)."""
    h, w = arr.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / SAMPLE_VALUES))))
    return arr[::step, ::step].reshape(-1, arr.shape[-1]).astype(np.float64)


@dataclass(frozen=True)
class Intensities:
    """One fixed value range (``low``..``high``) per channel, read as 0..255."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    images: int = 0  # how many training images the ranges were taken from

    @classmethod
    def from_images(cls, images: Iterable[np.ndarray]) -> "Intensities":
        """The ranges of (H, W, C) arrays as stored (``imageio.read_raw``, alpha dropped), all with the same C."""
        samples = [_sample(a) for a in images]
        if not samples:
            raise ValueError("intensity ranges need at least one image")
        if len({s.shape[1] for s in samples}) > 1:
            raise ValueError("the training images have different numbers of channels: "
                             + ", ".join(str(n) for n in sorted({s.shape[1] for s in samples})))
        values = np.concatenate(samples)
        low, high = np.percentile(values, [LOW_PERCENT, HIGH_PERCENT], axis=0)
        flat = high <= low  # a channel of (nearly) one value: its whole range, or one step above it
        high = np.where(flat, np.maximum(values.max(0), low + 1), high)
        return cls(tuple(round(float(v), 6) for v in low), tuple(round(float(v), 6) for v in high), len(samples))

    @property
    def channels(self) -> int:
        return len(self.low)

    def to_dict(self) -> dict:
        return {"how": how_text(), "low": list(self.low), "high": list(self.high), "images": self.images}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Intensities | None":
        """None for None or {} (a run whose images are 8-bit, or trained before: each image's own stretch);
        raises ValueError for a malformed entry."""
        if not d:
            return None
        try:
            low, high = [float(v) for v in d["low"]], [float(v) for v in d["high"]]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"input normalisation {d!r}: needs 'low' and 'high', one number per channel") from None
        if not low or len(low) != len(high) or any(h <= lo for lo, h in zip(low, high)):
            raise ValueError(f"input normalisation {d!r}: needs 'low' and 'high', one number per channel each, "
                             "high above low")
        return cls(tuple(low), tuple(high), int(d.get("images", 0)))

    def unit(self, arr: np.ndarray, name: str) -> np.ndarray:
        """(H, W, C) values as stored -> float32 0..1 per channel; C must be this range's channels."""
        if arr.shape[-1] != self.channels:
            raise ValueError(f"{name}: has {arr.shape[-1]} channel(s); the model was trained on images with "
                             f"{self.channels}")
        low, high = np.asarray(self.low, np.float32), np.asarray(self.high, np.float32)
        return np.clip((arr.astype(np.float32) - low) / (high - low), 0, 1)

    def to_uint8(self, arr: np.ndarray, name: str) -> np.ndarray:
        """(H, W, C) values as stored -> (H, W, C) uint8 (``how_text``)."""
        return (self.unit(arr, name) * 255 + 0.5).astype(np.uint8)
