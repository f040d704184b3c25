"""Augmentations for few images: one affine warp (scale, rotation, crop) per sample, flips, colour."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from seg_core.base.mask_values import IGNORE


# which way up the images are (TrainConfig.orientation; seg_core/training/orientation.py measures "measure"):
# each choice in a domain expert's words
ORIENTATIONS = {
    "measure": "find out from my images",
    "upright": "they have an up (street scenes, buildings, people)",
    "any": "any way round (microscopy, aerial, surfaces)",
}


@dataclass
class AugmentConfig:
    hflip: bool = True
    vflip: bool = False  # on for top-down imagery (microscopy, remote sensing), off for street scenes
    turn: bool = False  # quarter turns as well: with both flips, all eight orientations (images without an up)
    scale: tuple[float, float] = (0.75, 1.33)
    rotate: float = 10.0  # max degrees either way
    colour: float = 0.2  # brightness/contrast/saturation jitter strength

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "AugmentConfig":
        d = dict(d or {})
        if "scale" in d:
            d["scale"] = tuple(d["scale"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def any_way_round(self) -> "AugmentConfig":
        """The same, with both flips and quarter turns: all eight orientations of each crop."""
        return replace(self, vflip=True, turn=True)

    @classmethod
    def none(cls) -> "AugmentConfig":
        return cls(hflip=False, vflip=False, scale=(1.0, 1.0), rotate=0.0, colour=0.0)


def random_crop(image: np.ndarray, mask: np.ndarray, size: tuple[int, int], cfg: AugmentConfig,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A (size) crop of a randomly scaled, rotated and flipped copy; outside pixels are IGNORE."""
    h, w = image.shape[:2]
    ch, cw = size
    turned = cfg.turn and rng.random() < 0.5  # a quarter turn: the crop covers (cw, ch) source pixels
    fh, fw = (cw, ch) if turned else (ch, cw)
    # zoom out no further than the crop still falls inside the image: padded pixels teach nothing
    lo = max(cfg.scale[0], fh / h, fw / w)
    hi = max(cfg.scale[1], lo)
    s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    angle = float(rng.uniform(-cfg.rotate, cfg.rotate)) if cfg.rotate else 0.0
    angle += 90.0 if turned else 0.0
    # centre of the crop in source pixels, chosen so the crop stays mostly inside the image
    half_h, half_w = fh / (2 * s), fw / (2 * s)
    cy = rng.uniform(min(half_h, h / 2), max(h - half_h, h / 2))
    cx = rng.uniform(min(half_w, w / 2), max(w - half_w, w / 2))
    # about pixel centres (a pixel's centre at its index), so a quarter turn maps the pixel grid onto itself
    px, py = cx - 0.5, cy - 0.5
    m = cv2.getRotationMatrix2D((px, py), angle, s)
    m[0, 2] += (cw - 1) / 2 - px
    m[1, 2] += (ch - 1) / 2 - py
    img = cv2.warpAffine(image, m, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    msk = cv2.warpAffine(mask, m, (cw, ch), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=IGNORE)
    if cfg.hflip and rng.random() < 0.5:
        img, msk = img[:, ::-1], msk[:, ::-1]
    if cfg.vflip and rng.random() < 0.5:
        img, msk = img[::-1], msk[::-1]
    if cfg.colour:
        img = colour_jitter(img, cfg.colour, rng)
    return np.ascontiguousarray(img), np.ascontiguousarray(msk)


def colour_jitter(img: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    x = img.astype(np.float32)
    gray = x.mean(axis=2, keepdims=True)
    sat = 1 + rng.uniform(-strength, strength)
    x = gray + (x - gray) * sat
    contrast = 1 + rng.uniform(-strength, strength)
    x = (x - x.mean()) * contrast + x.mean()
    x = x + rng.uniform(-strength, strength) * 64
    return np.clip(x, 0, 255).astype(np.uint8)
