"""What a run trains and validates on: the checked data set, its split, the crop size, the batches.

The images themselves are not loaded here: ``streaming.py`` reads them when a crop needs them."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seg_core.data.dataset import Dataset, DatasetError, Problem, Sample, scan_dataset
from seg_core.model.network import OUTPUT_MULTIPLE
from seg_core.runs.config import TrainConfig

MAX_AUTO_SIDE = 512  # the automatic training crop is at most this many pixels a side


@dataclass
class TrainingData:
    dataset: Dataset
    train: list[Sample]  # labelled images trained on
    val: list[Sample]  # labelled images held out for validation, read from ``val_dataset``
    val_dataset: Dataset  # ``dataset``, or the separate validation folder's
    split: dict[str, list[str]]  # {"train": stems, "val": stems}
    img_size: tuple[int, int]  # training crop (H, W)

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes


def load_training_data(cfg: TrainConfig) -> TrainingData:
    """Scan and check ``cfg.data`` (and ``cfg.val_data``), split off validation, choose the crop.

    Raises DatasetError listing every problem, each naming its file."""
    ds = scan_dataset(Path(cfg.data), cfg.num_classes, cfg.ignore_index, require_masks=cfg.require_masks,
                      mask_values=cfg.mask_values)
    if ds.errors:
        raise DatasetError(ds.errors)
    train_s = ds.labelled
    if not train_s:
        raise DatasetError([Problem(str(cfg.data), "no labelled images to train on")])
    if not any(ds.class_pixels.get(s.stem, np.zeros(1)).sum() for s in train_s):
        raise DatasetError([Problem(str(cfg.data), "the masks hold no labelled pixel; paint or upload some labels")])
    val_ds = ds
    if cfg.val_data:
        val_ds = scan_dataset(Path(cfg.val_data), ds.num_classes, cfg.ignore_index, classes=ds.classes,
                              mask_values=cfg.mask_values, fallback_unlabelled=ds.ignore_index,
                              fallback_source="the training folder")
        if val_ds.errors:
            raise DatasetError(val_ds.errors)
        val_s = val_ds.labelled
    else:
        train_s, val_s = split_validation(train_s, cfg.val_fraction, cfg.seed)
    img_size = cfg.img_size or auto_img_size(ds)
    if cfg.img_size is None:
        cfg.check_crop_batch(*img_size, automatic=True)
    return TrainingData(ds, train_s, val_s, val_ds,
                        {"train": [s.stem for s in train_s], "val": [s.stem for s in val_s]}, img_size)


def split_validation(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Hold out ``fraction`` of the samples (at least 1) when there are 4 or more; else none."""
    if len(samples) < 4 or fraction <= 0:
        return samples, []
    order = list(samples)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(order) * fraction))
    return sorted(order[n_val:], key=lambda s: s.stem), sorted(order[:n_val], key=lambda s: s.stem)


def auto_img_size(ds: Dataset) -> tuple[int, int]:
    """Training crop: the median image size, capped at 512 a side, rounded down to the multiple of 32."""
    sizes = np.array(list(ds.sizes.values()) or [(256, 256)])
    h, w = np.median(sizes, axis=0)
    scale = min(1.0, MAX_AUTO_SIDE / max(h, w))
    return tuple(max(OUTPUT_MULTIPLE, int(v * scale) // OUTPUT_MULTIPLE * OUTPUT_MULTIPLE) for v in (h, w))


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of full batches of image indices in random order; images repeat to fill the last
    batch (and every batch when there are fewer images than a batch)."""
    order = rng.permutation(n)
    if n < batch_size:
        order = np.resize(order, batch_size)
    batches = []
    for b0 in range(0, len(order), batch_size):
        idx = order[b0:b0 + batch_size]
        if len(idx) < batch_size and b0 > 0:
            idx = np.concatenate([idx, rng.choice(n, batch_size - len(idx))])
        batches.append(idx)
    return batches
