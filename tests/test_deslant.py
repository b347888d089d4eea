"""data.deslant text (data/deslant.py): binary moments, the row shear, the size normalisation into
20x20, each against an independent computation on small inputs; real MNIST; the config key."""

import math

import numpy as np
import pytest
import torch

from paper_lenet.config import ConfigError, config_from_dict, load_config, to_dict
from paper_lenet.data import download as dl
from paper_lenet.data import mnist as M
from paper_lenet.data.deslant import deslant, deslant_grey_crop, deslant_text, moments, shear_rows, slant
from paper_lenet.data.idx import find_file

ROOT = dl.resolve_root(None)
real = pytest.mark.skipif(
    not all(find_file(ROOT, n) for n in dl.SHA256),
    reason=f"real MNIST not in {ROOT}; run `paper-lenet download`",
)


def stroke(deg: float, cx: float = 13.5, cy: float = 13.5, grey: float = 255) -> torch.Tensor:
    """A 3-pixel-wide, 18-pixel-long bar through (cx, cy), tilted `deg` from vertical (top to the right)."""
    t = math.radians(deg)
    y, x = torch.arange(28.0).view(28, 1) - cy, torch.arange(28.0).view(1, 28) - cx
    along, across = x * math.sin(t) - y * math.cos(t), x * math.cos(t) + y * math.sin(t)
    return ((along.abs() <= 9) & (across.abs() <= 1.5)).float() * grey


def np_moments(img: np.ndarray, threshold: float):
    """mu11 / mu02 and y_c of one image by explicit loops over its pixels counted 1/0."""
    pts = [(y, x) for y in range(img.shape[0]) for x in range(img.shape[1]) if img[y, x] >= threshold]
    yc = sum(p[0] for p in pts) / len(pts)
    xc = sum(p[1] for p in pts) / len(pts)
    mu11 = sum((y - yc) * (x - xc) for y, x in pts) / len(pts)
    mu02 = sum((y - yc) ** 2 for y, _ in pts) / len(pts)
    return mu11 / mu02, yc


def box(x: torch.Tensor, ink: float = 0.5):
    """(first row, last row, first col, last col) of the pixels >= ink of one image."""
    r, c = (x >= ink).any(1).nonzero(), (x >= ink).any(0).nonzero()
    return r.min().item(), r.max().item(), c.min().item(), c.max().item()


def test_binary_moments_match_loops_and_ignore_grey_levels_above_the_threshold():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (3, 28, 28), generator=g).float() * (torch.rand(3, 28, 28, generator=g) < 0.3)
    alpha, yc = slant(x, 128)
    for i in range(3):
        a, y = np_moments(x[i].numpy(), 128)
        # float64 sums of ~200 terms against Python floats: agreement to ~1e-15 relative; 1e-9 is
        # far below any real difference (a wrong centre or weight changes alpha at the 1e-2 level)
        assert abs(alpha[i].item() - a) < 1e-9 and abs(yc[i].item() - y) < 1e-9
    # any grey level >= the threshold counts 1 and any below counts 0: remapping grey levels on either
    # side of it leaves the moments exactly as they were; the grey-weighted ones change
    remapped = torch.where(x >= 128, 128 + (x - 128) // 4, x // 3)
    assert torch.equal(torch.stack(slant(remapped, 128)), torch.stack(slant(x, 128)))
    assert not torch.equal(slant(remapped)[0], slant(x)[0])
    m, *_ = moments(x, 128)
    assert torch.equal(m, (x >= 128).sum((1, 2)).double())


def test_shear_rows_is_linear_interpolation_with_zeros_outside():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 28, 28, generator=g, dtype=torch.float64) * 255
    alpha, yc = (
        torch.tensor([0.37, -1.2], dtype=torch.float64),
        torch.tensor([13.2, 9.0], dtype=torch.float64),
    )
    out = shear_rows(x, alpha, yc, 16)
    cols = np.arange(-16, 44)
    for i in range(2):
        for y in range(28):
            row = np.concatenate(
                [[0.0], x[i, y].numpy(), [0.0]]
            )  # zeros just outside, as the image's background
            want = np.interp(
                cols + alpha[i].item() * (y - yc[i].item()), np.arange(-1, 29), row, left=0, right=0
            )
            # both float64 linear interpolation: ~1e-13 grey levels apart
            assert np.allclose(out[i, y].numpy(), want, atol=1e-9)


def test_upright_blocks_are_size_normalised_exactly():
    x = torch.zeros(3, 28, 28)
    x[0, 4:14, 9:13] = 255  # 10 x 4, upright: alpha = 0; scale 2 -> 20 x 8, centred: cols 6..13
    x[1, 20:24, 3:13] = 200  # 4 x 10 -> 8 x 20, rows 6..13
    # x[2] blank
    out = deslant_text(x)
    want = torch.zeros(3, 20, 20)
    want[0, :, 6:14] = 255
    want[1, 6:14, :] = 200
    # an exact 2x enlargement by the box filter: each pixel a 2x2 block; float32 matmul of exact
    # weights (0, 1, 2 x 0.5) leaves only rounding far below one grey level
    assert torch.allclose(out, want, atol=1e-3)


def test_slanted_stroke_becomes_vertical_and_fills_the_box():
    x = torch.stack([stroke(20), stroke(-25, cx=12.2, cy=14.6), stroke(15, grey=200)])
    a0 = slant(x, 128)[0]
    assert (a0.abs() > 0.25).all()  # slanted: alpha ~ +-0.36, -0.47, 0.27
    out = deslant_text(x, 128)
    assert out.shape == (3, 20, 20) and out.dtype == torch.float32 and not torch.isnan(out).any()
    m1, _, _, mu11, mu02 = moments(out)
    # bars of one grey level: their grey moments are their binary ones, which the shear zeroes
    # exactly in the continuous image (a row shift by linear interpolation keeps each row's mass and
    # first moment). The box filter then counts each output pixel's ink at the pixel's centre, which
    # moves it by a fraction of a pixel: measured |mu11/mu02| 2.1e-4, 1.1e-4, 2.6e-5. 1e-3 allows
    # that; a wrong sign or scale of alpha leaves the input's 0.27..0.47 (or double it)
    assert ((mu11 / mu02).abs() < 1e-3).all()
    for i in range(3):
        r0, r1, c0, c1 = box(out[i])
        # the longer side is the box's 20 rows; its centre the window centre 9.5 (columns: within
        # half a pixel, a partly covered edge pixel under the 0.5 ink level on one side)
        assert (r0, r1) == (0, 19) and abs((c0 + c1) / 2 - 9.5) <= 0.5
    # ink mass: the sheared bar's rows are 18.x pixels tall with grey ends; the area-correct scale
    # multiplies the mass by s^2 with s = 20 / (its box height); checked as s^2 within float32 rounding
    wide = shear_rows(x.double(), *slant(x, 128), 16)
    h = (wide >= 0.5).any(2).sum(1).double()
    w = (wide >= 0.5).any(1).sum(1).double()
    s = 20 / torch.maximum(h, w)
    assert torch.allclose(m1, (wide.sum((1, 2)) * s**2), rtol=1e-5)


def test_deslant_dispatch_and_chunks():
    x = torch.stack([stroke(20), stroke(-10), torch.zeros(28, 28)]).to(torch.uint8)
    assert torch.equal(deslant(x, "text", 1), deslant_text(x, 1))
    # each image on its own: the batched path has no cross-image terms
    assert torch.equal(torch.cat([deslant_text(x[i : i + 1]) for i in range(3)]), deslant_text(x))
    assert deslant_text(x)[2].abs().max() == 0  # blank stays blank
    with pytest.raises(ValueError):
        deslant(x, "foo")


def test_config_key_defaults_and_saved_runs():
    assert load_config("fig9/knn-deslant").data.deslant in ("text", "grey_crop")
    saved = to_dict(load_config("fig9/knn-deslant"))
    saved["data"].pop("deslant")
    saved["data"].pop("deslant_threshold")  # a run's config.yaml from before the keys
    assert config_from_dict(saved).data.deslant == "grey_crop"
    saved["data"]["preprocess"] = "none"  # keys that mean nothing without deslant: the defaults
    assert config_from_dict(saved).data.deslant == load_config(None).data.deslant
    partial = {"model": {"arch": "knn", "input_size": 20}, "data": {"preprocess": "deslant"}}
    assert (
        config_from_dict(partial).data.deslant == load_config(None).data.deslant
    )  # a config file: the default
    with pytest.raises(ConfigError, match="deslant_threshold"):
        load_config("fig9/knn-deslant", ["data.deslant_threshold=0"])


@real
def test_real_mnist_text_deslant():
    raw = torch.from_numpy(M._load_cached(ROOT, "train")[0][:1000].copy())
    a_before = slant(raw.float(), 128)[0]
    out = deslant_text(raw, 128)
    _, _, _, mu11, mu02 = moments(out)
    # grey moments of the output: the shear zeroes the binary mu11; what remains is grey levels not
    # following the mask and re-thresholding after resampling. Measured mean |alpha|: 0.29 before
    # (binary), 0.014 after (grey); 0.05 still fails any shear of the wrong sign or scale
    assert a_before.abs().mean() > 0.2 and (mu11 / mu02).abs().mean() < 0.05
    ink = out >= 0.5
    longer = torch.maximum(ink.any(2).sum(1), ink.any(1).sum(1))
    # measured on all 70,000: 99.7% have a longer side of exactly 20; the rest lose a faint edge
    # pixel (< 0.5 grey level after resampling), 15 at the least
    assert (longer <= 20).all() and (longer == 20).float().mean() > 0.99 and (longer >= 15).all()
    assert out.min() >= 0 and out.max() <= 255


def test_moments_by_hand_and_of_a_blank_image():
    """Two pixels counted 1 at (row 5, col 3) and (9, 11): mass 2, centre (7, 7), mu11 = ((-4)(-2) + 4 x 2)
    / 2 = 8, mu02 = (4 + 4) / 2 = 4. A blank image: mass 0, the field centre (13.5, 13.5), zero moments."""
    x = torch.zeros(3, 28, 28)
    x[0, 5, 3], x[0, 9, 11] = 200, 255  # both >= 128
    x[2, 4, 20] = 130  # one pixel: its own centre, no spread
    m, xc, yc, mu11, mu02 = moments(x, 128)
    assert [t.tolist() for t in (m, xc, yc, mu11, mu02)] == [
        [2, 0, 1],
        [7, 13.5, 20],
        [7, 13.5, 4],
        [8, 0, 0],
        [4, 0, 0],
    ]


@pytest.mark.parametrize("threshold", [128, None])  # binary (text) and grey-weighted (grey_crop) moments
def test_slant_of_a_blank_image_and_of_one_flat_row_is_zero(threshold):
    """No shear where the moments give none: a blank image (mass 0) and one horizontal row (mu02 = 0); a
    thin stroke of two rows, cols 5-9 over cols 6-10, still has its slant: centre (10.5, 7.5), mu02 = 1/4,
    mu11 = (-2.5 x -0.5 + 2.5 x 0.5) / 10 = 1/4, alpha = 1."""
    x = torch.zeros(3, 28, 28)
    x[1, 10, 5:20] = 255
    x[2, 10, 5:10], x[2, 11, 6:11] = 255, 255
    alpha, yc = slant(x, threshold)
    assert alpha.tolist() == [0.0, 0.0, 1.0] and yc.tolist() == [13.5, 10.0, 10.5]


def test_grey_crop_keeps_ink_at_the_fields_edges():
    """grey_crop's canvas is the whole 28-pixel field plus MARGIN columns each side: upright bars at the
    field's left and right edges (alpha 0, no shear) are cropped whole, their ink mass kept."""
    x = torch.zeros(2, 28, 28)
    x[0, 4:24, 0:4] = 200
    x[1, 4:24, 24:28] = 200
    out = deslant_grey_crop(x)
    # bilinear sampling at pixel centres through float32 grid coordinates: ~1e-3 grey levels per pixel
    # (test_preprocess measures 2.4e-4), so 1 in a mass of 16,000 is rounding only
    assert out.sum((1, 2)).tolist() == pytest.approx([20 * 4 * 200] * 2, abs=1.0)


def test_text_ink_box_counts_pixels_of_half_a_grey_level():
    """The size normalisation's ink box holds every pixel >= MIN_INK = 0.5 (what would not round to 0 in
    8 bits): an upright 10x4 bar (alpha 0, so the shear moves nothing) plus a 0.5 dot 7 columns right of
    it makes the box 10 x 11, so the scale is 20/11, not 2; the area-exact box filter scales the ink
    mass by exactly scale^2."""
    x = torch.zeros(1, 28, 28)
    x[0, 9:19, 12:16] = 255
    x[0, 18, 22] = 0.5  # below the moments' threshold: it does not change alpha
    out = deslant_text(x)
    assert out.sum().item() == pytest.approx((40 * 255 + 0.5) * (20 / 11) ** 2, rel=1e-5)  # float32 sums
