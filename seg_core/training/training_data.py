"""What a run trains and validates on: the checked data set, its split, the crop size, the batches.

The images themselves are not loaded here: ``streaming.py`` reads them when a crop needs them."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from seg_core.data.colour import ColourReference
from seg_core.data.dataset import Dataset, DatasetError, Problem, Sample, scan_dataset
from seg_core.data.imageio import ImageReadError, colour_values, read_image, read_raw
from seg_core.data.intensities import MAX_IMAGES, Intensities
from seg_core.data.model_input import ModelInput, pick_channels
from seg_core.runs.config import ConfigError, TrainConfig
from seg_core.runs.folder import Run
from seg_core.runs.labels import LabelSnapshot
from seg_core.training.crop_size import auto_img_size

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

    def masks_here(self) -> "TrainingData":
        """The masks as this process can read them: rank 0's copies in the run folder, or on another machine
        (where that folder is not) the data folder's own."""
        for ds, samples in ((self.dataset, self.train), (self.val_dataset, self.val)):
            for s in samples:
                if s.mask is not None and not Path(s.mask).exists():
                    s.mask = ds.root / "masks" / Path(s.mask).name
        return self


def load_training_data(cfg: TrainConfig) -> TrainingData:
    """Scan and check ``cfg.data`` (and ``cfg.val_data``), split off validation, choose the crop.

    With a run folder (``cfg.out``), the masks are copied into it first (``seg_core.runs.labels``) and read
    from that copy only, so edits made while the run trains reach the next run; the copy's manifest says
    which images it trains on and holds out. Continuing a run (``cfg.init_run``) keeps that run's held-out
    images held out and its training images out of validation.

    Raises DatasetError listing every problem, each naming its file."""
    snap = LabelSnapshot(cfg.out) if cfg.out else None
    try:
        data = _load(cfg, snap)
    except BaseException:
        if snap is not None:
            snap.discard()
        raise
    if snap is not None:
        used = [(s, False, data.dataset.class_pixels.get(s.stem)) for s in data.train]
        used += [(s, True, data.val_dataset.class_pixels.get(s.stem)) for s in data.val]
        snap.finish(used, list(data.dataset.classes.names),
                    {"data": str(cfg.data), "val_data": str(cfg.val_data) if cfg.val_data else None})
    return data


def _load(cfg: TrainConfig, snap: LabelSnapshot | None) -> TrainingData:
    def masks(folder, held_out: bool = False):
        return snap.copy(Path(folder) / "masks", held_out) if snap is not None else None

    ds = scan_dataset(Path(cfg.data), cfg.num_classes, cfg.ignore_index, require_masks=cfg.require_masks,
                      mask_values=cfg.mask_values, masks_dir=masks(cfg.data))
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
                              fallback_source="the training folder", masks_dir=masks(cfg.val_data, True))
        if val_ds.errors:
            raise DatasetError(val_ds.errors)
        val_s = val_ds.labelled
    else:
        train_s, val_s = split_validation(train_s, cfg.val_fraction, cfg.seed, *earlier_split(cfg.init_run))
    img_size = cfg.img_size or auto_img_size(ds, train_s)
    if cfg.img_size is None:
        cfg.check_crop_batch(*img_size, automatic=True)
    return TrainingData(ds, train_s, val_s, val_ds,
                        {"train": [s.stem for s in train_s], "val": [s.stem for s in val_s]}, img_size)


COLOUR_IMAGES = 16  # the colour reference is taken from at most this many training images, spread over them


def _spread(n: int, k: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


def model_input(cfg: TrainConfig, data: TrainingData) -> ModelInput:
    """How the run reads its images (``seg_core.data.model_input``): the channels ``cfg.channels`` names (all by
    default) of the data's channel layout, and the fixed per-channel ranges of images stored with more than 8
    bits (``seg_core.data.intensities``: none when the training images are all 8-bit, read as stored), taken
    from up to ``MAX_IMAGES`` training images. Continuing a run, that run's (its network learned on images read
    so); one from before channels were recorded (gray or RGB) keeps its ranges, or takes them from these images.
    Raises ConfigError for channels that are not the data's, ImageReadError for an image that does not fit."""
    if cfg.init_run:
        earlier = Run(cfg.init_run).reading
        if not earlier.legacy or earlier.intensities is not None:
            return earlier
        reading = earlier
    else:
        layout = data.dataset.channels
        try:
            picks = pick_channels(cfg.channels or list(layout), layout, f"the images of {cfg.data}")
        except ValueError as err:
            raise ConfigError("channels", str(err)) from None
        reading = ModelInput(layout, picks)
    values = []
    for path in (data.train[i].image for i in _spread(len(data.train), MAX_IMAGES)):
        arr, hdr = read_raw(path)
        name = getattr(path, "name", str(path))
        try:
            values.append(reading.select(colour_values(arr, name, hdr), name))
        except ValueError as err:
            raise ImageReadError(str(err)) from None
    if all(v.dtype in (np.uint8, bool) for v in values):
        return reading
    try:
        return replace(reading, intensities=Intensities.from_images(
            v for v in values if v.dtype not in (np.uint8, bool)))
    except ValueError as err:
        raise ImageReadError(f"{cfg.data}: {err}") from None


def colour_reference(cfg: TrainConfig, data: TrainingData, reading: ModelInput) -> ColourReference | None:
    """What the run's images are brought to (``seg_core.data.colour``): None when ``cfg.even_colours`` is off
    or the network does not read 8-bit gray or RGB values (``ModelInput.photometric``: images read by fixed
    ranges, which evening out each image would undo, an empty field stretched to the others' contrast; other
    channels than colours); continuing a run that has one, that run's (its network learned on images brought
    to it); else the average of up to ``COLOUR_IMAGES`` training images."""
    if not cfg.even_colours or not reading.photometric:
        return None
    if cfg.init_run:
        earlier = Run(cfg.init_run).colour_reference
        if earlier is not None:
            return earlier
    picks = _spread(len(data.train), COLOUR_IMAGES)
    return ColourReference.from_images(read_image(data.train[i].image, intensities=reading) for i in picks)


def earlier_split(init_run: str | None) -> tuple[set[str], set[str]]:
    """(held out, trained on) by the run continued from, as its config.json records them; empty without one."""
    if not init_run:
        return set(), set()
    split = Run(init_run).settings.get("split") or {}
    return set(split.get("val") or ()), set(split.get("train") or ())


def split_validation(samples: list[Sample], fraction: float, seed: int, held_out: set[str] = frozenset(),
                     trained: set[str] = frozenset()) -> tuple[list[Sample], list[Sample]]:
    """Hold out ``fraction`` of the samples (at least 1) when there are 4 or more; else none.

    Continuing a run: images it held out (``held_out`` stems) stay held out, images it trained on
    (``trained``) are never held out, and new images make up the rest of the share, when it is short."""
    if len(samples) < 4 or fraction <= 0:
        return samples, []
    kept = [s for s in samples if s.stem in held_out]
    order = [s for s in samples if s.stem not in held_out and s.stem not in trained]
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(samples) * fraction))
    val = kept + order[:max(0, n_val - len(kept))]
    stems = {s.stem for s in val}
    return [s for s in sorted(samples, key=lambda s: s.stem) if s.stem not in stems], sorted(val, key=lambda s: s.stem)


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
