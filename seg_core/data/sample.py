"""The bundled sample: synthetic stained-tissue images (background, cell, nucleus) made here.

``python -m seg_core sample --out data`` regenerates ``data/`` exactly (fixed seed).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.imageio import write_index_mask, write_rgb

SAMPLE_CLASSES = ClassList(["background", "cell", "nucleus"], [(0, 0, 0), (60, 180, 75), (230, 25, 75)])
SIZE = 256


def _smooth_noise(rng, shape, scale: int) -> np.ndarray:
    small = rng.standard_normal((max(2, shape[0] // scale), max(2, shape[1] // scale))).astype(np.float32)
    return cv2.resize(small, shape[::-1], interpolation=cv2.INTER_CUBIC)


def make_image(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One RGB image (uint8) and its class-index mask."""
    h = w = size
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(7, 14))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        a, b = rng.uniform(14, 30), rng.uniform(10, 22)
        ang = rng.uniform(0, 180)
        cell = np.zeros_like(mask)
        cv2.ellipse(cell, (int(cx), int(cy)), (int(a), int(b)), ang, 0, 360, 1, -1)
        # irregular outline: perturb with smooth noise
        cell = (cv2.GaussianBlur(cell.astype(np.float32), (0, 0), 3) + 0.15 * _smooth_noise(rng, (h, w), 16)) > 0.5
        mask[cell & (mask == 0)] = 1
        nuc = np.zeros_like(mask)
        cv2.ellipse(nuc, (int(cx + rng.uniform(-4, 4)), int(cy + rng.uniform(-4, 4))),
                    (int(a * rng.uniform(0.3, 0.5)), int(b * rng.uniform(0.35, 0.55))), ang + rng.uniform(-30, 30),
                    0, 360, 1, -1)
        mask[(nuc > 0) & cell] = 2
    tissue = np.array([235, 215, 225], np.float32)
    cyto = np.array([200, 120, 175], np.float32) * rng.uniform(0.9, 1.1)
    nucleus = np.array([95, 60, 140], np.float32) * rng.uniform(0.9, 1.1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = tissue
    img[mask == 1] = cyto
    img[mask == 2] = nucleus
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    img += 18 * _smooth_noise(rng, (h, w), 32)[..., None]  # uneven staining
    img += rng.normal(0, 9, img.shape).astype(np.float32)  # camera noise
    for _ in range(int(rng.integers(10, 25))):  # debris: dark specks that are background
        cv2.circle(img, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), int(rng.integers(1, 3)),
                   (110, 80, 130), -1)
    return img.clip(0, 255).astype(np.uint8), mask


def make_sample(out: Path, labelled: int = 10, unlabelled: int = 2, seed: int = 2024) -> Path:
    """Write ``out/images``, ``out/masks``, ``out/classes.json`` and ``out/new`` (images to predict)."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    for i in range(labelled + unlabelled):
        img, mask = make_image(rng)
        if i < labelled:
            write_rgb(out / "images" / f"tissue_{i:02d}.png", img)
            write_index_mask(out / "masks" / f"tissue_{i:02d}.png", mask, SAMPLE_CLASSES)
        else:
            write_rgb(out / "new" / f"tissue_{i:02d}.png", img)
    SAMPLE_CLASSES.save(out / "classes.json")
    return out


def bundled_sample_dir() -> Path:
    """The project's ``data/`` folder."""
    return Path(__file__).resolve().parents[2] / "data"
