"""Fig. 9's preprocessings (data.preprocess: deslant, 16x16): geometry on synthetic strokes, the
wiring into load_mnist and the distorted passes, real MNIST, and `show-preprocessing`."""

import dataclasses
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

from paper_lenet.config import DataConfig
from paper_lenet.data import distort as D
from paper_lenet.data import download as dl
from paper_lenet.data import mnist as M
from paper_lenet.data.deslant import deslant_grey_crop, deslant_text, moments
from paper_lenet.data.idx import find_file
from paper_lenet.data.image import read_image
from paper_lenet.data.preprocess import SIDE, apply, downsample16
from paper_lenet.data.resample import extent
from paper_lenet.errors import DataError
from paper_lenet.paper import LECUN_LO
from paper_lenet.tools.pictures import save_preprocessing_grid

ROOT = dl.resolve_root(None)
real = pytest.mark.skipif(
    not all(find_file(ROOT, n) for n in dl.SHA256),
    reason=f"real MNIST not in {ROOT}; run `paper-lenet download`",
)


def stroke(deg: float, cx: float = 13.5, cy: float = 13.5) -> torch.Tensor:
    """A 3-pixel-wide, 18-pixel-long bar through (cx, cy), tilted `deg` from vertical (top to the right)."""
    t = math.radians(deg)
    y, x = torch.arange(28.0).view(28, 1) - cy, torch.arange(28.0).view(1, 28) - cx
    along, across = x * math.sin(t) - y * math.cos(t), x * math.cos(t) + y * math.sin(t)
    return ((along.abs() <= 9) & (across.abs() <= 1.5)).float() * 255


def ink_box(x: torch.Tensor):
    """(first row, last row, first col, last col) of the pixels > 0 of each image [N,H,W]."""
    out = []
    for a in (x > 0).any(2), (x > 0).any(1):
        idx = torch.arange(a.shape[1]).expand_as(a)
        out += [torch.where(a, idx, 99).amin(1), torch.where(a, idx, -1).amax(1)]
    return out


def test_grey_crop_slanted_stroke_becomes_vertical():
    x = torch.stack([stroke(20), stroke(-20, cx=12.2, cy=14.6), torch.zeros(28, 28)])
    m0, _, _, mu11_0, mu02_0 = moments(x)
    assert (mu11_0[:2] / mu02_0[:2]).abs().min() > 0.3  # the input is slanted (alpha ~ +-0.34)
    out = deslant_grey_crop(x)
    assert out.shape == (3, 20, 20) and out.dtype == torch.float32 and not torch.isnan(out).any()
    m1, xc, yc, mu11_1, _ = moments(out)
    # A horizontal shift by linear interpolation keeps each row's mass and first moment exactly
    # (the hat kernel has mean 0), so the shear zeroes mu11 up to float32 rounding (~1e-7 measured);
    # 1e-4 leaves room for rounding, while a wrong sign or scale of alpha leaves a ratio of order 1.
    assert ((mu11_1[:2] / mu11_0[:2]).abs() < 1e-4).all()
    # ink mass: the stroke stays inside the 20x20 window, so only float32 rounding (~1e-7) changes it
    assert torch.allclose(m1[:2], m0[:2], rtol=1e-5)
    # crop convention: the ink box's centre within half a pixel (the rounding to whole pixels) of
    # the window centre 9.5
    r0, r1, c0, c1 = ink_box(torch.where(out[:2] > 0.5, out[:2], 0))
    assert (((r0 + r1) / 2 - 9.5).abs() <= 0.5).all() and (((c0 + c1) / 2 - 9.5).abs() <= 0.5).all()
    assert out[2].abs().max() == 0  # blank stays blank


def test_grey_crop_upright_digit_is_an_exact_crop():
    x = torch.zeros(2, 28, 28)
    x[0, 6:22, 11:15] = 150  # a bar and a fainter box, both symmetric: mu11 = 0, alpha = 0
    x[0, 8:20, 9:17] += 100
    x[1, 3:19, 16:20] = 200  # the same kind of digit elsewhere: the window follows the ink box
    _, xc, yc, mu11, _ = moments(x)
    assert (mu11 == 0).all()
    out = deslant_grey_crop(x.to(torch.uint8))  # uint8 input (x holds whole grey levels <= 250)
    r0, r1, c0, c1 = ink_box(x)
    for i in range(2):  # the box's centre on the window's 9.5, rounded half to even as torch.round
        oy, ox = round((r0[i] + r1[i]).item() / 2 - 9.5), round((c0[i] + c1[i]).item() / 2 - 9.5)
        # grid coordinates pass through float32 (~1e-6 pixel), i.e. ~1e-3 grey levels (2.4e-4
        # measured); 0.01 is far below one grey level, so any real shift or blur fails
        assert torch.allclose(out[i], x[i, oy : oy + 20, ox : ox + 20], atol=0.01)


def test_16x16_box_is_16_and_centred():
    x = torch.zeros(4, 28, 28)
    x[0, 2:24, 5:11] = 255  # tall 22x6, off-centre
    x[1, 20:26, 1:25] = 180  # wide 6x24
    x[2] = stroke(25, cx=10, cy=16)  # slanted, grey edges after scaling
    # x[3] blank
    out = downsample16(x)
    assert out.shape == (4, 28, 28) and not torch.isnan(out).any() and out[3].abs().max() == 0
    r0, r1, c0, c1 = ink_box(out[:3])
    longer = torch.maximum(r1 - r0 + 1, c1 - c0 + 1)
    # the longer side spans edges 6..22 exactly (float64 edges, tiny overlaps cut); +-1 allowed for
    # a partly covered edge pixel, which the exact box filter should not produce here anyway
    assert ((longer - 16).abs() <= 1).all()
    # the box centre is the field centre 13.5; a partly covered pixel on one side moves it by 0.5
    assert (((r0 + r1) / 2 - 13.5).abs() <= 1).all() and (((c0 + c1) / 2 - 13.5).abs() <= 1).all()
    # area-correct: ink mass scales with the area factor (16/longer side)^2, up to float32 rounding
    s = torch.tensor([16 / 22, 16 / 24])
    assert torch.allclose(out[:2].sum((1, 2)), x[:2].sum((1, 2)) * s**2, rtol=1e-5)


def test_16x16_upsampling_is_exact():
    x = torch.zeros(1, 28, 28)
    x[0, 3:11, 17:21] = 255  # 8 x 4 -> 16 x 8: each input pixel becomes an exact 2x2 block
    out = downsample16(x)[0]
    want = torch.zeros(28, 28)
    want[6:22, 10:18] = 255
    assert torch.equal(out, want)


def test_16x16_box_counts_the_faintest_ink():
    """The ink box holds every pixel > 0: a grey-level-1 dot 8 columns right of an 8x8 square makes the
    box 16 wide, so the scale is exactly 1 and the digit only moves (4 columns left, to centre the box)."""
    x = torch.zeros(1, 28, 28)
    x[0, 10:18, 10:18] = 255
    x[0, 10, 25] = 1
    assert torch.equal(downsample16(x), torch.roll(x, -4, dims=2))  # an integer shift: exact


def test_preprocessing_grid_layout(tmp_path):
    """In process (test_cli_show_preprocessing runs a subprocess, which mutation testing cannot reach):
    one 28x28 cell per digit (column) and mode (row), a 20x20 deslant tile centred in its cell, 2-pixel
    grey (48) lines, zoom 4, dark ink on white."""
    raw = torch.zeros(3, 28, 28, dtype=torch.uint8)
    raw[:, 8:20, 12:16] = 255
    raw[1, 8:12, 16:20] = 128
    modes = ["none", "16x16", "deslant"]
    img = read_image(save_preprocessing_grid(raw, modes, tmp_path / "g.png"))
    assert img.shape == ((3 * 30 + 2) * 4, (3 * 30 + 2) * 4)
    small = img[::4, ::4]  # undo the zoom: every 4x4 block is one canvas pixel
    assert np.array_equal(img, np.kron(small, np.ones((4, 4))))
    lines = np.ones(small.shape, bool)
    for r, mode in enumerate(modes):
        for c in range(3):
            cell = small[2 + 30 * r : 30 + 30 * r, 2 + 30 * c : 30 + 30 * c]
            lines[2 + 30 * r : 30 + 30 * r, 2 + 30 * c : 30 + 30 * c] = False
            want = np.zeros((28, 28))
            if mode == "deslant":
                want[4:24, 4:24] = deslant_text(raw[c : c + 1], 128)[0].clamp(0, 255).numpy()  # (28 - 20) / 2
            else:
                want[:] = (downsample16(raw[c : c + 1])[0] if mode == "16x16" else raw[c]).numpy()
            assert np.allclose(cell, 255 - np.rint(want)), (mode, c)  # white background, black ink
    assert np.all(small[lines] == 255 - 48)


def test_apply_dispatch_and_sides():
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8))
    assert torch.equal(apply(x, "none"), x.float())
    assert (
        torch.equal(apply(x, "deslant", "text", 128), deslant_text(x, 128))
        and apply(x, "deslant").shape[-1] == SIDE["deslant"]
    )
    assert torch.equal(apply(x, "deslant", "text", 1), deslant_text(x, 1))
    assert torch.equal(apply(x, "deslant", "grey_crop"), deslant_grey_crop(x))
    assert torch.equal(apply(x, "16x16"), downsample16(x)) and apply(x, "16x16").shape[-1] == SIDE["16x16"]
    with pytest.raises(ValueError):
        apply(x, "foo")
    with pytest.raises(ValueError):
        apply(x, "deslant", "foo")


def test_extent_is_the_hull_of_the_ink_and_0_1_when_blank():
    """First index and length of the hull of the True entries, per row of the mask; a blank mask gives
    (0, 1), as documented, so a box filter of it stays finite."""
    ink = torch.zeros(4, 8, dtype=torch.bool)
    ink[1, 0] = True
    ink[2, 3:6] = True
    ink[3, [2, 7]] = True
    first, size = extent(ink)
    assert first.tolist() == [0, 0, 3, 2] and size.tolist() == [1, 1, 3, 6]


@pytest.mark.parametrize("mode", ["none", "deslant", "16x16", "deskew"])
def test_preprocessings_take_only_batches_of_28x28_images(mode):
    for shape in ((28, 28), (2, 28, 27), (2, 27, 28)):
        with pytest.raises(ValueError, match="expected images"):
            apply(torch.zeros(shape), mode)


def test_preprocess_pads_from_the_preprocessed_side():
    x = torch.stack([stroke(20), torch.zeros(28, 28)]).to(torch.uint8)
    cfg = DataConfig(preprocess="deslant")
    y20 = M.preprocess(x, cfg, 20)
    assert y20.shape == (2, 1, 20, 20)
    y32 = M.preprocess(x, cfg, 32)
    assert y32.shape == (2, 1, 32, 32)
    assert torch.equal(y32[..., 6:26, 6:26], y20)  # 20 centred in 32: offset 6
    assert (y32[..., :6, :] == LECUN_LO).all() and (y32[..., 26:, :] == LECUN_LO).all()
    assert M.preprocess(x, DataConfig(preprocess="16x16"), 32).shape == (2, 1, 32, 32)
    for mode, size in (("deslant", 16), ("16x16", 24), ("none", 20)):
        with pytest.raises(DataError) as e:
            M.preprocess(x, DataConfig(preprocess=mode), size)
        msg = str(e.value)
        assert "\n" not in msg and f"data.preprocess={mode}" in msg and f"model.input_size={size}" in msg


def test_distorted_pass_distorts_then_preprocesses(synthetic_root):
    cfg = DataConfig(root=str(synthetic_root), download=False, preprocess="deslant", train_size=200)
    cfg.distortions.enabled = True
    data = M.load_mnist(cfg, 32, seed=0)
    assert data.train_raw.shape[1:] == (28, 28) and data.train_x.shape[1:] == (1, 32, 32)
    x = D.distorted_pass(data, cfg, 32, epoch=0, seed=0)
    assert x.shape == data.train_x.shape and not torch.equal(x, data.train_x)
    # deslanted 20x20 padded to 32: a 6-pixel background border (a 28x28 field would leave 2)
    assert (x[..., :6, :] == LECUN_LO).all() and (x[..., :, 26:] == LECUN_LO).all()


@real
def test_load_mnist_real():
    base = DataConfig(download=False, train_size=1000, subset="first", pad=True)
    d = M.load_mnist(dataclasses.replace(base, preprocess="deslant"), 20)
    assert d.train_x.shape == (1000, 1, 20, 20) and d.test_x.shape == (10000, 1, 20, 20)
    assert d.train_x.min() == LECUN_LO  # background 0 -> the scaling's background exactly
    assert (d.train_x[:, 0, 0, 0] == LECUN_LO).float().mean() > 0.9  # corners are background
    s = M.load_mnist(dataclasses.replace(base, preprocess="16x16"), 28)
    assert s.train_x.shape == (1000, 1, 28, 28) and s.train_x.min() == LECUN_LO
    assert (s.train_x[..., :6, :] == LECUN_LO).all()  # 16 rows at most, centred: rows 0..5 blank
    with pytest.raises(DataError, match=r"data\.preprocess=deslant .*model\.input_size=16"):
        M.load_mnist(dataclasses.replace(base, preprocess="deslant"), 16)


@real
def test_real_mnist_grey_crop_reduces_slant():
    raw = torch.from_numpy(M._load_cached(ROOT, "train")[0][:1000].copy())
    _, _, _, mu11, mu02 = moments(raw.float())
    _, _, _, mu11_d, mu02_d = moments(deslant_grey_crop(raw))
    before, after = (mu11 / mu02).abs().mean().item(), (mu11_d / mu02_d).abs().mean().item()
    # measured: 0.287 before, 0.00075 after. What remains is ink the 20x20 window cuts off (it keeps
    # 99.94% on average), not the shear, which leaves mu11 ~0 for the ink it keeps; 8x is a margin
    # that still fails a shear of the wrong sign or scale.
    assert before > 0.2 and after < before / 8
    small = downsample16(raw)
    # no float residue posing as ink: without the cut of overlaps < 1e-9 the box filter leaves
    # ~1e-16 values; the faintest real pixel measured on all 70,000 digits is 0.033
    assert small[small > 0].min() > 1e-3
    r0, r1, c0, c1 = ink_box(small)
    longer = torch.maximum(r1 - r0 + 1, c1 - c0 + 1)
    assert ((longer - 16).abs() <= 1).all()  # resampling edges: +-1
    assert (((r0 + r1) / 2 - 13.5).abs() <= 1).all() and (((c0 + c1) / 2 - 13.5).abs() <= 1).all()


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "paper_lenet", "show-preprocessing", "lenet5_1998", *args],
        capture_output=True,
        text=True,
    )


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24]), len(data)


def test_cli_show_preprocessing(tmp_path, synthetic_root):
    src = [f"data.root={synthetic_root}", "data.download=false", "data.train_size=600"]
    # model.input_size=20 is a config error for LeNet-5 (32 + 4k), so the 20x20 input goes with knn
    knn = [*src, "model.arch=knn", "data.preprocess=deslant"]
    r = cli(*knn, "model.input_size=20", "--out", str(tmp_path / "x.png"))
    assert r.returncode == 0, r.stderr
    (w, h), n = png_size(tmp_path / "x.png")
    # 10 digits x 2 rows (raw, deslant), 30-pixel cells + 2, zoom 4
    assert (w, h) == ((10 * 30 + 2) * 4, (2 * 30 + 2) * 4) and n > 1000
    # digits drawn, read back through Pillow: dark ink on 5.1% of the pixels measured, 0 when
    # the grid is blank (a blank grid is also a valid 1.3 kB PNG, hence this check)
    assert (read_image(tmp_path / "x.png") < 128).mean() > 0.03
    r = cli(*src, "--out", str(tmp_path / "all.png"))  # none: raw | deslant | 16x16 | deskew
    assert r.returncode == 0 and png_size(tmp_path / "all.png")[0][1] == (4 * 30 + 2) * 4
    r = cli("data.preprocess=foo", "--out", str(tmp_path / "bad.png"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "data.preprocess" in r.stderr
    r = cli(*knn, "model.input_size=16", "--out", str(tmp_path / "bad.png"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "data.preprocess=deslant" in r.stderr and "model.input_size=16" in r.stderr
    assert not (tmp_path / "bad.png").exists()
