"""MNIST-C's 15 corruptions of the test set (Mu & Gilmer 2019, "MNIST-C: A Robustness Benchmark for
Computer Vision", arXiv:1906.02337), at MNIST-C's severities, seeded.

Written from the paper and from its code, google-research/mnist-c `corruptions.py` (commit bba57e4):
every parameter table below is that file's, and MNIST-C's severity of a corruption is the default
`severity` of its function there (the static dataset on Zenodo was made with those). Their code calls
scikit-image, OpenCV and ImageMagick (Wand); here each such call is re-written with numpy and scipy
(data/mnist_c_ops.py says which library function each one follows).

`corrupt(images, name, seed)` returns one fixed corrupted copy of `images` (uint8 (N, 28, 28) -> uint8):
a corruption draws its randomness from numpy's Generator seeded with (seed, its index in CORRUPTIONS),
so one seed gives one copy, whatever else is corrupted. Every corruption works in [0, 1] as theirs
(x / 255) and the result is stored as uint8 (x 255, rounded).
"""

from __future__ import annotations

import numpy as np

from . import mnist_c_ops as ops

# name -> (MNIST-C's severity, the 5 severities' parameters; None for the corruptions without one)
SEVERITIES = {
    "shot_noise": (5, [60, 25, 12, 5, 3]),  # Poisson photon count per unit intensity
    "impulse_noise": (4, [0.03, 0.06, 0.09, 0.17, 0.27]),  # salt-and-pepper: share of pixels flipped
    "glass_blur": (
        1,
        [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    ),  # sigma, max delta, iterations
    "motion_blur": (1, [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)]),  # ImageMagick radius, sigma
    "shear": (2, [0.2, 0.4, 0.6, 0.8, 1.0]),  # shear angle, radians, random sign
    "scale": (
        3,
        [1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5],
    ),  # inverse-map scale: the digit shrinks to 1/s
    "rotate": (2, [0.2, 0.4, 0.6, 0.8, 1.0]),  # radians, random sign
    "brightness": (5, [0.1, 0.2, 0.3, 0.4, 0.5]),  # added to HSV value (= the grey level)
    "translate": (3, [1, 2, 3, 4, 5]),  # pixels along each axis, random signs
    "stripe": (None, None),
    "fog": (5, [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)]),  # fractal weight, wibble decay
    "spatter": (
        4,
        [
            (0.65, 0.3, 4, 0.69, 0.6, 0),
            (0.65, 0.3, 3, 0.68, 0.6, 0),
            (0.65, 0.3, 2, 0.68, 0.5, 0),
            (0.65, 0.3, 1, 0.65, 1.5, 1),
            (0.67, 0.4, 1, 0.65, 1.5, 1),
        ],
    ),
    "dotted_line": (None, None),
    "zigzag": (None, None),
    "canny_edges": (None, None),
}
CORRUPTIONS = tuple(SEVERITIES)  # MNIST-C's order (its CORRUPTIONS list, without 'identity')
STRIPE_COLUMNS = (7, 21)  # stripe: columns [0, 7) and [21, 28) inverted
SPATTER_GREY = 63 / 255  # spatter's mud colour
MOTION_ANGLE = 45.0  # motion blur's direction: uniform in [-45, 45] degrees
ZIGZAG = {"a": 2.0, "b": 2.0, "c0": 2, "c1": 25}  # zigzag: half-period, amplitude, first and last column


def parameter(name: str, severity: int | None = None):
    """The corruption's parameter at `severity` (1..5; default MNIST-C's); None where it has none."""
    default, table = SEVERITIES[name]
    if table is None:
        return None
    s = default if severity is None else severity
    if not 1 <= s <= 5:
        raise ValueError(f"{name}: severity {s} is not in 1..5")
    return table[s - 1]


def shot_noise(x, rng, c):
    return np.clip(rng.poisson(x * c) / float(c), 0, 1)


def impulse_noise(x, rng, c):
    """scikit-image's random_noise(mode='s&p', amount=c): a share c of pixels flipped, half to 1, half to
    0."""
    flipped = rng.random(x.shape) < c
    salted = rng.random(x.shape) < 0.5
    out = x.copy()
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


def glass_blur(x, rng, c):
    sigma, delta, iterations = c
    y = np.uint8(ops.gaussian(x, sigma) * 255)  # truncated to 8 bits between the two blurs, as theirs
    n = len(y)
    idx = np.arange(n)
    for _ in range(iterations):
        for h in range(ops.SIDE - delta, delta, -1):
            for w in range(ops.SIDE - delta, delta, -1):
                swap = rng.random(n) < 0.5
                d = rng.integers(-delta, delta, size=(n, 2))  # randint(-delta, delta): -delta .. delta - 1
                k = idx[swap]
                hp, wp = h + d[swap, 1], w + d[swap, 0]
                a, b = y[k, h, w].copy(), y[k, hp, wp].copy()
                y[k, h, w], y[k, hp, wp] = b, a
    return np.clip(ops.gaussian(y / 255.0, sigma), 0, 1)


def motion_blur(x, rng, c):
    radius, sigma = c
    angles = rng.uniform(-MOTION_ANGLE, MOTION_ANGLE, len(x))
    out = np.stack(
        [
            ops.motion_blur(np.floor(img * 255 + 0.5), radius, sigma, a)
            for img, a in zip(x, angles, strict=False)
        ]
    )
    return np.clip(np.floor(out + 0.5), 0, 255) / 255  # ImageMagick hands back an 8-bit PNG


def _warp_each(x, mats):
    return np.clip(np.stack([ops.warp(img, m) for img, m in zip(x, mats, strict=False)]), 0, 1)


def shear(x, rng, c):
    signs = rng.choice([-1, 1], len(x))
    return _warp_each(x, [ops.about_centre(ops.affine_matrix(shear=c * s)) for s in signs])


def rotate(x, rng, c):
    signs = rng.choice([-1, 1], len(x))
    return _warp_each(x, [ops.about_centre(ops.affine_matrix(rotation=c * s)) for s in signs])


def scale(x, rng, c):
    m = ops.about_centre(ops.affine_matrix(scale=c))
    return _warp_each(x, [m] * len(x))


def translate(x, rng, c):
    bits = rng.choice([-1, 1], (len(x), 2))
    return _warp_each(x, [ops.affine_matrix(translation=(c * bx, c * by)) for bx, by in bits])


def brightness(x, rng, c):
    """Theirs goes grey -> RGB -> HSV, adds c to V, and back: for a grey pixel V is the grey level and the
    saturation 0, and rgb2gray's weights sum to 1, so the result is the grey level + c, clipped."""
    return np.clip(x + c, 0, 1)


def stripe(x, rng, c):
    out = x.copy()
    lo, hi = STRIPE_COLUMNS
    out[:, :, :lo] = 1 - out[:, :, :lo]
    out[:, :, hi:] = 1 - out[:, :, hi:]
    return out


def fog(x, rng, c):
    weight, decay = c
    out = np.empty_like(x)
    for lo in range(0, len(x), 64):  # 64 maps of 256x256 at a time
        b = x[lo : lo + 64]
        top = b.max(axis=(1, 2), keepdims=True)
        b = b + weight * ops.plasma_fractal(rng, len(b), wibbledecay=decay)[:, : ops.SIDE, : ops.SIDE]
        out[lo : lo + 64] = np.clip(b * top / (top + weight), 0, 1)
    return out


def spatter(x, rng, c):
    """The liquid (mud, grey 63) branch of ImageNet-C's spatter, MNIST-C's only one."""
    loc, scale_, sigma, threshold, sigma_m, _ = c
    liquid = ops.gaussian(rng.normal(loc, scale_, x.shape), sigma)
    liquid[liquid < threshold] = 0
    m = ops.gaussian((liquid > threshold).astype(np.float32), sigma_m)
    m[m < 0.8] = 0
    return np.clip(x * (1 - m) + SPATTER_GREY * m, 0, 1)


def dotted_line(x, rng, c):
    out = np.empty_like(x)
    dashes = (np.arange(ops.SIDE) // 2) % 2 == 0  # columns [0, 2), [4, 6), ... blanked
    for i, img in enumerate(x):
        r0, r1 = rng.integers(0, 27, size=2)
        line = ops.line_from_points(0, r0, 27, r1)
        line[:, dashes] = 0
        out[i] = np.clip(img + line, 0, 1)
    return out


def zigzag_points(r0: int, r1: int) -> np.ndarray:
    """(2, K) columns and rows of MNIST-C's zigzag from (c0, r0) towards (c1, r1): teeth of half-period a
    and amplitude b along the line, then its last point (their formula, kept as written)."""
    a, b, c0, c1 = ZIGZAG["a"], ZIGZAG["b"], ZIGZAG["c0"], ZIGZAG["c1"]
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    pts = [(0.0, 0.0)]
    r_i = 0.0
    for i in range(int((d - a) // (2 * a)) + 1):
        r_i = (-1) ** i * b
        pts.append(((2 * i + 1) * a, r_i))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        pts.append((d, r_i / (2 * (d - max_c))))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    p = rot @ np.array(pts).T
    return p + np.array([[c0], [r0]])


def zigzag(x, rng, c):
    out = np.empty_like(x)
    for i, img in enumerate(x):
        r0 = int(rng.integers(0, 27))
        r1 = r0 + int(rng.integers(-5, 5))
        cs, rs = zigzag_points(r0, r1)
        y = img.copy()
        for k in range(1, len(cs)):
            y = np.clip(y + ops.line_from_points(cs[k - 1], rs[k - 1], cs[k], rs[k]), 0, 1)
        out[i] = y
    return out


def canny_edges(x, rng, c):
    return ops.canny(x).astype(np.float64)


def corrupt(images, name: str, seed: int = 0, severity: int | None = None) -> np.ndarray:
    """One fixed corrupted copy of images (uint8 (N, 28, 28), 0..255): uint8 (N, 28, 28)."""
    if name not in SEVERITIES:
        raise ValueError(f"unknown corruption {name!r}; choose one of {', '.join(CORRUPTIONS)}")
    x = np.asarray(images)
    if x.ndim != 3 or x.shape[1:] != (ops.SIDE, ops.SIDE):
        raise ValueError(f"expected images (N, 28, 28), got {x.shape}")
    rng = np.random.default_rng([seed, CORRUPTIONS.index(name)])
    out = globals()[name](x.astype(np.float64) / 255.0, rng, parameter(name, severity))
    return np.floor(np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
