"""The two preprocessings of the paper's comparison (Sec. III-C, Fig. 9): `[deslant]` and `[16x16]`.

[deslant]: the 28x28 digits "deslanted and cropped down to 20x20 pixel images. The deslanting
computes the second moments of inertia of the pixels (counting a foreground pixel as 1 and a
background pixel as 0), and shears the image by horizontally shifting the lines so that the
principal axis is vertical." We weight each pixel by its grey level (MNIST is anti-aliased; the
text gives no threshold), shear x' = x - alpha (y - y_c), alpha = mu11 / mu02 (y the row), which
makes mu11 exactly 0 in the continuous image, resample bilinearly (grid_sample, zeros outside)
and crop 20x20. Crop convention: the rows are sheared onto a canvas 8 columns wider each side
(so the shear loses no ink), and the 20x20 window is centred, to the whole pixel, on the deslanted
ink's bounding box (pixels above half a grey level). Centring on the box rather than the centre of
mass keeps the ink: on the first 1,000 training digits a centre-of-mass window cut 2.5% of it on
average (more than 5% for one digit in five), the box-centred one about 0.5%.

[16x16]: the digits "down-sampled to 16x16" and, for LeNet-1, centred in the 28x28 input field.
We scale each digit's ink bounding box (pixels > 0) so its longer side is 16 pixels, aspect kept,
with an exact box filter (each output pixel is the area average of the piecewise-constant input
over its footprint, so the ink mass scales by exactly scale^2, enlarging or shrinking), the box
centre on the field centre (13.5, 13.5).

Both are batched over the images (chunks of CHUNK) with no per-image Python work: all 70,000
MNIST digits take about 1 s per mode on one CPU thread.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..image import write_png
from .idx import IMAGE_SIDE

SIDE = {"none": IMAGE_SIDE, "deslant": 20, "16x16": IMAGE_SIDE}  # output side of each mode
CROP = 20  # [deslant] window
BOX = 16  # [16x16] longer side of the ink box
CHUNK = 4096  # images per batched step: bounds the temporaries
MARGIN = 8  # [deslant] canvas columns added each side before the crop (MNIST's shears move rows < 8 px)
INK = 0.5  # [deslant] grey level above which a resampled pixel counts as ink for the crop box


def _as_float(images) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected images [N,{IMAGE_SIDE},{IMAGE_SIDE}], got {tuple(x.shape)}")
    return x.to(torch.float32)


def moments(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Grey-weighted (mass, x_c, y_c, mu11, mu02) of float images [N,H,W], float64, y the row.
    Blank images give mass 0 and centre the field centre."""
    x = x.to(torch.float64)
    n, h, w = x.shape
    ys = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    m = x.sum((1, 2))
    safe = torch.where(m > 0, m, torch.ones_like(m))
    xc = torch.where(m > 0, (x * xs).sum((1, 2)) / safe, torch.full_like(m, (w - 1) / 2))
    yc = torch.where(m > 0, (x * ys).sum((1, 2)) / safe, torch.full_like(m, (h - 1) / 2))
    dx, dy = xs - xc.view(n, 1, 1), ys - yc.view(n, 1, 1)
    return m, xc, yc, (x * dx * dy).sum((1, 2)) / safe, (x * dy * dy).sum((1, 2)) / safe


def _deslant_chunk(x: torch.Tensor) -> torch.Tensor:
    n = len(x)
    m, xc, yc, mu11, mu02 = moments(x)
    alpha = torch.where((m > 0) & (mu02 > 0), mu11 / torch.where(mu02 > 0, mu02, 1.0), 0.0)
    # 1. shear every row onto a canvas wide enough that no ink leaves it (rows stay whole pixels)
    sy = torch.arange(IMAGE_SIDE, dtype=torch.float64).view(1, IMAGE_SIDE, 1)
    cols = torch.arange(-MARGIN, IMAGE_SIDE + MARGIN, dtype=torch.float64).view(1, 1, -1)
    sx = cols + alpha.view(n, 1, 1) * (sy - yc.view(n, 1, 1))
    grid = torch.empty(n, IMAGE_SIDE, cols.shape[-1], 2, dtype=torch.float64)  # align_corners=False frame
    grid[..., 0] = (2 * sx + 1) / IMAGE_SIDE - 1
    grid[..., 1] = (2 * sy + 1) / IMAGE_SIDE - 1
    wide = F.grid_sample(x.unsqueeze(1), grid.float(), mode="bilinear", padding_mode="zeros",
                         align_corners=False).squeeze(1).clamp_(0, 255)  # [n,28,44]
    # 2. the 20x20 window centred (to the pixel) on the deslanted ink's bounding box
    ink = wide > INK
    top, h = _extent(ink.any(2))
    left, w = _extent(ink.any(1))
    oy = torch.round(top + (h - CROP) / 2).long()
    ox = torch.round(left + (w - CROP) / 2).long()
    pad = F.pad(wide, (CROP, CROP, CROP, CROP))  # windows may reach past the canvas: zeros there
    k = torch.arange(CROP)
    rows = (oy.view(n, 1) + k + CROP).view(n, CROP, 1)
    cols_i = (ox.view(n, 1) + k + CROP).view(n, 1, CROP)
    return pad[torch.arange(n).view(n, 1, 1), rows, cols_i]


def _box_matrix(lo: torch.Tensor, size: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """[n,28,28] R with R[o,k] = s x overlap of output pixel o's footprint with input pixel k, for
    an input span [lo, lo+size) mapped to [14 - size s/2, 14 + size s/2) (edge coordinates)."""
    side = IMAGE_SIDE
    o = torch.arange(side, dtype=torch.float64).view(1, side, 1)
    k = torch.arange(side, dtype=torch.float64).view(1, 1, side)
    lo, size, s = (t.view(-1, 1, 1) for t in (lo, size, s))
    a = lo + (o - (side / 2 - size * s / 2)) / s  # footprint [a, a + 1/s) in input pixels
    ov = (torch.minimum(a + 1 / s, k + 1) - torch.maximum(a, k)).clamp_(min=0)
    ov[ov < 1e-9] = 0  # float64 rounding at the box edges must not leave a faint extra pixel
    return (ov * s).float()


def _extent(ink: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First index and length of the True run's hull along dim 1 of ink [n,L] (blank: 0, 1)."""
    idx = torch.arange(ink.shape[1]).expand_as(ink)
    first = torch.where(ink, idx, ink.shape[1]).amin(1)
    last = torch.where(ink, idx, -1).amax(1)
    blank = last < 0
    return torch.where(blank, 0, first).double(), torch.where(blank, 1, last - first + 1).double()


def _downsample_chunk(x: torch.Tensor) -> torch.Tensor:
    ink = x > 0
    top, h = _extent(ink.any(2))
    left, w = _extent(ink.any(1))
    s = BOX / torch.maximum(h, w)
    ry, rx = _box_matrix(top, h, s), _box_matrix(left, w, s)
    return ry @ x @ rx.transpose(1, 2)


def _chunked(fn, images, side: int) -> torch.Tensor:
    x = _as_float(images)
    out = torch.empty(len(x), side, side)
    for start in range(0, len(x), CHUNK):
        out[start:start + CHUNK] = fn(x[start:start + CHUNK])
    return out


def deslant(images) -> torch.Tensor:
    """[N,28,28] uint8 or float 0..255 -> float32 [N,20,20] 0..255: sheared upright, cropped."""
    return _chunked(_deslant_chunk, images, CROP)


def downsample16(images) -> torch.Tensor:
    """[N,28,28] uint8 or float 0..255 -> float32 [N,28,28]: ink box to 16 (longer side), centred."""
    return _chunked(_downsample_chunk, images, IMAGE_SIDE)


def apply(images, mode: str) -> torch.Tensor:
    """data.preprocess `mode` on [N,28,28] 0..255 images -> float32 [N,SIDE[mode],SIDE[mode]]."""
    if mode == "none":
        return _as_float(images)
    if mode == "deslant":
        return deslant(images)
    if mode == "16x16":
        return downsample16(images)
    raise ValueError(f"unknown preprocess {mode!r}; allowed: {', '.join(SIDE)}")


def save_preprocessing_grid(raw, modes, path, zoom: int = 4, gap: int = 2) -> Path:
    """A PNG with one column per image of raw [n,28,28] and one row per mode (`none` = the raw
    digit), each tile centred in a 28x28 cell, dark ink on white, enlarged `zoom` times."""
    n = len(raw)
    cell = IMAGE_SIDE + gap
    canvas = np.full((len(modes) * cell + gap, n * cell + gap), 48, np.float32)  # light grey lines
    for r, mode in enumerate(modes):
        tiles = apply(raw, mode).clamp(0, 255).numpy()
        t, off = tiles.shape[-1], (IMAGE_SIDE - tiles.shape[-1]) // 2
        for c in range(n):
            y, x = r * cell + gap, c * cell + gap
            canvas[y:y + IMAGE_SIDE, x:x + IMAGE_SIDE] = 0
            canvas[y + off:y + off + t, x + off:x + off + t] = tiles[c]
    grey = (255 - np.rint(canvas)).astype(np.uint8)
    return write_png(path, np.kron(grey, np.ones((zoom, zoom), np.uint8)))
