"""Test helper: the ten digits drawn in the font Pillow carries, in MNIST's style (no MNIST needed)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from paper_lenet.data.image import to_mnist


def font_digits() -> np.ndarray:
    """The ten digits in Pillow's own font, drawn as MNIST's (20x20 box, centred by mass): (10, 28, 28)."""
    font = ImageFont.load_default(size=48)
    out = []
    for d in range(10):
        img = Image.new("L", (80, 80), 0)
        ImageDraw.Draw(img).text((40, 40), str(d), fill=255, font=font, anchor="mm")
        a = ndimage.grey_dilation(np.asarray(img, np.float64), size=(3, 3))  # MNIST's pen is about 2 px wide
        out.append(np.floor(to_mnist(a) + 0.5).astype(np.uint8))
    return np.stack(out)
