"""Evening out colour and brightness between images (colour normalisation after Reinhard et al., 2001).

Images of one kind still differ in stain, exposure and illumination: a tile stained darker than any the model
was trained on looks to it like another tissue (on nuclei-he, one such tile was marked nucleus over half its
area). So each image, before the network sees it, is converted to CIE L*a*b* (OpenCV's 8-bit scaling), and
each channel is shifted and scaled from the image's own mean and spread to those of the training images
(``ColourReference``: their averages, kept in the run's config.json as ``colour_reference``). Shapes and
local contrast stay; a whole image's cast, brightness and contrast go. The same is done in training (to every
image before it is cropped), validation, prediction and in an exported model's predictor (the description
says how), so what the network sees never differs between them.

The scaling of a channel is kept within ``MIN_GAIN``..``MAX_GAIN``, so a nearly flat image (or the colour
channels of a grey one) is not blown up into noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

STATS_PIXELS = 1 << 20  # an image's mean and spread are taken from at most about this many pixels (a grid)
ROWS_AT_ONCE = 1024  # a large image is converted this many rows at a time (memory: a few bytes per pixel)
MIN_GAIN, MAX_GAIN = 1 / 3, 3.0  # how much a channel's spread may be scaled
MIN_STD = 1.0  # a channel's spread, in 8-bit L*a*b* units, is taken as at least this


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2LAB)


def image_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per L*a*b* channel mean and standard deviation (float64, 3 each) of an (H, W, 3) uint8 RGB image, from
    a regular grid of at most about ``STATS_PIXELS`` pixels."""
    h, w = image.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / STATS_PIXELS))))
    lab = _lab(image[::step, ::step]).reshape(-1, 3).astype(np.float64)
    return lab.mean(0), np.maximum(lab.std(0), MIN_STD)


@dataclass(frozen=True)
class ColourReference:
    """The L*a*b* mean and spread an image is brought to (the training images' averages)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    images: int = 0  # how many images it was taken from

    @classmethod
    def from_images(cls, images: Iterable[np.ndarray]) -> "ColourReference":
        """The average of the images' own means and spreads (each image counts once, whatever its size)."""
        stats = [image_stats(im) for im in images]
        if not stats:
            raise ValueError("a colour reference needs at least one image")
        mean, std = np.mean([m for m, _ in stats], 0), np.mean([s for _, s in stats], 0)
        return cls(tuple(round(float(v), 4) for v in mean), tuple(round(float(v), 4) for v in std), len(stats))

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "images": self.images}

    @classmethod
    def from_dict(cls, d: dict | None) -> "ColourReference | None":
        """None for None or {} (a run trained without evening out colours); raises ValueError for a malformed
        entry."""
        if not d:
            return None
        try:
            mean, std = [float(v) for v in d["mean"]], [float(v) for v in d["std"]]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"colour reference {d!r}: needs 'mean' and 'std', three numbers each") from None
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"colour reference {d!r}: needs 'mean' and 'std', three numbers each, std above 0")
        return cls(tuple(mean), tuple(std), int(d.get("images", 0)))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> the same image with its L*a*b* mean and spread brought to this reference's."""
        mean, std = image_stats(image)
        gain = np.clip(np.asarray(self.std) / std, MIN_GAIN, MAX_GAIN).astype(np.float32)
        offset = (np.asarray(self.mean) - mean * gain).astype(np.float32)
        out = np.empty(image.shape[:2] + (3,), np.uint8)
        for r in range(0, image.shape[0], ROWS_AT_ONCE):
            lab = _lab(image[r:r + ROWS_AT_ONCE]).astype(np.float32) * gain + offset
            out[r:r + ROWS_AT_ONCE] = cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
        return out


def how_text() -> str:
    """``ColourReference.apply`` in words, for an exported model's description (built from the constants above)."""
    return (f"before anything else, per image: convert the 8-bit RGB image to CIE L*a*b* as OpenCV does for 8-bit "
            f"images (cv2.COLOR_RGB2LAB, each channel 0..255); take each channel's mean and standard deviation "
            f"(at least {MIN_STD:g}) over the image, or over a regular grid of every k-th row and column, k = "
            f"ceil(sqrt(pixels / {STATS_PIXELS})), for a larger one; per channel, gain = std / the image's own "
            f"standard deviation, kept within {MIN_GAIN:.4g}..{MAX_GAIN:g}, then value * gain + (mean - the image's "
            f"own mean * gain), rounded and clipped to 0..255; convert back to RGB (cv2.COLOR_LAB2RGB)")


def as_is(image: np.ndarray) -> np.ndarray:
    return image


def prepare_for(reference: ColourReference | None):
    """The function that readies an image for a network trained with ``reference`` (None: the image as it is);
    picklable, for DataLoader worker processes."""
    return reference.apply if reference is not None else as_is
