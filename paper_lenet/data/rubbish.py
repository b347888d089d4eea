"""Rubbish: seeded sets of non-digits in MNIST's style, for the rejection the paper argues its output layer
for (Sec. II-C: the RBF head with MAP's constant j "rejects" non-characters; a sigmoid or softmax head,
it says, cannot). Six kinds, made from the training digits where they need digits (never from the test
set they are told apart from):

- noise: a smoothed random field, thresholded into blobs;
- strokes: two to four random pen strokes (quadratic curves);
- fragments: a window of one digit holding a quarter to a half of its ink;
- overlap: two digits of different classes on top of one another, offset sideways;
- letters: a letter that does not look like a digit, in the font Pillow carries (ImageFont.load_default);
- occluded: a digit with an ink-coloured block over a third to a half of its box.

Every image is then drawn as MNIST's digits were (image.to_mnist): its ink fitted to a 20x20 box (aspect
kept, anti-aliased), centred by its centre of mass in the 28x28 field, the brightest ink at 255 on a
0 background. `rubbish(name, n, seed, digits, labels)` -> uint8 (n, 28, 28); one seed, one set.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from .image import to_mnist

SIZE = 10_000  # images per rubbish set
CANVAS = 80  # strokes and letters are drawn at this side, then brought to MNIST's 20x20 box
# Letters that do not look like a digit in a sans-serif hand (no O o D Q 0, l I i 1, S s 5, Z z 2, B 8,
# G b 6, g q 9): what is left is not a character LeNet-5 has a class for.
LETTERS = "ACEFHJKMNPRTUVWXYacdefhjkmnprtuvwxy"
NEEDS_DIGITS = ("fragments", "overlap", "occluded")


def _noise(rng, digits, labels):
    f = ndimage.gaussian_filter(rng.normal(size=(28, 28)), rng.uniform(1.0, 2.5), mode="wrap")
    ink = np.clip((f - np.quantile(f, rng.uniform(0.75, 0.88))) / (f.std() + 1e-12), 0, None)
    return np.minimum(ink * 2.0, 1.0) * 255


def _strokes(rng, digits, labels):
    img = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(img)
    width = int(rng.integers(6, 11))
    for _ in range(int(rng.integers(2, 5))):
        p = rng.uniform(0, CANVAS, size=(3, 2))
        t = np.linspace(0, 1, 24)[:, None]
        curve = (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t**2 * p[2]  # a quadratic Bezier
        draw.line([tuple(q) for q in curve], fill=255, width=width, joint="curve")
    return np.asarray(img, np.float64)


def _fragments(rng, digits, labels):
    while True:
        d = digits[rng.integers(len(digits))].astype(np.float64)
        total = d.sum()
        for _ in range(20):
            h, w = rng.integers(8, 17, size=2)
            top, left = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
            frag = np.zeros_like(d)
            frag[top : top + h, left : left + w] = d[top : top + h, left : left + w]
            if 0.25 <= frag.sum() / max(total, 1.0) <= 0.5:
                return frag


def _overlap(rng, digits, labels):
    i = rng.integers(len(digits))
    j = rng.integers(len(digits))
    while labels[j] == labels[i]:
        j = rng.integers(len(digits))
    dx = int(rng.choice([-1, 1]) * rng.integers(3, 8))
    dy = int(rng.integers(-3, 4))
    shifted = ndimage.shift(digits[j].astype(np.float64), (dy, dx), order=0, mode="constant")
    return np.maximum(digits[i].astype(np.float64), shifted)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: a scalable font
    except TypeError:
        return ImageFont.load_default()


def _letters(rng, digits, labels):
    ch = LETTERS[rng.integers(len(LETTERS))]
    img = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(img).text((CANVAS // 2, CANVAS // 2), ch, fill=255, font=_font(48), anchor="mm")
    img = img.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
    a = np.asarray(img, np.float64)
    thick = int(rng.integers(1, 4))  # MNIST's pens vary: a grey dilation of 1 to 3 canvas pixels
    return ndimage.grey_dilation(a, size=(thick, thick)) if thick > 1 else a


def _occluded(rng, digits, labels):
    d = digits[rng.integers(len(digits))].astype(np.float64)
    ys, xs = np.nonzero(d > 25)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    area = (y1 - y0) * (x1 - x0)
    while True:
        h = int(rng.integers(max(2, (y1 - y0) // 3), y1 - y0 + 1))
        w = int(rng.integers(max(2, (x1 - x0) // 3), x1 - x0 + 1))
        if area / 3 <= h * w <= area / 2:
            break
    top, left = y0 + rng.integers(0, y1 - y0 - h + 1), x0 + rng.integers(0, x1 - x0 - w + 1)
    d[top : top + h, left : left + w] = 255
    return d


KINDS = {
    "noise": _noise,
    "strokes": _strokes,
    "fragments": _fragments,
    "overlap": _overlap,
    "letters": _letters,
    "occluded": _occluded,
}
RUBBISH = tuple(KINDS)


def rubbish(name: str, n: int = SIZE, seed: int = 0, digits=None, labels=None) -> np.ndarray:
    """n images of one kind (uint8 (n, 28, 28)), MNIST-style; digits (uint8 (M, 28, 28)) and their labels
    are needed by fragments, overlap and occluded (pass training digits)."""
    if name not in KINDS:
        raise ValueError(f"unknown rubbish set {name!r}; choose one of {', '.join(RUBBISH)}")
    if name in NEEDS_DIGITS and (digits is None or labels is None or len(digits) == 0):
        raise ValueError(f"rubbish set {name!r} is made from digits: pass digits and labels")
    if name == "overlap" and len(np.unique(labels)) < 2:
        raise ValueError("rubbish set 'overlap' needs digits of at least two classes")
    rng = np.random.default_rng([seed, RUBBISH.index(name)])
    out = np.empty((n, 28, 28), np.uint8)
    for i in range(n):
        out[i] = np.floor(to_mnist(KINDS[name](rng, digits, labels), name) + 0.5).astype(np.uint8)
    return out
