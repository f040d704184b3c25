"""``LivePreview``: the whole image's predicted classes after each stroke, learned from the strokes on the image
and from other labelled images (examples), on the image's cached features (``features.py``)."""
from __future__ import annotations

import math
import threading
from typing import Callable

import cv2
import numpy as np

from seg_core.assist.choice import HeldOutWeights
from seg_core.assist.classifier import FOREST_EXAMPLE_ROWS, FilterForest, LinearClassifier, PixelClassifier
from seg_core.assist.features import (DEEP_SCALES, FINE_DIMS, MAX_GRID_PIXELS, fit_projection, image_features,
                                      resize_channels)
from seg_core.base.mask_values import MAX_CLASSES, UNLABELLED, show_values
from seg_core.base.progress import Progress, Steps
from seg_core.data.imageio import stretch_to_uint8 as to_uint8

EXAMPLE_CELLS_PER_CLASS = 400  # cells sampled of each class in each example image
MAX_EXAMPLE_CELLS = 6000  # of all examples together
MAX_PAINTED_CELLS = 4000  # painted cells kept per class (a random sample of larger strokes)
PAINTED_SHARE = 0.5  # painted cells weigh at least this share of the examples' total weight
NETWORK_GRID_PIXELS = 80_000  # the network predicts on every k-th cell of the grid (both ways), at most this many,
# upsampled: its encoder features are coarse anyway, and the forest on the fine filters gives the fine detail
SKIP_BELOW = 0.01  # a classifier weighted less than this is not run on the whole image
MODEL_FLOOR = 1e-3  # a trained model's probabilities are clipped to at least this before their logarithm
MODEL_STD = 0.25  # a trained model's class probabilities, as features, are divided by this (not standardised on
# the image: a class the model never sees here would get a tiny spread, and the examples' cells huge values)


def check_image(image: np.ndarray, what: str = "the image") -> np.ndarray:
    """The image as (H, W, 3) uint8 RGB: grey (H, W) or (H, W, 1) repeated, alpha dropped, other bit depths and
    floats stretched as images are read (``seg_core.data.imageio``); anything else is a ValueError naming it."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (1, 2, 4):  # grey, grey + alpha, colour + alpha
        image = image[..., :1] if image.shape[2] < 3 else image[..., :3]
    if (image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or min(image.shape[:2], default=0) < 1
            or image.dtype.kind not in "biuf"):
        raise ValueError(f"{what} is not a grey or colour image (an array of shape {image.shape}, {image.dtype}); "
                         "suggestions need one grey or three colour channels of numbers")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(f"{what} holds NaN or infinite values; replace them (e.g. with 0)")
    image = to_uint8(image)
    if image.ndim == 2 or image.shape[2] == 1:
        image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)
    return np.ascontiguousarray(image)


def failure_message(name: str, err: Exception) -> str:
    """What to tell the user when an image's suggestions cannot be made (``err``: why), in plain words."""
    why = "there is not enough memory for it" if isinstance(err, MemoryError) else str(err).rstrip(".")
    return f"{name}: no suggestions for this image, because {why}. Painting and saving work as usual."


def check_labels(labels: np.ndarray, shape: tuple[int, int], num_classes: int, what: str = "labels") -> np.ndarray:
    """Class indices 0..num_classes-1 with 255 for unpainted pixels, the image's size; else a ValueError."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape):
        raise ValueError(f"{what}: is {labels.shape[1] if labels.ndim > 1 else '?'}x{labels.shape[0]} but the image "
                         f"is {shape[1]}x{shape[0]} (width x height); they must be the same size")
    bad = (labels != UNLABELLED) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        raise ValueError(f"{what}: holds values {show_values(np.unique(labels[bad]))}, which are neither classes "
                         f"(0..{num_classes - 1}) nor {UNLABELLED} (unpainted)")
    return labels.astype(np.uint8)


class LivePreview:
    """A live preview of one image: ``update(labels)`` returns (H, W) uint8 classes for every pixel.

    Ready at construction: the image's features (encoder stages and fine filters) and a sample of the
    examples' labelled pixels. ``model``, when given, is a trained network's class probabilities of an image
    (a callable: (H, W, 3) uint8 -> (H, W, C) float): they join the features of the image and of each example,
    and their logarithm is added to the classifier's outputs, so that it starts from the trained model's answer
    and learns from the strokes (and examples) where to correct it. Each update trains three classifiers on the
    painted pixels (weighted to hold at least ``PAINTED_SHARE`` of the examples' weight) and the example sample: a
    small MLP and a strongly regularised linear classifier on all the features, both warm-started from the last
    update, and a random forest on the fine filters; it shows their weighted mean, each weighted by how well it
    labelled the pixels painted since it was last trained (``choice.HeldOutWeights``; with examples of two images
    or more, first by how well each labels one half of the examples when trained on the other). All predict on the
    feature grid (every pixel of images up to ``MAX_GRID_PIXELS``; the MLP on a coarser grid, upsampled). Painted
    pixels keep their class.
    """

    def __init__(self, image: np.ndarray, num_classes: int, examples=(), *, scales=DEEP_SCALES,
                 grid_pixels: int = MAX_GRID_PIXELS, seed: int = 0, model: Callable | None = None,
                 progress: Progress | None = None, cancel: threading.Event | None = None):
        self.image = check_image(image)
        if not 1 <= int(num_classes) <= MAX_CLASSES:
            raise ValueError(f"num_classes must be 1..{MAX_CLASSES}, got {num_classes}")
        self.num_classes = int(num_classes)
        self.seed = seed
        self.model = model
        examples = list(examples)
        steps = Steps(progress, cancel, 1 + len(examples), "images", "preview features")
        self.features = image_features(self.image, scales, grid_pixels)
        self.projection = fit_projection(self.features.stages)
        grid = self._with_model(self.image, self.features, self.features.matrix(self.projection))
        steps.tick("this image")
        xs, ys, image_of = [], [], []
        rng = np.random.default_rng(seed)
        for n, example in enumerate(examples):  # (image, mask) or (image, mask, the file's name)
            steps.check("no preview")
            what = str(example[2]) if len(example) > 2 else f"example {n}"
            x, y = self._example_cells(check_image(example[0], what), example[1], what, (scales, grid_pixels), rng)
            xs.append(x)
            ys.append(y)
            image_of.append(np.full(len(y), n))
            steps.tick(what)
        example_x = np.concatenate(xs) if xs else np.zeros((0, grid.shape[1]), np.float32)
        self.example_y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        example_image = np.concatenate(image_of) if image_of else np.zeros(0, np.int64)  # which example
        if len(self.example_y) > MAX_EXAMPLE_CELLS:
            keep = rng.choice(len(self.example_y), MAX_EXAMPLE_CELLS, replace=False)
            example_x, self.example_y, example_image = example_x[keep], self.example_y[keep], example_image[keep]
        # standardised on this image and the examples together: a feature flat here (a grey image's colour, a
        # small image's coarsest stage) but not in the examples keeps a sensible scale
        both = np.concatenate([grid, example_x]) if len(example_x) else grid
        self.mean, self.std = both.mean(0), both.std(0) + 1e-3
        if model is not None:
            self.mean[-num_classes:], self.std[-num_classes:] = 0.0, MODEL_STD
        self.grid = (grid - self.mean) / self.std
        self.example_x = ((example_x - self.mean) / self.std).astype(np.float32)
        self.grid_prior = self.example_prior = None  # the trained model's log-probabilities, added to the outputs
        if model is not None:
            self.grid_prior, self.example_prior = (self._prior(a) for a in (self.grid, self.example_x))
        # the forest's columns: the fine filters (and a trained model's probabilities), a copy of them for speed
        deep = self.projection.dims
        forest_columns = np.r_[deep:deep + FINE_DIMS, deep + FINE_DIMS:self.grid.shape[1]]
        self.forest_grid = np.ascontiguousarray(self.grid[:, forest_columns])
        self.forest_examples = np.sort(rng.choice(len(self.example_y), min(len(self.example_y), FOREST_EXAMPLE_ROWS),
                                                  replace=False))
        self.classifier: PixelClassifier | None = None  # on all the features
        self.forest = FilterForest(forest_columns, self.num_classes, seed=seed)  # on the fine filters
        self.linear = LinearClassifier(self.grid.shape[1], self.num_classes)  # on all the features
        self.weights = HeldOutWeights(("network", "forest", "linear"), self.num_classes)
        self._trained_on: np.ndarray | None = None  # the painted (cell, class) pairs of the last fit
        self._examples_held_out(example_image)
        self.probabilities: np.ndarray | None = None  # (gh, gw, num_classes) of the last update, or None

    def _examples_held_out(self, image: np.ndarray) -> None:
        """With examples from two images or more, the first held-out check before any stroke: both classifiers
        trained on the odd examples and scored on the even ones, and the other way round."""
        if len(np.unique(image)) < 2:
            return
        for held in (0, 1):
            test, train = image % 2 == held, image % 2 != held
            if len(np.unique(self.example_y[train])) < 2:
                continue
            x, y = self.example_x[train], self.example_y[train]
            network = PixelClassifier(x.shape[1], self.num_classes, seed=self.seed)
            prior = None if self.example_prior is None else self.example_prior[train]
            network.fit(x, y, offset=prior)
            linear = LinearClassifier(x.shape[1], self.num_classes)
            linear.fit(x, y, offset=prior)
            rows = np.flatnonzero(train)
            rows = rows[np.isin(rows, self.forest_examples)]
            forest = FilterForest(self.forest.columns, self.num_classes, seed=self.seed)
            forest.fit(self.example_x[rows], self.example_y[rows])
            prior = None if self.example_prior is None else self.example_prior[test]
            test_x = self.example_x[test]
            self.weights.add({"network": network.probabilities(test_x, prior),
                              "forest": forest.probabilities(test_x[:, self.forest.columns]),
                              "linear": linear.probabilities(test_x, prior)}, self.example_y[test])

    def _example_cells(self, image, mask, what: str, how, rng) -> tuple[np.ndarray, np.ndarray]:
        """A sample of an example's labelled cells: their features (not yet standardised) and classes."""
        mask = check_labels(mask, image.shape[:2], self.num_classes, f"{what}'s mask")
        feats = image_features(image, *how)
        cells = np.arange(feats.grid_shape[0] * feats.grid_shape[1])
        values = mask[feats.cell_pixels(cells)]
        chosen = []
        for c in np.unique(values[values != UNLABELLED]):
            of_c = cells[values == c]
            chosen.append(rng.choice(of_c, min(len(of_c), EXAMPLE_CELLS_PER_CLASS), replace=False))
        chosen = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
        x = self._with_model(image, feats, feats.matrix(self.projection, chosen), chosen)
        return x.astype(np.float32), values[chosen].astype(np.int64)

    def _with_model(self, image: np.ndarray, feats, matrix: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """``matrix`` (the features of ``cells`` of ``feats``' grid, all when None) with the trained model's class
        probabilities of those cells appended, or as it is without a model."""
        if self.model is None:
            return matrix
        probs = np.asarray(self.model(image), np.float32)
        if probs.ndim != 3 or probs.shape != (*image.shape[:2], self.num_classes):
            raise ValueError(f"the trained model gave probabilities of shape {probs.shape} for an image of "
                             f"{image.shape[1]}x{image.shape[0]} and {self.num_classes} classes")
        gh, gw = feats.grid_shape
        if probs.shape[:2] != (gh, gw):
            probs = resize_channels(probs, (gh, gw), cv2.INTER_AREA)
        probs = probs.reshape(gh * gw, -1)
        if cells is not None:
            probs = probs[cells]
        return np.concatenate([matrix, probs], axis=1).astype(np.float32)

    def _prior(self, rows: np.ndarray) -> np.ndarray:
        """(N, C) log of the trained model's probabilities held in the last columns of standardised ``rows``."""
        probs = rows[:, -self.num_classes:] * MODEL_STD
        return np.log(np.clip(probs, MODEL_FLOOR, 1.0)).astype(np.float32)

    def _painted_cells(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.nonzero(labels != UNLABELLED)
        if not len(rows):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pairs = np.unique(self.features.cells(rows, cols) * MAX_CLASSES + labels[rows, cols])
        cells, classes = np.divmod(pairs, MAX_CLASSES)
        rng = np.random.default_rng(self.seed)
        keep = [np.flatnonzero(classes == c) for c in np.unique(classes)]
        keep = np.concatenate([k if len(k) <= MAX_PAINTED_CELLS else rng.choice(k, MAX_PAINTED_CELLS, replace=False)
                               for k in keep])
        return cells[keep], classes[keep]

    def update(self, labels: np.ndarray) -> np.ndarray:
        """(H, W) uint8 classes of every pixel, from ``labels`` (class indices, 255 unpainted) and the examples."""
        labels = check_labels(labels, self.image.shape[:2], self.num_classes)
        cells, classes = self._painted_cells(labels)
        known = np.union1d(classes, self.example_y)
        if len(known) <= 1 and self.model is not None:  # nothing to learn from: the trained model's classes
            self.probabilities = None
            out = self.grid[:, -self.num_classes:].argmax(1).reshape(self.features.grid_shape).astype(np.uint8)
            if out.shape != labels.shape:
                out = cv2.resize(out, labels.shape[::-1], interpolation=cv2.INTER_NEAREST)
            return np.where(labels != UNLABELLED, labels, out).astype(np.uint8)
        if len(known) <= 1:  # nothing to tell apart: that class (or background) everywhere
            self.probabilities = None
            return np.full(labels.shape, known[0] if len(known) else 0, np.uint8)
        pairs = cells * MAX_CLASSES + classes
        new = np.zeros(len(pairs), bool) if self._trained_on is None else ~np.isin(pairs, self._trained_on)
        if new.any():  # the pixels painted since the last fit (none after an undo): held out from both classifiers
            held = cells[new]
            prior = None if self.grid_prior is None else self.grid_prior[held]
            self.weights.add({"network": self.classifier.probabilities(self.grid[held], prior),
                              "forest": self.forest.probabilities(self.forest_grid[held]),
                              "linear": self.linear.probabilities(self.grid[held], prior)}, classes[new])
        x = np.concatenate([self.grid[cells], self.example_x])
        y = np.concatenate([classes, self.example_y])
        weight = np.ones(len(y), np.float32)
        if len(cells) and len(self.example_y):
            weight[:len(cells)] = max(1.0, PAINTED_SHARE * len(self.example_y) / len(cells))
        if self.classifier is None:
            self.classifier = PixelClassifier(x.shape[1], self.num_classes, seed=self.seed)
        prior = None if self.grid_prior is None else np.concatenate([self.grid_prior[cells], self.example_prior])
        self.classifier.fit(x, y, weight, offset=prior)
        rows = np.r_[np.arange(len(cells)), len(cells) + self.forest_examples]
        self.forest.fit(x[rows], y[rows], weight[rows])
        self.linear.fit(x, y, weight, offset=prior)
        self._trained_on = pairs
        share = self.weights.weights()
        gh, gw = self.features.grid_shape
        probs = np.zeros((gh * gw, self.num_classes), np.float32)
        if share["network"] >= SKIP_BELOW:
            probs += share["network"] * self._network_probabilities()
        if share["forest"] >= SKIP_BELOW:
            probs += share["forest"] * self.forest.probabilities(self.forest_grid)
        if share["linear"] >= SKIP_BELOW:
            probs += share["linear"] * self.linear.probabilities(self.grid, self.grid_prior)
        if self.model is None:  # only classes painted or in the examples (a trained model knows them all)
            probs[:, np.setdiff1d(np.arange(self.num_classes), known)] = 0
        probs = (probs / probs.sum(1, keepdims=True)).reshape(gh, gw, self.num_classes)
        self.probabilities = probs
        h, w = labels.shape
        if (gh, gw) != (h, w):
            probs = resize_channels(probs, (h, w))
        out = probs.argmax(axis=-1).astype(np.uint8)
        painted = labels != UNLABELLED
        out[painted] = labels[painted]
        return out

    def _network_probabilities(self) -> np.ndarray:
        """(gh * gw, num_classes) of the network, predicted on every k-th cell (``NETWORK_GRID_PIXELS``) and
        upsampled bilinearly."""
        gh, gw = self.features.grid_shape
        k = max(1, math.ceil(math.sqrt(gh * gw / NETWORK_GRID_PIXELS)))
        if k == 1:
            return self.classifier.probabilities(self.grid, self.grid_prior)
        cells = (np.arange(0, gh, k)[:, None] * gw + np.arange(0, gw, k)[None]).ravel()
        prior = None if self.grid_prior is None else self.grid_prior[cells]
        small = self.classifier.probabilities(self.grid[cells], prior)
        small = small.reshape(len(range(0, gh, k)), len(range(0, gw, k)), -1)
        return resize_channels(small, (gh, gw)).reshape(gh * gw, -1)

    def grid_features(self) -> np.ndarray:
        """(gh, gw, D) standardised features of the working grid (for ``region.grow_region``)."""
        return self.grid.reshape(*self.features.grid_shape, -1)

