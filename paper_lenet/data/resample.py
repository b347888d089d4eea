"""Batched helpers of the Fig. 9 preprocessings (data/preprocess.py, data/deslant.py): images as
float tensors, work in chunks, the hull of a row or column mask, and the exact box filter that
size-normalises an ink box."""

from __future__ import annotations

import numpy as np
import torch

from .idx import IMAGE_SIDE

CHUNK = 4096  # images per batched step: bounds the temporaries


def as_float(images) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected images [N,{IMAGE_SIDE},{IMAGE_SIDE}], got {tuple(x.shape)}")
    return x.to(torch.float32)


def chunked(fn, images, side: int) -> torch.Tensor:
    """fn applied to CHUNK images at a time of [N,28,28] -> float32 [N,side,side]."""
    x = as_float(images)
    out = torch.empty(len(x), side, side)
    for start in range(0, len(x), CHUNK):
        out[start : start + CHUNK] = fn(x[start : start + CHUNK])
    return out


def extent(ink: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First index and length of the True run's hull along dim 1 of ink [n,L] (blank: 0, 1)."""
    idx = torch.arange(ink.shape[1]).expand_as(ink)
    first = torch.where(ink, idx, ink.shape[1]).amin(1)
    last = torch.where(ink, idx, -1).amax(1)
    blank = last < 0
    return torch.where(blank, 0, first).double(), torch.where(blank, 1, last - first + 1).double()


def box_matrix(
    lo: torch.Tensor, size: torch.Tensor, s: torch.Tensor, n_out: int = IMAGE_SIDE, n_in: int = IMAGE_SIDE
) -> torch.Tensor:
    """[n,n_out,n_in] R with R[o,k] = s x overlap of output pixel o's footprint with input pixel k,
    for an input span [lo, lo+size) mapped to [n_out/2 - size s/2, n_out/2 + size s/2) (edge
    coordinates): each output pixel is the area average of the piecewise-constant input over its
    footprint, so the ink mass scales by exactly s (per axis), enlarging or shrinking."""
    o = torch.arange(n_out, dtype=torch.float64).view(1, n_out, 1)
    k = torch.arange(n_in, dtype=torch.float64).view(1, 1, n_in)
    lo, size, s = (t.view(-1, 1, 1) for t in (lo, size, s))
    a = lo + (o - (n_out / 2 - size * s / 2)) / s  # footprint [a, a + 1/s) in input pixels
    ov = (torch.minimum(a + 1 / s, k + 1) - torch.maximum(a, k)).clamp_(min=0)
    ov[ov < 1e-9] = 0  # float64 rounding at the box edges must not leave a faint extra pixel
    return ov * s
