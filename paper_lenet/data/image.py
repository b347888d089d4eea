"""A user's own digit image -> a 28x28 MNIST-style field -> the tensor a config's model takes.

Files are read with Pillow: PNG of any mode and depth (palette, 1-bit, 16-bit grey, with alpha),
JPEG, BMP, TIFF, GIF (first frame), WebP where Pillow has it. Every image becomes 8-bit-range grey:
16-bit grey scaled to 0..255, alpha composited over white, colour by ITU-R 601 luma (Pillow's own
'L'). Bad files (empty, truncated, not an image, a decompression bomb, a blank page) raise
UserError naming the file.

MNIST's digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
centred by their centre of mass in a 28x28 field, light ink on a dark background (0 = background),
the box moved by whole pixels. `to_mnist` does the same to any grey image, either polarity, putting
the centre of mass where MNIST's training digits have it (MNIST_CENTRE, docs/mnist-centring.md);
transforms.Transform adds the
config's own scaling and padding. `predict` and `pretrained().transforms` share it.
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from ..errors import UserError

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".gif",
    ".webp",
    ".pgm",
    ".ppm",
    ".pbm",
    ".pnm",
)
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601-2, as Pillow's convert("L")
# Ink must differ from the background by this many grey levels (of 255): a blank page with sensor
# noise of sd 2 / 4 / 6 levels, saved as JPEG at quality 75, peaks at 7 / 15 / 19 (measured); a
# pencil stroke on a scan is several times 25.
MIN_INK = 25.0
# Where MNIST put a digit's centre of mass in its 28x28 field (row, column; pixel centres at 0..27):
# the mean over the 60,000 training digits, 13.996 and 14.007 (sd 0.29 each, so the mean is good to
# 0.002), measured by `python dev/mnist_centre.py`; docs/mnist-centring.md says how and why.
MNIST_CENTRE = (13.996, 14.007)


def read_image(path) -> np.ndarray:
    """An image file (first frame) as grey floats (H, W) in 0..255; UserError naming the file if it
    cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # over the limit: refuse, not warn
            with Image.open(path) as img:
                img.seek(0)  # GIF, TIFF: the first frame
                img.load()
                return to_grey(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UserError(f"{path}: refused, a possible decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image file (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: damaged or truncated image ({why})") from None


def to_grey(img) -> np.ndarray:
    """A Pillow image of any mode -> (H, W) float 0..255."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):  # 16-bit grey (or 32-bit int/float)
        px = np.asarray(img, np.float64)
        return px / 257.0 if img.mode.startswith("I;16") or px.max() > 255 else px  # 65535 -> 255
    if img.mode in ("1", "L", "LA") and "transparency" not in img.info:  # grey: the values as they are
        return flatten(np.asarray(img.convert("L") if img.mode == "1" else img, np.float64))
    if img.mode != "RGBA":  # palette (with transparency), colour, CMYK, ...: one path
        img = img.convert("RGBA")
    return flatten(np.asarray(img, np.float64))


def flatten(px: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) with C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA in 0..255 -> (H, W) grey,
    alpha composited over white."""
    if px.ndim == 2:
        return px
    c = px.shape[-1]
    alpha = px[..., -1] / 255.0 if c in (2, 4) else 1.0
    lum = px[..., :3] @ LUMA if c >= 3 else px[..., 0]
    return lum * alpha + 255.0 * (1 - alpha)


def read_grey(image) -> np.ndarray:
    """Any image -> (H, W) grey floats 0..255: a path, a Pillow image, a numpy array (H, W) or
    (H, W, C), a torch tensor (H, W) or (C, H, W). Float arrays whose maximum is <= 1 are taken as
    0..1 (torchvision's ToTensor), everything else as 0..255."""
    if isinstance(image, (str, Path)):
        return read_image(image)
    if hasattr(image, "getbands"):  # a Pillow image
        return to_grey(image)
    if torch.is_tensor(image):
        t = image.detach().cpu()
        while t.ndim > 3 and t.shape[0] == 1:  # (1, 1, H, W): a batch of one
            t = t[0]
        image = t.permute(1, 2, 0) if t.ndim == 3 else t  # channels first -> last
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (1, 2, 3, 4)) or arr.size == 0:
        raise UserError(
            f"expected an image (H, W) or (H, W, C<=4) (tensors (C, H, W)), got shape {arr.shape}"
        )
    px = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.integer) and px.max() <= 1.0:
        px = px * 255.0
    return flatten(px)


def to_mnist(grey: np.ndarray, name: str = "image") -> np.ndarray:
    """(H, W) grey 0..255, either polarity -> (28, 28) float 0..255, ink bright, as MNIST.
    UserError "no ink found" for a blank or uniform image."""
    g = np.asarray(grey, np.float64)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    ink = 255 - g if border.mean() > 127 else g.copy()  # dark on light: invert
    ink = np.clip(ink - np.median(border if border.mean() <= 127 else 255 - border), 0, None)
    if not ink.max() >= MIN_INK:  # NaN included
        raise UserError(
            f"{name}: no ink found (blank or uniform image: nothing differs from the "
            f"background by {MIN_INK:g} grey levels or more)"
        )
    ys, xs = np.nonzero(ink > 0.1 * ink.max())
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = 20.0 / max(crop.shape)  # the longer side to 20 pixels, aspect kept
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    small = F.interpolate(
        torch.tensor(crop)[None, None],
        size=size,
        mode="area" if scale < 1 else "bilinear",
        align_corners=None if scale < 1 else False,
    )[0, 0].numpy()
    cy, cx = ndimage.center_of_mass(small)
    top, left = place(cy, size[0], MNIST_CENTRE[0]), place(cx, size[1], MNIST_CENTRE[1])
    field = np.zeros((28, 28))
    field[top : top + size[0], left : left + size[1]] = small  # a whole-pixel move: no resampling, no blur
    return np.clip(field * 255.0 / max(field.max(), 1e-12), 0, 255)


def place(mass_centre: float, n: int, target: float) -> int:
    """The whole-pixel offset that puts a box of n pixels whose centre of mass is at mass_centre
    (from the box's first pixel) nearest to target in the 28-pixel field; the box stays inside."""
    return min(max(int(np.floor(target - mass_centre + 0.5)), 0), 28 - n)
