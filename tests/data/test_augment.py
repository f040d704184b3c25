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
