"""Streaming training data: lazy reads through a bounded cache, crops from per-crop seeds, worker processes."""
import numpy as np

from seg_core import IGNORE, scan_dataset
from seg_core.data.augment import AugmentConfig
from seg_core.training.streaming import CropSet, EpochSampler, ImageCache, PairReader, crop_loader


def _loader(tiny_data, workers, seed=7, rank=0, world=1, cache_bytes=1 << 30):
    ds = scan_dataset(tiny_data)
    reader = PairReader(ds, ds.labelled, cache_bytes)
    sampler = EpochSampler(len(reader), 2, np.random.default_rng(seed), rank, world)
    return crop_loader(CropSet(reader, (32, 48), AugmentConfig(vflip=True)), sampler, workers), reader


def _epochs(loader, n):
    return [[(x.numpy().copy(), y.numpy().copy()) for x, y in loader] for _ in range(n)]


def test_two_workers_give_the_same_batches_as_the_training_process(tiny_data):
    """The same seed gives the same crops (shapes, pixels, label values) whether workers or the training
    process read and augment them, epoch after epoch."""
    inline = _epochs(_loader(tiny_data, 0)[0], 2)
    workers = _epochs(_loader(tiny_data, 2)[0], 2)
    assert len(inline) == len(workers) == 2 and len(inline[0]) == 3  # 6 images, batches of 2
    for a_epoch, b_epoch in zip(inline, workers):
        for (xa, ya), (xb, yb) in zip(a_epoch, b_epoch):
            assert xa.shape == xb.shape == (2, 32, 48, 3) and xa.dtype == np.uint8
            assert ya.shape == yb.shape == (2, 32, 48) and ya.dtype == np.int64
            assert set(np.unique(ya)) <= {0, 1, 2, IGNORE} and len(set(np.unique(ya)) - {IGNORE}) > 1  # rotated-in corners: IGNORE
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(inline[0][0][0], inline[1][0][0])  # a new epoch: new order and crops


def test_each_process_takes_its_share_of_the_same_global_batches(tiny_data):
    """Two torchrun processes (same seed) split every global batch of 2 x 2 between them: together they see
    exactly what one process with batches of 4 sees."""
    ds = scan_dataset(tiny_data)
    one = list(EpochSampler(len(ds.labelled), 4, np.random.default_rng(3)))
    r0 = list(EpochSampler(len(ds.labelled), 2, np.random.default_rng(3), rank=0, world=2))
    r1 = list(EpochSampler(len(ds.labelled), 2, np.random.default_rng(3), rank=1, world=2))
    assert len(one) == len(r0) == len(r1) == 2
    for whole, a, b in zip(one, r0, r1):
        assert whole == a + b and len(a) == len(b) == 2


def test_cache_holds_at_most_its_limit(tiny_data):
    ds = scan_dataset(tiny_data)
    pair_bytes = 64 * 64 * 3 + 64 * 64  # a 64x64 RGB image and its mask
    reader = PairReader(ds, ds.labelled, 2 * pair_bytes + 10)
    for i in [0, 1, 2, 3, 4, 5, 0, 5]:
        reader[i]
        assert reader.cache.nbytes <= reader.cache.limit and len(reader.cache) <= 2
    assert len(reader.cache) == 2 and reader.cache.hits == 1  # 5 was still kept, 0 had been dropped
    image, mask = reader[5]
    assert image.shape == (64, 64, 3) and mask.shape == (64, 64)
    none = PairReader(ds, ds.labelled, 0)  # 0: read every time, keep nothing
    none[0], none[0]
    assert len(none.cache) == 0 and none.cache.misses == 2


def test_a_pair_larger_than_the_cache_is_read_but_not_kept():
    cache = ImageCache(100)
    big = (np.zeros(80, np.uint8), np.zeros(40, np.uint8))
    assert cache.get("big", lambda: big) is big and len(cache) == 0 and cache.nbytes == 0
