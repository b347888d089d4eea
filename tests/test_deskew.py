"""data.preprocess deskew (data/deskew.py), against its definition (the MNIST page's deskewing: the
principal axis made vertical by shifting lines, 28x28 kept): a sheared bar comes out vertical, the
second moments of the result (mu11 = 0; mass, centre and mu02 kept) by an independent computation,
the dispatch and the picture; on real MNIST, how much ink leaves the field and how the slant drops."""

import math

import numpy as np
import pytest
import torch

from paper_lenet.config import load_config
from paper_lenet.data import download as dl
from paper_lenet.data.deskew import deskew
from paper_lenet.data.idx import find_file, load_split
from paper_lenet.data.image import read_image
from paper_lenet.data.preprocess import SIDE, apply
from paper_lenet.tools.pictures import save_preprocessing_grid

ROOT = dl.resolve_root(None)
real = pytest.mark.skipif(
    not all(find_file(ROOT, n) for n in dl.SHA256),
    reason=f"real MNIST not in {ROOT}; run `paper-lenet download`",
)


def np_moments(img: np.ndarray):
    """(mass, x_c, y_c, mu11, mu02) of one image, grey levels as weights, by explicit loops."""
    pts = [
        (y, x, float(img[y, x])) for y in range(img.shape[0]) for x in range(img.shape[1]) if img[y, x] > 0
    ]
    m = sum(w for *_, w in pts)
    yc, xc = sum(y * w for y, _, w in pts) / m, sum(x * w for _, x, w in pts) / m
    return (
        m,
        xc,
        yc,
        sum((y - yc) * (x - xc) * w for y, x, w in pts) / m,
        sum((y - yc) ** 2 * w for y, _, w in pts) / m,
    )


def sheared_bar(shear: float, width: float = 3.0) -> torch.Tensor:
    """A vertical bar of rows 5..22 (columns 12.5 +- width/2), every row shifted by shear (y - 13.5),
    drawn with exact area coverage per pixel (so its grey levels are not a threshold's)."""
    img = torch.zeros(28, 28, dtype=torch.float64)
    for y in range(5, 23):
        lo = 12.5 - width / 2 + shear * (y - 13.5) + 0.5  # pixel x covers [x, x + 1) in these units
        for x in range(28):
            img[y, x] = max(0.0, min(x + 1, lo + width) - max(x, lo))
    return img * 255


@pytest.mark.parametrize("shear", [-0.4, -0.15, 0.25, 0.5])
def test_a_sheared_bar_comes_out_vertical(shear):
    x = sheared_bar(shear)
    y = deskew(x.unsqueeze(0))[0].double()
    cols = torch.arange(28, dtype=torch.float64)
    centres = [(y[r] * cols).sum().item() / y[r].sum().item() for r in range(5, 23)]
    # every row's ink centroid on one column (the bar's centre of mass): linear interpolation moves a
    # row's centroid by exactly its shift, so only float rounding (~1e-12) and the 0..255 clamp stay
    assert max(centres) - min(centres) < 1e-6
    _, xc, *_ = np_moments(x.numpy())
    assert abs(centres[0] - xc) < 1e-6
    # the input's rows were not aligned (the shear is real), so a no-op would fail the first check
    before = [(x[r] * cols).sum().item() / x[r].sum().item() for r in range(5, 23)]
    assert max(before) - min(before) > 17 * abs(shear) - 1e-6


def test_second_moments_after_deskewing():
    """mu11 of the result is 0; mass, x_c, y_c and mu02 are the input's (rows keep their mass and only
    move sideways), each by loops over the pixels, on random blobs away from the field's edge."""
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(4, 28, 28)
    x[:, 6:22, 9:19] = torch.randint(0, 256, (4, 16, 10), generator=g).float()
    x[:, 6:22, 9:19] *= torch.rand(4, 16, 10, generator=g) < 0.5
    y = deskew(x)
    assert y.shape == (4, 28, 28) and y.dtype == torch.float32 and SIDE["deskew"] == 28
    for i in range(4):
        m0, xc0, yc0, mu11_0, mu02_0 = np_moments(x[i].numpy())
        m1, xc1, yc1, mu11_1, mu02_1 = np_moments(y[i].double().numpy())
        assert abs(mu11_0) > 0.05  # the blob had a slant to remove
        # float32 output of sums over ~160 pixels: relative agreement ~1e-6; 1e-4 leaves room and is
        # far below a wrong shear (alpha off by 1% leaves mu11 ~1e-2 mu02)
        assert abs(mu11_1) < 1e-4 * mu02_0
        assert m1 == pytest.approx(m0, rel=1e-5) and xc1 == pytest.approx(xc0, abs=1e-4)
        assert yc1 == pytest.approx(yc0, abs=1e-5) and mu02_1 == pytest.approx(mu02_0, rel=1e-5)


def test_upright_and_blank_digits_are_left_alone():
    x = torch.zeros(2, 28, 28)
    x[0, 6:22, 12:16] = 200.0  # symmetric: mu11 = 0 exactly, so alpha 0 and no row moves
    assert torch.equal(deskew(x), x)
    assert torch.equal(apply(x.to(torch.uint8), "deskew"), deskew(x.to(torch.uint8)))


def test_the_config_key_and_the_picture(tmp_path):
    cfg = load_config("fig9/pairwise", ["data.preprocess=deskew"])
    assert cfg.data.preprocess == "deskew"
    raw = sheared_bar(0.4).round().to(torch.uint8).expand(2, 28, 28).clone()
    img = read_image(save_preprocessing_grid(raw, ["none", "deskew"], tmp_path / "g.png", zoom=1))
    cell = img[2 + 30 : 30 + 30, 2:30]  # the deskew row, first digit: dark ink on white
    want = 255 - np.rint(deskew(raw[:1])[0].numpy())
    assert np.allclose(cell, want)


@real
def test_real_mnist_deskewing_keeps_the_ink_and_removes_the_slant():
    x, _ = load_split(ROOT, "train")
    x = torch.from_numpy(x[:10000].copy())
    y = deskew(x)
    kept = y.double().sum() / x.double().sum()
    # ink shifted past the 28x28 field is lost: 99.9994% kept on all 60,000 training digits (measured;
    # the worst digit 97.8%), so 0.999 leaves room; a wrong sign doubles the slant, far more ink leaves
    assert kept > 0.999
    from paper_lenet.data.deslant import slant

    before, after = slant(x.double())[0].abs().mean().item(), slant(y.double())[0].abs().mean().item()
    # measured on all 60,000: mean |alpha| 0.234 before, 3e-5 after (interpolation rounding and clipped
    # rows); 2% of before is far above that and far below any half-done shear
    assert before > 0.1 and after < 0.02 * before, (before, after)
    assert math.isfinite(after)
