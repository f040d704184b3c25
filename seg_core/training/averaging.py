"""Learning from unlabelled images: a mean teacher and confident pseudo-labels under strong augmentation.

The teacher is an exponential moving average (EMA) of the student's weights (``torch.optim.swa_utils``). Each
step it labels a weakly augmented crop of an unlabelled image (crop, scale, flip); the student sees the same
crop strongly augmented (colour jitter, blur, a cut-out box) and learns the teacher's labels where the
teacher is confident (FixMatch-style consistency). Three guards keep a few labels from being drowned:

- the unlabelled crops join only after ``PSEUDO_START`` of the run (before it the teacher has not learnt from
  the labels and its pseudo-labels are noise; those steps are plain, cheaper supervised steps), and their loss
  weight then ramps up over ``PSEUDO_RAMP`` of the run;
- the pseudo-label loss takes the run's class weights, so the teacher's confident majority class (cells,
  road, sky) does not swamp the rare ones the labels teach;
- the strong views go through the student in a pass of their own with batch-norm statistics frozen, so the
  statistics the saved model keeps are those of real-looking crops, not of the cut-out, recoloured views.

Without unlabelled images the EMA alone can still be what is validated and saved (``TrainConfig.ema``).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from seg_core.data.augment import AugmentConfig, colour_jitter, random_crop
from seg_core.data.imageio import read_image
from seg_core.base.mask_values import IGNORE

EMA_DECAY = 0.99
THRESHOLD = 0.9  # teacher confidence a pixel needs to become a pseudo-label
PSEUDO_START = 0.3  # share of the run (Schedule.progress) after which the unlabelled crops join the steps
PSEUDO_RAMP = 0.3  # share of the run over which their loss weight then rises from 0 to ``weight``
CACHE_IMAGES = 32  # decoded unlabelled images kept in memory (they are read lazily)


def ema_model(model: torch.nn.Module, decay: float = EMA_DECAY):
    """An EMA copy of ``model`` (parameters and BatchNorm statistics), updated with ``update_parameters``.

    The decay warms up as (1 + n) / (10 + n) up to ``decay`` after n updates, so a short run's average is not
    dominated by the untrained start."""
    from torch.optim.swa_utils import AveragedModel

    def average(averaged: list[torch.Tensor], current: list[torch.Tensor], n) -> None:
        n = float(n)
        d = min(decay, (1 + n) / (10 + n))
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1 - d)
        for a, c in zip(averaged, current):
            if not a.is_floating_point():  # BatchNorm's step counter
                a.copy_(c)

    ema = AveragedModel(model, multi_avg_fn=average, use_buffers=True)
    ema.eval()
    return ema


def strong_view(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric changes only (the geometry stays, so the teacher's labels still fit): strong colour
    jitter, sometimes a blur, and a cut-out box of grey."""
    out = colour_jitter(image, 0.5, rng)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.5, 1.5)))
    h, w = out.shape[:2]
    bh, bw = int(h * rng.uniform(0.15, 0.4)), int(w * rng.uniform(0.15, 0.4))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    out = out.copy()
    out[y:y + bh, x:x + bw] = 127
    return out


@dataclass
class PseudoStats:
    confident: float = 0.0  # share of unlabelled pixels that passed the threshold (last step)


class MeanTeacher:
    """Pseudo-label loss on unlabelled crops; ``teacher`` follows the student after each optimiser step."""

    def __init__(self, model: torch.nn.Module, images: list[Path], img_size: tuple[int, int],
                 augment: AugmentConfig, rng: np.random.Generator, weight: float = 1.0,
                 threshold: float = THRESHOLD, decay: float = EMA_DECAY, class_weights: torch.Tensor | None = None):
        self.teacher = ema_model(model, decay)
        self.images = list(images)
        self.img_size = img_size
        self.weak = AugmentConfig(hflip=augment.hflip, vflip=augment.vflip, scale=augment.scale,
                                  rotate=augment.rotate, colour=0.0)
        self.rng = rng
        self.weight = weight
        self.threshold = threshold
        self.class_weights = class_weights
        self.cache: OrderedDict[Path, np.ndarray] = OrderedDict()
        self.stats = PseudoStats()
        self.unreadable: list[str] = []

    def _image(self, path: Path) -> np.ndarray | None:
        if path in self.cache:
            self.cache.move_to_end(path)
            return self.cache[path]
        try:
            img = read_image(path)
        except (OSError, ValueError) as err:  # unreadable: left out from now on, named once
            self.unreadable.append(f"{path.name}: {err}")
            self.images.remove(path)
            return None
        self.cache[path] = img
        while len(self.cache) > CACHE_IMAGES:
            self.cache.popitem(last=False)
        return img

    def batch(self, n: int) -> np.ndarray | None:
        """``n`` weakly augmented crops (N, H, W, 3) uint8, or None when no unlabelled image is left."""
        crops = []
        while len(crops) < n and self.images:
            img = self._image(self.images[int(self.rng.integers(len(self.images)))])
            if img is None:
                continue
            dummy = np.zeros(img.shape[:2], np.uint8)
            crop, _ = random_crop(img, dummy, self.img_size, self.weak, self.rng)
            crops.append(crop)
        return np.stack(crops) if crops else None

    def split_inputs(self, crops: np.ndarray, device, memory_format) -> tuple[torch.Tensor, torch.Tensor]:
        """(teacher input: the weak crops, student input: their strong views), as float tensors on ``device``."""
        def t(a):
            return torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255).to(device, memory_format=memory_format)
        strong = np.stack([strong_view(c, self.rng) for c in crops])
        return t(crops), t(strong)

    @torch.no_grad()
    def pseudo_labels(self, weak: torch.Tensor, autocast_ctx) -> torch.Tensor:
        """The teacher's labels for ``weak``, IGNORE where it is less sure than the threshold."""
        with autocast_ctx:
            probs = self.teacher(weak).float().softmax(1)
        conf, labels = probs.max(1)
        labels[conf < self.threshold] = IGNORE
        self.stats.confident = float((conf >= self.threshold).float().mean())
        return labels

    def loss(self, student_logits: torch.Tensor, labels: torch.Tensor, scale: float = 1.0) -> torch.Tensor | None:
        """Cross-entropy on the confident pixels (with the class weights), times ``weight`` x ``scale``; None
        when no pixel is confident."""
        if (labels == IGNORE).all():
            return None
        w = None if self.class_weights is None else self.class_weights.to(student_logits.device)
        return self.weight * scale * F.cross_entropy(student_logits.float(), labels, weight=w, ignore_index=IGNORE)

    def update(self, student: torch.nn.Module) -> None:
        self.teacher.update_parameters(student)


def ramp(progress: float) -> float:
    """The pseudo-label loss's share of its weight at ``progress`` of the run: 0 before ``PSEUDO_START``, then
    rising linearly to 1 over ``PSEUDO_RAMP``."""
    if progress < PSEUDO_START:
        return 0.0
    return min(1.0, (progress - PSEUDO_START) / PSEUDO_RAMP) if PSEUDO_RAMP > 0 else 1.0


class frozen_norm_statistics:
    """Within it, the batch-norm layers of ``model`` that are training normalise with and keep their running
    statistics (eval mode) while gradients still flow: for a pass over views that do not look like real images."""

    def __init__(self, model: torch.nn.Module):
        self.layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training]

    def __enter__(self):
        for m in self.layers:
            m.eval()

    def __exit__(self, *exc):
        for m in self.layers:
            m.train()


class Averaging:
    """What a Trainer adds for ``TrainConfig.ema`` / ``unlabelled``: the EMA of the weights (validated and saved
    instead of the raw weights) and, with unlabelled images, the pseudo-label loss of their strong views."""

    def __init__(self, model: torch.nn.Module, unlabelled: list[Path], img_size: tuple[int, int],
                 augment: AugmentConfig, rng: np.random.Generator, batch_size: int,
                 class_weights: torch.Tensor | None = None):
        self.mean_teacher = MeanTeacher(model, unlabelled, img_size, augment, rng,
                                        class_weights=class_weights) if unlabelled else None
        self.ema = self.mean_teacher.teacher if self.mean_teacher else ema_model(model)
        self.n_unlabelled = max(1, batch_size // 2)  # unlabelled crops per step, beside the labelled batch

    @staticmethod
    def for_config(cfg, model: torch.nn.Module, labelled_stems: set[str], img_size: tuple[int, int],
                   rng: np.random.Generator, class_weights: torch.Tensor | None = None) -> "Averaging | None":
        """None unless ``cfg.ema`` or ``cfg.unlabelled``; the unlabelled images are those of ``cfg.unlabelled``
        whose stem has no mask (is not in ``labelled_stems``)."""
        if not (cfg.ema or cfg.unlabelled):
            return None
        files = []
        if cfg.unlabelled:
            from seg_core.infer.predictor import image_files

            folder = Path(cfg.unlabelled)
            if not image_files(folder) and (folder / "images").is_dir():  # a data set folder (images/, masks/)
                folder = folder / "images"
            files = [f for f in image_files(folder) if f.stem not in labelled_stems]
            if not files:
                from seg_core.data.dataset import DatasetError, Problem

                raise DatasetError([Problem(str(cfg.unlabelled), "no unlabelled images in this folder (images "
                                                                 "with a mask in the training data are labelled)")])
        return Averaging(model, files, img_size, cfg.augment, rng, cfg.batch_size, class_weights)

    def pseudo_loss(self, model: torch.nn.Module, device, autocast_ctx, progress: float) -> torch.Tensor | None:
        """This step's pseudo-label loss: with unlabelled images and once the run's ``progress`` (0..1) reached
        ``PSEUDO_START``, fresh unlabelled crops are labelled by the teacher (weak views) and their strong views
        go through ``model`` (the student itself, not a DistributedDataParallel wrapper: that would broadcast
        buffers in a forward pass other processes may not make; the gradients still join the same backward,
        hence the same all-reduce) with its batch-norm statistics frozen. None: no unlabelled crops now, or no
        confident pixel."""
        scale = ramp(progress)
        if self.mean_teacher is None or scale <= 0:
            return None
        crops = self.mean_teacher.batch(self.n_unlabelled)
        if crops is None:
            return None
        weak, strong = self.mean_teacher.split_inputs(crops, device, torch.channels_last)
        labels = self.mean_teacher.pseudo_labels(weak, autocast_ctx)
        if (labels == IGNORE).all():
            return None
        with frozen_norm_statistics(model), autocast_ctx:
            logits = model(strong)
        return self.mean_teacher.loss(logits, labels, scale)

    def update(self, model: torch.nn.Module) -> None:
        self.ema.update_parameters(model)

    @property
    def model(self) -> torch.nn.Module:
        """The averaged network (what is validated and saved)."""
        return self.ema.module
