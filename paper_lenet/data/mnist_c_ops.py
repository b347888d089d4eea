"""The image operations MNIST-C's corruptions are built from, batched over (N, 28, 28) float images in
[0, 1], with numpy and scipy only: Gaussian smoothing (scikit-image's `gaussian`), the affine warp about
the centre (scikit-image's `AffineTransform` + `warp`), ImageMagick's motion blur, the plasma fractal,
the anti-aliased line of `line_from_points`, and the Canny edge detector (scikit-image's `feature.canny`).

Each is written from google-research/mnist-c corruptions.py (commit bba57e4) and from the library it
calls, as the docstring of each says; data/mnist_c.py holds the corruptions themselves.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIDE = 28
CENTRE = 13.5  # MNIST-C keeps the pixel-centre of the 28x28 field fixed under shear, rotation, scale


def gaussian(x: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """scikit-image's `filters.gaussian` on each image of a batch (its defaults: mode nearest, truncate 4)."""
    return ndimage.gaussian_filter(np.asarray(x, np.float64), (0, sigma, sigma), mode=mode, truncate=4.0)


def affine_matrix(
    rotation: float = 0.0, shear: float = 0.0, scale: float = 1.0, translation=(0.0, 0.0)
) -> np.ndarray:
    """scikit-image 0.15's AffineTransform(scale, rotation, shear, translation) as a 3x3 matrix acting on
    (column, row, 1): [[sx cos r, -sy sin(r + shear), tx], [sx sin r, sy cos(r + shear), ty], [0, 0, 1]]."""
    return np.array(
        [
            [scale * np.cos(rotation), -scale * np.sin(rotation + shear), translation[0]],
            [scale * np.sin(rotation), scale * np.cos(rotation + shear), translation[1]],
            [0.0, 0.0, 1.0],
        ]
    )


def about_centre(m: np.ndarray) -> np.ndarray:
    """MNIST-C's recentring: the translation that keeps (13.5, 13.5) fixed under m's linear part."""
    m = m.copy()
    m[0, 2] = CENTRE * (1 - m[0, 0] - m[0, 1])
    m[1, 2] = CENTRE * (1 - m[1, 0] - m[1, 1])
    return m


def warp(img: np.ndarray, inverse_map: np.ndarray) -> np.ndarray:
    """scikit-image's warp(img, inverse_map) for one (28, 28) image: output pixel (row r, column c) is
    the input, bilinearly interpolated (order 1), at inverse_map @ (c, r, 1); pixels outside the image
    count as 0 in the interpolation (its _warp_fast, mode 'constant': scipy's 'grid-constant')."""
    rows, cols = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float64)
    src = inverse_map @ np.stack([cols.ravel(), rows.ravel(), np.ones(cols.size)])
    return ndimage.map_coordinates(img, [src[1], src[0]], order=1, mode="grid-constant", cval=0.0).reshape(
        img.shape
    )


def motion_blur(img: np.ndarray, radius: float, sigma: float, angle_deg: float) -> np.ndarray:
    """ImageMagick's MotionBlurImage (MagickCore/effect.c), which MNIST-C calls through Wand, on one
    image in 0..255: a one-sided blur along `angle` with width 2 ceil(radius) + 1 taps, tap i at offset
    (round(i cos a), round(i sin a)) (x right, y down) weighted exp(-i^2 / (2 sigma^2)), normalized; pixels
    beyond the edge repeat the edge (ImageMagick's default virtual-pixel method)."""
    width = int(2 * np.ceil(radius) + 1)
    i = np.arange(width)
    k = np.exp(-(i * i) / (2.0 * sigma * sigma))
    k /= k.sum()
    a = np.pi * angle_deg / 180.0  # DegreesToRadians; then its offsets, in its floating-point order
    px, py = width * np.sin(a), width * np.cos(a)
    h = np.hypot(px, py)
    dx = np.ceil(i * py / h - 0.5).astype(int)
    dy = np.ceil(i * px / h - 0.5).astype(int)
    pad = width
    p = np.pad(img, pad, mode="edge")
    h, w = img.shape
    out = np.zeros((h, w))
    for ki, ox, oy in zip(k, dx, dy, strict=False):
        out += ki * p[pad + oy : pad + oy + h, pad + ox : pad + ox + w]
    return out


def plasma_fractal(
    rng: np.random.Generator, n: int, mapsize: int = 256, wibbledecay: float = 3.0
) -> np.ndarray:
    """(n, mapsize, mapsize) diamond-square height maps in [0, 1]: MNIST-C's `plasma_fractal` (itself a
    modification of FLHerne/mapgen's diamondsquare.py), batched. Note its wibble enters squared:
    mean / 4 + wibble * U(-wibble, wibble), wibble 100 at first, divided by wibbledecay per level."""
    assert mapsize & (mapsize - 1) == 0
    a = np.zeros((n, mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled(arr):
        return arr / 4 + wibble * rng.uniform(-wibble, wibble, arr.shape)

    while step >= 2:
        h = step // 2
        corner = a[:, 0:mapsize:step, 0:mapsize:step]
        sq = corner + np.roll(corner, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        a[:, h:mapsize:step, h:mapsize:step] = wibbled(sq)
        dr = a[:, h:mapsize:step, h:mapsize:step]
        ul = a[:, 0:mapsize:step, 0:mapsize:step]
        lt = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2)
        a[:, 0:mapsize:step, h:mapsize:step] = wibbled(lt)
        tt = dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1)
        a[:, h:mapsize:step, 0:mapsize:step] = wibbled(tt)
        step //= 2
        wibble /= wibbledecay
    a -= a.min(axis=(1, 2), keepdims=True)
    return a / a.max(axis=(1, 2), keepdims=True)


LINE_WIDTH = 2.3  # line_from_points: intensity log(1 - d / 2.3) + 1 at vertical distance d, clipped to [0, 1]


def line_from_points(c0: float, r0: float, c1: float, r1: float) -> np.ndarray:
    """MNIST-C's anti-aliased line through (c0, r0) and (c1, r1) (column, row), as a (28, 28) image in
    [0, 1], cut to the columns floor(c0) .. ceil(c1) - 1; all zero for a vertical segment (as theirs)."""
    if c1 == c0:
        return np.zeros((SIDE, SIDE))
    cc, rr = np.meshgrid(np.arange(SIDE, dtype=np.float64), np.arange(SIDE, dtype=np.float64), sparse=True)
    m = (r1 - r0) / (c1 - c0)
    dist = np.clip(np.abs(rr - (m * (cc - c0) + r0)), 0, LINE_WIDTH - 1e-10)
    line = np.clip(np.log(1 - dist / LINE_WIDTH) + 1, 0, 1)
    line[:, : int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)) :] = 0
    return line


def _sobel(x: np.ndarray, axis: int) -> np.ndarray:
    """scipy's ndimage.sobel along image axis 1 (rows) or 2 (columns) of a batch, smoothing only along
    the other image axis (never across images); mode reflect, as ndimage's default."""
    other = 3 - axis
    d = ndimage.correlate1d(x, [-1.0, 0.0, 1.0], axis=axis, mode="reflect")
    return ndimage.correlate1d(d, [1.0, 2.0, 1.0], axis=other, mode="reflect")


# Canny's non-maximum suppression (scikit-image 0.15 feature.canny): the four gradient octants, each as
# (|di| >= |dj| or not, same sign or not), and the two neighbours interpolated on each side, (drow, dcol).
_OCTANTS = (
    (True, True, ((1, 0), (1, 1)), ((-1, 0), (-1, -1))),
    (False, True, ((0, 1), (1, 1)), ((0, -1), (-1, -1))),
    (False, False, ((0, 1), (-1, 1)), ((0, -1), (1, -1))),
    (True, False, ((-1, 0), (-1, 1)), ((1, 0), (1, -1))),
)


def _shifted(m: np.ndarray, di: int, dj: int) -> np.ndarray:
    """out[:, i, j] = m[:, i + di, j + dj] (0 beyond the edge)."""
    out = np.zeros_like(m)
    h, w = m.shape[1:]
    out[:, max(0, -di) : h - max(0, di), max(0, -dj) : w - max(0, dj)] = m[
        :, max(0, di) : h - max(0, -di), max(0, dj) : w - max(0, -dj)
    ]
    return out


def canny(x: np.ndarray, sigma: float = 1.0, low: float = 0.1, high: float = 0.2) -> np.ndarray:
    """scikit-image 0.15's feature.canny(image) with its defaults (sigma 1, thresholds 0.1 and 0.2 of a
    float image's range), batched: Gaussian smoothing (mode constant, divided by the smoothed mask), Sobel
    gradients, non-maximum suppression interpolated within each octant, the one-pixel border dropped,
    and hysteresis (8-connected weak edges kept when they touch a strong one). Boolean (N, 28, 28)."""
    x = np.asarray(x, np.float64)
    ones = np.ones_like(x)
    smoothed = gaussian(x, sigma, "constant") / (gaussian(ones, sigma, "constant") + np.finfo(float).eps)
    gi, gj = _sobel(smoothed, 1), _sobel(smoothed, 2)
    ai, aj = np.abs(gi), np.abs(gj)
    mag = np.hypot(gi, gj)
    inner = np.zeros(x.shape, bool)
    inner[:, 1:-1, 1:-1] = True
    inner &= mag > 0
    local_max = np.zeros(x.shape, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i_major, same_sign, plus, minus in _OCTANTS:
            if same_sign:
                sign = ((gi >= 0) & (gj >= 0)) | ((gi <= 0) & (gj <= 0))
            else:
                sign = ((gi <= 0) & (gj >= 0)) | ((gi >= 0) & (gj <= 0))
            pts = inner & sign & ((ai >= aj) if i_major else (ai <= aj))
            w = np.where(pts, (aj / ai) if i_major else (ai / aj), 0.0)
            ok = np.ones(x.shape, bool)
            for d1, d2 in (plus, minus):
                ok &= _shifted(mag, *d2) * w + _shifted(mag, *d1) * (1 - w) <= mag
            local_max[pts] = ok[pts]
    strong, weak = local_max & (mag >= high), local_max & (mag >= low)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True  # 8-connected within an image, never across images
    labels, count = ndimage.label(weak, structure)
    good = np.zeros(count + 1, bool)
    good[np.unique(labels[strong])] = True
    good[0] = False
    return good[labels]
