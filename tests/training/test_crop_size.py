"""The automatic training crop: the images' median size, smaller where the labelled objects are small."""
import numpy as np
from PIL import Image
from skimage.draw import disk

from seg_core import TrainConfig
from seg_core.base.mask_values import IGNORE
from seg_core.training.crop_size import object_statistics
from seg_core.training.training_data import load_training_data


def discs(shape, radius, step, fill=1):
    m = np.zeros(shape, np.uint8)
    for y in range(radius + 2, shape[0] - radius - 2, step):
        for x in range(radius + 2, shape[1] - radius - 2, step):
            m[disk((y, x), radius, shape=shape)] = fill
    return m


def folder(tmp_path, masks):
    for sub in ("images", "masks"):
        (tmp_path / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, m in enumerate(masks):
        Image.fromarray(rng.integers(0, 255, m.shape + (3,), dtype=np.uint8)).save(tmp_path / "images" / f"t{i}.png")
        Image.fromarray(m).save(tmp_path / "masks" / f"t{i}.png")
    return tmp_path


def test_the_typical_object_is_the_one_holding_the_median_labelled_pixel():
    small = discs((200, 200), 8, 30)  # objects 16-17 px across
    d, _ = object_statistics([small])
    assert 15 < d < 18
    big = small.copy()
    big[:150, :150] = 1  # one large region now holds most of the object pixels
    assert object_statistics([big])[0] > 100
    scribble = np.full((200, 200), IGNORE, np.uint8)
    scribble[100, 20:180] = 1  # a stroke is not an object: masks labelled only here and there do not count
    assert object_statistics([scribble]) is None


def test_many_small_objects_train_on_smaller_crops_large_or_few_ones_keep_the_image_size(tmp_path):
    cells = folder(tmp_path / "cells", [discs((480, 640), 9, 28) for _ in range(3)])  # nuclei ~19 px across
    assert load_training_data(TrainConfig(data=str(cells), out="", num_classes=2, val_fraction=0)).img_size == (256, 256)
    fields = folder(tmp_path / "fields", [discs((480, 640), 70, 160) for _ in range(3)])  # ~140 px across
    assert load_training_data(TrainConfig(data=str(fields), out="", num_classes=2, val_fraction=0)).img_size == (384, 512)
    tiles = np.ones((480, 640), np.uint8)
    tiles[::64], tiles[:, ::64] = 0, 0  # cells ~63 px across packed edge to edge, like membranes around cells
    packed = folder(tmp_path / "packed", [tiles] * 3)
    got = load_training_data(TrainConfig(data=str(packed), out="", num_classes=2, val_fraction=0)).img_size
    assert got == (256, 256)
    few = np.zeros((480, 640), np.uint8)
    for y, x in ((60, 80), (300, 500), (400, 200), (150, 420)):
        few[disk((y, x), 9, shape=few.shape)] = 1  # four small defects: most 256x256 crops would hold none
    sparse = folder(tmp_path / "sparse", [few] * 3)
    got = load_training_data(TrainConfig(data=str(sparse), out="", num_classes=2, val_fraction=0)).img_size
    assert got == (384, 512)
    near = folder(tmp_path / "near", [discs((300, 360), 9, 28) for _ in range(3)])  # 256x256 would save too little
    assert load_training_data(TrainConfig(data=str(near), out="", num_classes=2, val_fraction=0)).img_size == (288, 352)
    scribbled = [np.where(discs((480, 640), 9, 28) > 0, 1, IGNORE).astype(np.uint8) for _ in range(3)]
    scribbles = folder(tmp_path / "scribbles", scribbled)  # only the objects painted: their size is not known
    got = load_training_data(TrainConfig(data=str(scribbles), out="", num_classes=2, val_fraction=0,
                                         ignore_index=IGNORE)).img_size
    assert got == (384, 512)
