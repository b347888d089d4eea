"""Virtual support vectors (Schölkopf, Burges & Vapnik 1996; the recipe behind Fig. 9's "[dist] V-SVM poly 9"
and the machine "RS-SVM poly 5" reduces): a first SVM is fitted, its support vectors are copied shifted
by one pixel in each of the 4 directions (up, down, left, right; the pixel pushed off the edge is lost,
the row or column let in is background), and a second SVM is fitted on the support vectors and their
4 copies (5 n_SV images, each keeping its label). The second machine is the one scored.

Background: pixels are in [0, 1] with 0 the background (data.scaling: unit; svm.py's configs), so the
row or column let in is 0. With another scaling the edge would need the background value instead:
`shift1` takes it as an argument.
"""

from __future__ import annotations

import math

import torch

from ..errors import UserError

SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (rows, columns): up, down, left, right by one pixel


def shift(img: torch.Tensor, dy: int, dx: int, background: float = 0.0) -> torch.Tensor:
    """(N, H, W) images moved dy rows down and dx columns right (|dy|, |dx| <= 1), the edge let in
    filled with `background`: out[r, c] = img[r - dy, c - dx] where that lies inside the image."""
    out = torch.full_like(img, background)
    h, w = img.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def shift1(x: torch.Tensor, y: torch.Tensor, side: int, background: float = 0.0):
    """(x, y) and their 4 one-pixel shifts: x (N, side*side) flattened images -> (5N, side*side),
    the originals first, then each shift of SHIFTS in turn; labels repeated alongside."""
    img = x.reshape(len(x), side, side)
    parts = [img] + [shift(img, dy, dx, background) for dy, dx in SHIFTS]
    return torch.cat(parts).reshape(-1, side * side), y.repeat(len(parts))


def image_side(d: int) -> int:
    """The side of the square images that d inputs hold (svm.virtual: shift1 moves them by a pixel)."""
    side = math.isqrt(d)
    if side * side != d:
        raise UserError(f"svm.virtual: shift1 needs square images (got {d} inputs)")
    return side
