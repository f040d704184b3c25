"""Small synthetic images for the assist tests: two clearly different regions, and two strokes on them."""
import numpy as np

UNPAINTED = 255


def two_regions(seed: int = 0, shape=(64, 80)) -> tuple[np.ndarray, np.ndarray]:
    """A noisy image of a blue disc on an orange textured ground, and its true classes (disc = 1)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.uint8)
    img = np.where(truth[..., None] == 1, np.array([40, 60, 200]), np.array([220, 160, 40])).astype(np.float32)
    img += 25 * np.sin(xx / 3.0)[..., None] * (truth[..., None] == 0) + rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), truth


def strokes(shape) -> np.ndarray:
    """Two short strokes: one inside the disc (class 1), one on the ground (class 0)."""
    h, w = shape
    labels = np.full(shape, UNPAINTED, np.uint8)
    labels[h // 2 - 1:h // 2 + 2, w // 2 - 6:w // 2 + 6] = 1
    labels[3:6, 4:20] = 0
    return labels
