"""A user's own digit image -> a 28x28 MNIST-style field, for `paper-lenet predict`.

MNIST's digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
centred by their centre of mass in a 28x28 field, light ink on a dark background (0 = background).
`to_mnist` does the same to any grey or colour image, either polarity. PNG is read with zlib and
numpy only (8-bit grey, grey+alpha, RGB, RGBA; not interlaced), so no imaging library is needed.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .errors import UserError
from .rundir import atomic_write

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> channels


def _unfilter(raw: bytes, h: int, w: int, ch: int) -> np.ndarray:
    """Undo PNG's per-row filters (none, sub, up, average, Paeth), row by row."""
    stride = w * ch
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        if kind in (0, 2):  # none, up: no dependence along the row
            cur = (line + (prev if kind == 2 else 0)) & 255
        elif kind == 1:  # sub: a running sum along each channel, modulo 256
            cur = np.cumsum(line.reshape(w, ch), axis=0).reshape(-1) & 255
        elif kind in (3, 4):  # average, Paeth: each byte depends on its left neighbour (plain ints: fast)
            li, up, c = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                left = c[i - ch] if i >= ch else 0
                ul = up[i - ch] if i >= ch else 0
                if kind == 3:
                    pred = (left + up[i]) >> 1
                else:
                    p = left + up[i] - ul
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else ul)
                c[i] = (li[i] + pred) & 255
            cur = np.array(c, np.int64)
        else:
            raise ValueError(f"bad PNG filter type {kind}")
        out[y] = cur
        prev = cur
    return out.reshape(h, w, ch)


def read_png(path) -> np.ndarray:
    """An 8-bit PNG as a grey float array (H, W) in 0..255 (alpha composited on white)."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise UserError(f"{path}: not a PNG file")
    pos, idat, head = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    if head is None:
        raise UserError(f"{path}: PNG without a header")
    w, h, depth, ctype, _, _, interlace = head
    if depth != 8 or ctype not in CHANNELS or interlace:
        raise UserError(f"{path}: only 8-bit, non-interlaced grey/RGB(A) PNG is read (depth {depth}, type {ctype})")
    px = _unfilter(zlib.decompress(b"".join(idat)), h, w, CHANNELS[ctype]).astype(np.float64)
    alpha = px[..., -1:] / 255 if ctype in (4, 6) else 1.0
    rgb = px[..., :3] if ctype in (2, 6) else px[..., :1]
    grey = rgb.mean(-1, keepdims=True) * alpha + 255 * (1 - alpha)
    return grey[..., 0]


def write_png(path, grey: np.ndarray) -> Path:
    """An 8-bit greyscale PNG from a uint8 array (H, W), zlib only (no imaging library), written
    through a temporary file (never half-written)."""
    h, w = grey.shape
    rows = np.hstack([np.zeros((h, 1), np.uint8), np.asarray(grey, np.uint8)])  # filter 0 per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))
    return path


def to_mnist(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey 0..255, either polarity -> (28, 28) float 0..255, ink bright, as MNIST."""
    g = np.asarray(grey, np.float64)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    ink = 255 - g if border.mean() > 127 else g.copy()  # dark on light: invert
    ink = np.clip(ink - np.median(border if border.mean() <= 127 else 255 - border), 0, None)
    ys, xs = np.nonzero(ink > 0.1 * ink.max()) if ink.max() > 0 else (np.array([0]), np.array([0]))
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = 20.0 / max(crop.shape)  # the longer side to 20 pixels, aspect kept
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    small = F.interpolate(torch.tensor(crop)[None, None], size=size, mode="area" if scale < 1 else "bilinear",
                          align_corners=None if scale < 1 else False)[0, 0].numpy()
    field = np.zeros((28, 28))
    top, left = (28 - size[0]) // 2, (28 - size[1]) // 2
    field[top:top + size[0], left:left + size[1]] = small
    cy, cx = ndimage.center_of_mass(field)
    field = ndimage.shift(field, (13.5 - cy, 13.5 - cx), order=1, mode="constant")  # centre of mass to the middle
    return np.clip(field * 255.0 / max(field.max(), 1e-12), 0, 255)
