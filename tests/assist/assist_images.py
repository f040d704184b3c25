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


def thin_lines(seed: int = 0, shape=(160, 160)) -> tuple[np.ndarray, np.ndarray]:
    """Dark curved lines 1-2 px wide (vessels, cracks) on a textured, unevenly lit grey ground with noise, and
    their true classes (line = 1)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = shape
    truth = np.zeros(shape, np.uint8)
    for _ in range(6):
        y, x, ang = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, 2 * np.pi)
        pts = []
        for _ in range(60):
            ang += rng.normal(0, 0.15)
            y, x = y + 2 * np.sin(ang), x + 2 * np.cos(ang)
            pts.append((int(round(x)), int(round(y))))
        cv2.polylines(truth, [np.array(pts, np.int32)], False, 1, int(rng.integers(1, 3)))
    grain = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 2.0) * 20
    yy, xx = np.mgrid[:h, :w]
    img = 130 + grain + 40 * xx / w - 50 * truth + rng.normal(0, 6, shape)
    return np.clip(img, 0, 255).astype(np.uint8), truth


def dots_on(truth: np.ndarray, n_each: int = 6, seed: int = 0) -> np.ndarray:
    """Labels of ``n_each`` small dabs (3x3, clipped to the class) on each class's pixels, at random places."""
    rng = np.random.default_rng(seed)
    labels = np.full(truth.shape, UNPAINTED, np.uint8)
    for c in (0, 1):
        ys, xs = np.nonzero(truth == c)
        for i in rng.choice(len(ys), n_each, replace=False):
            y0, x0 = max(0, ys[i] - 1), max(0, xs[i] - 1)
            patch = truth[y0:ys[i] + 2, x0:xs[i] + 2] == c
            labels[y0:ys[i] + 2, x0:xs[i] + 2][patch] = c
    return labels


def small_spots(seed: int = 0, shape=(160, 160)) -> tuple[np.ndarray, np.ndarray]:
    """Bright round spots of radius 1.5-3 px (puncta, defects) of varying brightness on a textured, unevenly lit
    grey ground with noise, and their true classes (spot = 1: where a spot is over half its peak)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    spots = np.zeros(shape, np.float32)
    truth = np.zeros(shape, np.uint8)
    for _ in range(30):
        cy, cx, r, peak = rng.uniform(4, h - 4), rng.uniform(4, w - 4), rng.uniform(1.5, 3.0), rng.uniform(40, 90)
        d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r)
        spots = np.maximum(spots, peak * np.exp(-d2 / 2))
        truth[d2 < 2 * np.log(2)] = 1
    grain = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 2.0) * 15
    img = 100 + grain + 40 * xx / w + spots + rng.normal(0, 6, shape)
    return np.clip(img, 0, 255).astype(np.uint8), truth
