"""to_mnist's size normalisation (paper_lenet/image.py): MNIST's digits were scaled to fit a 20x20 box,
aspect ratio kept (the longer side 20 pixels) and put in a 28x28 field. Wide, tall and square ink, from
a 1x40 dash to a 40x1 bar, either polarity. Only the ink's extent is measured, never where it sits or
how a sub-pixel centring blurs its edges (the centring is pinned in test_predict.py)."""
from __future__ import annotations

import numpy as np
import pytest

from paper_lenet.image import to_mnist

# every (height, width) from 1x40 through 20x21 / 21x20 to 40x1, and squares of 1, 2, 7, 20 and 40
SHAPES = [(h, 41 - h) for h in range(1, 41)] + [(s, s) for s in (1, 2, 7, 20, 40)]


def ink_extent(field: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of the bounding box of the pixels at half the field's peak or more. A uniform
    block moved by a fraction f of a pixel (linear interpolation) spreads each edge row over two
    pixels holding f and 1 - f of it; exactly one of the two reaches half, so the extent is the block's
    own (f = 1/2 exactly: both, one pixel more). Half the peak is also far above area resampling's
    rounding."""
    ys, xs = np.nonzero(field >= 0.5 * field.max())
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


@pytest.mark.parametrize("h, w", SHAPES)
def test_the_longer_side_of_the_ink_becomes_20_pixels_whatever_the_aspect(h, w):
    img = np.zeros((h + 12, w + 12))
    img[5:5 + h, 7:7 + w] = 200.0  # light ink on a dark page, off-centre, margins of 5 to 7 pixels
    for page in (img, 255.0 - img):  # and dark ink on a light page
        field = to_mnist(page)
        assert field.shape == (28, 28) and field.max() == pytest.approx(255)
        rows, cols = ink_extent(field)
        long_side, short_side = (rows, cols) if h >= w else (cols, rows)
        # 20 pixels; one more only when a centring shift of exactly half a pixel splits both edges
        assert long_side in (20, 21), (h, w, rows, cols)
        # aspect kept: the short side is min/max x 20, rounded to a whole pixel (+-1/2), at least 1,
        # plus at most one pixel from an edge split by the centring shift (as above)
        want = max(1.0, min(h, w) * 20.0 / max(h, w))
        assert abs(short_side - want) <= 1.5, (h, w, rows, cols)
