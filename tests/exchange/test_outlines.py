"""Outlines of objects with many holes (tissue around the glass of a slide): traced and filled back exactly,
holes and islands inside holes kept."""
import numpy as np

from seg_core.exchange.outlines import fill, outline


def test_an_object_with_hundreds_of_holes_and_islands_in_them_fills_back_exactly():
    mask = np.zeros((260, 300), bool)
    mask[5:255, 5:295] = True
    rows, cols = range(10, 245, 12), range(10, 285, 12)  # 20 x 23 holes of 7 x 7 pixels
    for r in rows:
        for c in cols:
            mask[r:r + 7, c:c + 7] = False
            if (r + c) % 5 == 0:
                mask[r + 3, c + 3] = True  # an island inside the hole: a ring inside two others
    shape = outline(mask, top=40, left=100)
    assert shape.is_valid
    holes = sum(len(p.interiors) for p in getattr(shape, "geoms", [shape]))
    assert holes == len(rows) * len(cols)
    back = fill(shape, (300, 400))
    assert np.array_equal(back[40:300, 100:400], mask) and not back[:40].any() and not back[:, :100].any()
