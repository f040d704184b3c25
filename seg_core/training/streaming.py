"""Training data that streams: images read when a crop needs them, through a cache of bounded size,
decoded and augmented by DataLoader worker processes (or in the training process with 0 workers).

Nothing holds the whole data set: 2,000 images, or 200 images of 4096x4096, train in the memory of the
cache (``TrainConfig.cache_mb``, shared among the workers) plus the batches in flight.

Every crop is drawn from its own seed, and the seeds and the epoch's order come from the run's seeded
random generator in the training process (``EpochSampler``): a seeded run gives the same batches with 0
or several workers, and every torchrun process draws the same global batches and takes its own share.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset as TorchDataset, get_worker_info

from seg_core.data.augment import AugmentConfig, random_crop
from seg_core.data.dataset import Dataset, Sample
from seg_core.data.imageio import read_image
from seg_core.training.training_data import epoch_batches

Pair = tuple[np.ndarray, np.ndarray]  # (RGB image, label mask)
MB = 1 << 20


class ImageCache:
    """Decoded pairs, least recently used dropped first, at most ``limit`` bytes in all (0: none kept).
    A pair larger than the whole limit is read each time and never kept."""

    def __init__(self, limit: int):
        self.limit = max(0, int(limit))
        self.nbytes = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key, load: Callable[[], Pair]) -> Pair:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = load()
        size = sum(a.nbytes for a in value)
        with self._lock:
            self.misses += 1
            if size <= self.limit and key not in self._items:
                self._items[key] = value
                self.nbytes += size
                while self.nbytes > self.limit:
                    _, old = self._items.popitem(last=False)
                    self.nbytes -= sum(a.nbytes for a in old)
        return value


class PairReader:
    """A data set's (image, label mask) pairs by position in ``samples``, read when asked (masks read as
    the data set reads them: ``Dataset.load_mask``), through an ``ImageCache`` of ``cache_bytes``. ``prepare``
    readies each whole image for the network (``seg_core.data.colour``: colours evened out) before it is cached;
    ``read`` reads it (``imageio.reader``: with the run's intensity ranges)."""

    def __init__(self, dataset: Dataset, samples: list[Sample], cache_bytes: int,
                 prepare: Callable[[np.ndarray], np.ndarray] | None = None,
                 read: Callable[[object], np.ndarray] = read_image):
        self.dataset, self.samples, self.read = dataset, list(samples), read
        self.cache = ImageCache(cache_bytes)
        self.prepare = prepare

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Pair:
        s = self.samples[i]
        return self.cache.get(str(s.image), lambda: (self._image(s), self.dataset.load_mask(s)))

    def _image(self, s: Sample) -> np.ndarray:
        image = self.read(s.image)  # ``imageio.reader``: 16-bit and float images by the run's ranges
        return self.prepare(image) if self.prepare is not None else image


class CropSet(TorchDataset):
    """Training crops: item ``(i, seed)`` is a random crop (scale, rotation, flips, colour: ``augment``) of
    pair ``i``, drawn from ``seed``; as (H, W, 3) uint8 image and (H, W) uint8 labels."""

    def __init__(self, reader: PairReader, size: tuple[int, int], augment: AugmentConfig):
        self.reader, self.size, self.augment = reader, tuple(size), augment

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, key: tuple[int, int]) -> Pair:
        i, seed = key
        image, mask = self.reader[int(i)]
        return random_crop(image, mask, self.size, self.augment, np.random.default_rng(int(seed)))


class EpochSampler:
    """Batches of ``(index, seed)`` for a DataLoader: each epoch, the seeded order of ``epoch_batches`` over
    global batches of ``batch_size x world`` images, a seed drawn per crop, and this process's ``rank``-th
    share of each. Drawn lazily from ``rng`` in the training process, so every process (same seed) draws
    the same; one epoch per ``iter()``."""

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator, rank: int = 0, world: int = 1):
        self.n, self.batch_size, self.rng, self.rank, self.world = n, batch_size, rng, rank, world

    def __len__(self) -> int:
        return max(1, -(-self.n // (self.batch_size * self.world)))

    def __iter__(self):
        b = self.batch_size
        for idx in epoch_batches(self.n, b * self.world, self.rng):
            seeds = self.rng.integers(0, 2 ** 63 - 1, size=len(idx))
            share = slice(self.rank * b, (self.rank + 1) * b)
            yield list(zip(idx[share].tolist(), seeds[share].tolist()))


def collate(crops: list[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops to a batch: images (N, H, W, 3) uint8, labels (N, H, W) int64."""
    x = torch.from_numpy(np.stack([c[0] for c in crops]))
    y = torch.from_numpy(np.stack([c[1] for c in crops]).astype(np.int64))
    return x, y


def _share_cache(worker_id: int) -> None:
    """Each worker keeps its own cache: the workers and the training process (which validates) share the
    configured size evenly."""
    info = get_worker_info()
    cache = info.dataset.reader.cache
    cache.limit //= info.num_workers + 1


def crop_loader(crops: CropSet, sampler: EpochSampler, workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """A DataLoader of crop batches: ``workers`` processes read, decode and augment ahead of training
    (0: in the training process, when asked), kept alive from epoch to epoch."""
    extra = {"persistent_workers": True, "prefetch_factor": 2, "worker_init_fn": _share_cache} if workers else {}
    return DataLoader(crops, batch_sampler=sampler, num_workers=workers, collate_fn=collate,
                      pin_memory=pin_memory, **extra)
