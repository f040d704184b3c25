from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_core.slides.pyramid import write_pyramid

NUCLEI = Path("/work/shared/data/nuclei-he/images")


def mosaic(height: int, width: int, glass: int = 0) -> np.ndarray:
    """(height, width, 3) uint8: real H&E tiles side by side (cut to the smallest tile's size), the last
    ``glass`` columns empty glass (near white)."""
    tiles = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(NUCLEI.glob("*.png"))]
    th, tw = min(t.shape[0] for t in tiles), min(t.shape[1] for t in tiles)
    out = np.full((height, width, 3), 242, np.uint8)
    k = 0
    for y in range(0, height, th):
        for x in range(0, width - glass, tw):
            t = tiles[k % len(tiles)][:th, :tw]
            k += 1
            out[y:y + th, x:x + tw][:, :max(0, width - glass - x)] = t[:height - y, :width - glass - x]
    return out


def write_slide(path: Path, image: np.ndarray, tile: int = 256, mpp: float | None = 0.5, levels: int = 3) -> Path:
    """``image`` as a pyramidal OME-TIFF of ``levels`` levels (each half the last), ``tile``-pixel tiles."""
    h, w = image.shape[:2]
    sizes = [(max(1, w >> i), max(1, h >> i)) for i in range(levels)]
    write_pyramid(path, lambda ys, xs: image[np.ix_(ys, xs)], sizes, tile, mpp, rgb=True, compression="jpeg")
    return path


@pytest.fixture(scope="session")
def slide_image() -> np.ndarray:
    if not NUCLEI.is_dir():
        pytest.skip("the nuclei-he images are not here")
    return mosaic(2304, 2816, glass=700)


@pytest.fixture(scope="session")
def slide_file(slide_image, tmp_path_factory) -> Path:
    """A 2816 x 2304 pyramidal OME-TIFF (3 levels, 256-pixel tiles, 0.5 µm/pixel) of real H&E tiles, its
    right part glass."""
    return write_slide(tmp_path_factory.mktemp("slides") / "biopsy.ome.tif", slide_image)


@pytest.fixture
def small_limit(monkeypatch):
    """A pixel limit of 4 megapixels: the 6.5-megapixel test slide is then a slide."""
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "4000000")
