"""Colour masks and overlays for people to look at."""
from __future__ import annotations

import numpy as np

from seg_core.base.classes import UNLABELLED_COLOUR, ClassList
from seg_core.data.display import display_rgb


def colourise(mask: np.ndarray, classes: ClassList) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) RGB in class colours; other values white."""
    lut = np.array([classes.colours[i] if i < len(classes) else UNLABELLED_COLOUR for i in range(256)], np.uint8)
    return lut[mask.astype(np.uint8)]


def overlay(image: np.ndarray, mask: np.ndarray, classes: ClassList, alpha: float = 0.5,
            channels: tuple[str, ...] = ()) -> np.ndarray:
    """Blend class colours over ``image`` (uint8 RGB, or of other channels, named ``channels``: shown as their
    display composite, ``display.display_rgb``); pixels outside the classes (unlabelled) stay as they are."""
    colour = colourise(mask, classes).astype(np.float32)
    show = mask < len(classes)
    out = display_rgb(image, channels).astype(np.float32)
    out[show] = (1 - alpha) * out[show] + alpha * colour[show]
    return out.clip(0, 255).astype(np.uint8)
