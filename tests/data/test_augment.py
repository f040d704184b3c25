"""Augmentation: crops stay inside the image."""
import numpy as np


def test_crops_as_large_as_the_image_are_never_padded():
    """Zooming out is limited so the crop stays inside the image: no unlabelled border to train on."""
    from seg_core.data.augment import AugmentConfig, random_crop

    rng = np.random.default_rng(0)
    image, mask = np.zeros((40, 60, 3), np.uint8), np.ones((40, 60), np.uint8)
    for _ in range(30):
        _, m = random_crop(image, mask, (32, 60), AugmentConfig(rotate=0, scale=(0.5, 1.5)), rng)
        assert m.shape == (32, 60) and not (m == 255).any()
    small = [random_crop(image, mask, (16, 16), AugmentConfig(rotate=0, scale=(0.5, 0.5)), rng)[1] for _ in range(5)]
    assert all((m == 1).all() for m in small)  # zoomed out 2x, still inside the 40x60 image


def test_quarter_turns_turn_the_crop_exactly():
    """With quarter turns on, a crop of the whole image is the image turned (its labels with it), never padded:
    the eight orientations, for images without an up."""
    from seg_core.data.augment import AugmentConfig, random_crop

    image = np.random.default_rng(1).integers(0, 255, (60, 100, 3), dtype=np.uint8)
    mask = np.tile(np.arange(100, dtype=np.uint8) // 10, (60, 1))
    cfg = AugmentConfig(hflip=False, scale=(1.0, 1.0), rotate=0.0, colour=0.0).any_way_round()
    assert cfg.vflip and cfg.turn
    turned = 0
    for seed in range(12):
        img, m = random_crop(image, mask, (100, 60), cfg, np.random.default_rng(seed))
        assert img.shape == (100, 60, 3) and not (m == 255).any()
        if (m[0] == m[0, 0]).all():  # the image's columns run down the crop: it was turned
            turned += 1
            ways = [np.rot90(image, k) for k in (1, -1)] + [np.rot90(image, k)[::-1] for k in (1, -1)]
            assert any(np.array_equal(img, w) for w in ways)
    assert 0 < turned < 12
