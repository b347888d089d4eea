"""The two preprocessings of the paper's comparison (Sec. III-C, Fig. 9): `[deslant]` and `[16x16]`,
and the MNIST page's `deskew`.

[deslant]: data/deslant.py (data.deslant: text or grey_crop), 20x20.

deskew: data/deskew.py, 28x28: the MNIST page's reading of its SVM poly 4, RS-SVM and pairwise rows.

[16x16]: the digits "down-sampled to 16x16" and, for LeNet-1, centred in the 28x28 input field.
We scale each digit's ink bounding box (pixels > 0) so its longer side is 16 pixels, aspect kept,
with an exact box filter (each output pixel is the area average of the piecewise-constant input
over its footprint, so the ink mass scales by exactly scale^2, enlarging or shrinking), the box
centre on the field centre (13.5, 13.5).

Both are batched over the images (chunks of resample.CHUNK) with no per-image Python work: all 70,000
MNIST digits take seconds per mode on one CPU thread (the text deslant about 1.5 times grey_crop).
"""

from __future__ import annotations

import torch

from .deskew import deskew
from .deslant import CROP, deslant
from .idx import IMAGE_SIDE
from .resample import as_float, box_matrix, chunked, extent

SIDE = {
    "none": IMAGE_SIDE,
    "deslant": CROP,
    "16x16": IMAGE_SIDE,
    "deskew": IMAGE_SIDE,
}  # output side of each mode
BOX = 16  # [16x16] longer side of the ink box


def _downsample_chunk(x: torch.Tensor) -> torch.Tensor:
    ink = x > 0
    top, h = extent(ink.any(2))
    left, w = extent(ink.any(1))
    s = BOX / torch.maximum(h, w)
    ry, rx = box_matrix(top, h, s).float(), box_matrix(left, w, s).float()
    return ry @ x @ rx.transpose(1, 2)


def downsample16(images) -> torch.Tensor:
    """[N,28,28] uint8 or float 0..255 -> float32 [N,28,28]: ink box to 16 (longer side), centred."""
    return chunked(_downsample_chunk, images, IMAGE_SIDE)


def apply(images, mode: str, variant: str = "text", threshold: float = 128) -> torch.Tensor:
    """data.preprocess `mode` on [N,28,28] 0..255 images -> float32 [N,SIDE[mode],SIDE[mode]];
    variant and threshold: data.deslant and data.deslant_threshold (mode deslant only)."""
    if mode == "none":
        return as_float(images)
    if mode == "deslant":
        return deslant(images, variant, threshold)
    if mode == "16x16":
        return downsample16(images)
    if mode == "deskew":
        return deskew(images)
    raise ValueError(f"unknown preprocess {mode!r}; allowed: {', '.join(SIDE)}")
