"""paper_lenet/data/image.py: any array, tensor or Pillow image as grey 0..255 (read_grey: the layouts and
value ranges its docstring lists, colour by ITU-R 601 luma, alpha over white), and to_mnist's size
normalisation: MNIST's digits were scaled to fit a 20x20 box, aspect ratio kept (the longer side 20
pixels) and put in a 28x28 field. Wide, tall and square ink, from a 1x40 dash to a 40x1 bar, either
polarity; only the ink's extent is measured, never where it sits or how a sub-pixel centring blurs its
edges (the centring is pinned in test_predict.py). Files of every format: test_predict.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from paper_lenet.data.image import read_grey, to_grey, to_mnist
from paper_lenet.errors import UserError
from paper_lenet.tools.pictures import write_png

# every (height, width) from 1x40 through 20x21 / 21x20 to 40x1, and squares of 1, 2, 7, 20 and 40
SHAPES = [(h, 41 - h) for h in range(1, 41)] + [(s, s) for s in (1, 2, 7, 20, 40)]


def ink_extent(field: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of the bounding box of the pixels at half the field's peak or more. A uniform
    block moved by a fraction f of a pixel (linear interpolation) spreads each edge row over two
    pixels holding f and 1 - f of it; exactly one of the two reaches half, so the extent is the block's
    own (f = 1/2 exactly: both, one pixel more). Half the peak is also far above area resampling's
    rounding."""
    ys, xs = np.nonzero(field >= 0.5 * field.max())
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


@pytest.mark.parametrize("h, w", SHAPES)
def test_the_longer_side_of_the_ink_becomes_20_pixels_whatever_the_aspect(h, w):
    img = np.zeros((h + 12, w + 12))
    img[5 : 5 + h, 7 : 7 + w] = 200.0  # light ink on a dark page, off-centre, margins of 5 to 7 pixels
    for page in (img, 255.0 - img):  # and dark ink on a light page
        field = to_mnist(page)
        assert field.shape == (28, 28) and field.max() == pytest.approx(255)
        rows, cols = ink_extent(field)
        long_side, short_side = (rows, cols) if h >= w else (cols, rows)
        # 20 pixels; one more only when a centring shift of exactly half a pixel splits both edges
        assert long_side in (20, 21), (h, w, rows, cols)
        # aspect kept: the short side is min/max x 20, rounded to a whole pixel (+-1/2), at least 1,
        # plus at most one pixel from an edge split by the centring shift (as above)
        want = max(1.0, min(h, w) * 20.0 / max(h, w))
        assert abs(short_side - want) <= 1.5, (h, w, rows, cols)


def grey_page(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (9, 13)).astype(np.uint8)


def test_read_grey_takes_every_layout_of_the_same_grey_image():
    g = grey_page()
    want = g.astype(np.float64)
    t = torch.from_numpy(g.copy())
    same = {
        "(H, W)": g,
        "(H, W, 1)": g[..., None],
        "(H, W, 3) equal channels": np.dstack([g] * 3),
        "(H, W, 2) opaque": np.dstack([g, np.full_like(g, 255)]),
        "(H, W, 4) opaque": np.dstack([g] * 3 + [np.full_like(g, 255)]),
        "tensor (H, W)": t,
        "tensor (1, H, W)": t[None],
        "tensor (3, H, W)": t.expand(3, -1, -1),
        "tensor (1, 1, H, W)": t[None, None],
        "tensor (1, 3, H, W)": t.expand(1, 3, -1, -1),
        "floats 0..1": g / 255.0,
        "tensor floats 0..1": t.float() / 255,
        "floats 0..255": want,
        "Pillow L": Image.fromarray(g),
    }
    for name, image in same.items():
        got = read_grey(image)
        # the luma weights sum to 1 (0.299 + 0.587 + 0.114), so equal channels give the grey back; the
        # 0..1 floats are scaled back by 255: float rounding only
        assert got.shape == g.shape and np.abs(got - want).max() < 1e-4, name


def test_integers_are_0_to_255_even_when_they_are_only_0_and_1():
    b = (grey_page() > 127).astype(np.uint8)  # a two-level image stored as 0 / 1 integers: 0..255, dark
    assert np.array_equal(read_grey(b), b.astype(np.float64))
    assert np.array_equal(read_grey(torch.from_numpy(b)), b.astype(np.float64))
    assert np.array_equal(read_grey(b * 1.5), b * 1.5)  # floats above 1: already 0..255


def test_colour_is_itu_r_601_luma_as_pillow_computes_it():
    rgb = np.random.default_rng(1).integers(0, 256, (9, 13, 3)).astype(np.uint8)
    for px in (rgb, np.eye(3, dtype=np.uint8)[None] * 255):  # random colours, and pure red, green, blue
        pillow = np.asarray(Image.fromarray(px).convert("L"), np.float64)  # Pillow rounds to whole levels
        assert np.abs(read_grey(px) - pillow).max() <= 0.5 + 1e-9
    # pure red, green and blue: the three weights of ITU-R 601-2 themselves
    assert np.allclose(
        read_grey(np.eye(3, dtype=np.uint8)[None] * 255)[0], [0.299 * 255, 0.587 * 255, 0.114 * 255]
    )


def test_alpha_is_composited_over_white():
    g = grey_page()
    alpha = grey_page(2)
    a = alpha / 255.0
    want = g * a + 255.0 * (1 - a)  # over white: a transparent pixel is paper
    for image in (np.dstack([g, alpha]), np.dstack([g, g, g, alpha]), Image.fromarray(np.dstack([g, alpha]))):
        assert np.abs(read_grey(image) - want).max() < 1e-9


def test_wide_integer_and_float_pillow_modes():
    g = grey_page().astype(np.int32)
    modes = {
        "I": Image.fromarray(g * 257),
        "I small": Image.fromarray(g),
        "F": Image.fromarray(g.astype(np.float32)),
        "I;16": Image.fromarray((g * 257).astype(np.uint16)),
    }
    assert [m.mode for m in modes.values()] == ["I", "I", "F", "I;16"]
    assert np.allclose(to_grey(modes["I"]), g, rtol=0, atol=1e-9)  # 0..65535 (over 255) -> 0..255
    assert np.array_equal(to_grey(modes["I small"]), g)  # 0..255 stays as it is
    assert np.array_equal(to_grey(modes["F"]), g)
    assert np.allclose(to_grey(modes["I;16"]), g, rtol=0, atol=1e-9)  # 16-bit grey, whatever its values
    assert np.allclose(to_grey(Image.fromarray(np.full((3, 3), 257 * 100, np.uint16))), 100)
    # any value over 255 says the image is not 8-bit: the whole image is read as 0..65535
    assert np.allclose(
        to_grey(Image.fromarray(np.array([[0, 128, 256]], np.int32))), [0, 128 / 257, 256 / 257]
    )


def test_a_one_row_tensor_is_an_image_one_pixel_tall():
    row = torch.arange(40.0)[None] * 5  # (1, 40): one row, not a batch of one 40-pixel image
    assert read_grey(row).shape == (1, 40) and read_grey(row[:, None]).shape == (
        1,
        40,
    )  # (1, 1, 40) as (C, H, W)


@pytest.mark.parametrize("shape", [(5,), (0, 4), (4, 0), (2, 3, 4, 5), (4, 4, 5), (4, 4, 0)])
def test_what_is_not_an_image_is_a_one_line_error(shape):
    with pytest.raises(UserError, match=r"expected an image \(H, W\)"):
        read_grey(np.zeros(shape, np.uint8))
    if len(shape) == 4:  # a batch of two images is not one image (only a batch of one is unwrapped)
        with pytest.raises(UserError, match=r"expected an image \(H, W\)"):
            read_grey(torch.zeros(2, 1, 9, 13))


def test_the_field_keeps_the_inks_grey_levels_in_proportion_on_a_background_of_0():
    """MNIST: background 0, the ink's grey levels kept, scaled so that the brightest is 255. A 60x10
    bar in two tones of ink (100 and 200 grey levels, 30 columns each) and a short stroke well below it
    (so that the ink's box holds background), either polarity."""
    img = np.zeros((50, 70))
    img[10:20, 5:35], img[10:20, 35:65] = 100.0, 200.0
    img[40:48, 5:9] = 100.0
    for page in (img, 255.0 - img):
        field = to_mnist(page)
        # background: 3 or more pixels (any direction) from every pixel of a quarter of the peak or more.
        # Resampling by 1/3 leaves a partly covered pixel beside the ink, and the centring's
        # interpolation spreads an edge by one pixel more
        far = ~ndimage.binary_dilation(field >= 0.25 * 255, np.ones((3, 3)), iterations=2)
        assert far.sum() > 28 * 28 / 2 and np.abs(field[far]).max() < 1e-9
        # the two tones along the bar's brightest row: the 200 ink at 255, the 100 ink at half of it
        # (the 30 columns of each tone are 10 field pixels; those 2 or more from an edge are unblurred)
        row = field[field.max(1).argmax()]
        assert row.max() == pytest.approx(255)
        assert (np.abs(row - 255) < 1e-6).sum() >= 6 and (np.abs(row - 127.5) < 1e-6).sum() >= 6


def test_write_png_makes_the_folders_it_needs(tmp_path):
    img = np.arange(60, dtype=np.uint8).reshape(6, 10)
    path = write_png(tmp_path / "a" / "b" / "x.png", img)
    assert path == tmp_path / "a" / "b" / "x.png" and np.array_equal(read_grey(path), img)


@pytest.mark.parametrize("wide", [True, False])
def test_a_line_one_pixel_from_the_edges_of_grey_paper(wide):
    """A tightly cropped dash (or a 1) on grey paper (200, a scan's, not white): a 3-pixel strip whose
    middle row is the ink, so that the page is only the outermost rows. The page is still read from the
    image's outermost rows and columns: dark ink on light paper, the paper's level the background."""
    strip = np.full((3, 40), 200.0)
    strip[1, 2:38] = 0.0
    field = to_mnist(strip if wide else strip.T)
    rows, cols = ink_extent(field)
    assert (cols if wide else rows) in (20, 21)  # the line is the ink, its length 20 (ink_extent)
    assert field.max() == pytest.approx(255)


# MNIST's training digits' mean centre of mass (row, column), measured from the data by
# `python dev/mnist_centre.py` (docs/mnist-centring.md); written here, not imported from image.py
MNIST_TRAIN_CENTRE = (13.996, 14.007)


def test_an_even_sided_square_takes_the_whole_pixel_spot_nearest_mnists_centre():
    """A uniform 20x20 box has its centre of mass at 9.5, 9.5; MNIST's centre (13.996, 14.007) is
    nearest at a move of 4 rows and 5 columns (centres 13.5 and 14.5; 14.5 is 0.493 from 14.007, 13.5
    is 0.507): rows and columns each take their own target."""
    page = np.zeros((50, 50))
    page[7:37, 12:42] = 255.0  # 30x30: scaled to 20x20 by area, still uniform
    f = to_mnist(page)
    rows, cols = np.nonzero(f > 127)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 23, 5, 24)
    assert np.allclose(ndimage.center_of_mass(f), (13.5, 14.5))


@pytest.mark.parametrize("mirrored", [False, True])
def test_a_box_whose_mass_lies_at_one_side_stays_inside_the_field(mirrored):
    """An L: a heavy bar at one side and a thin foot across, 40x40 -> 20x20. Its mass sits about 2.4
    pixels from the heavy side, so MNIST's centre would put the box's far edge past the field's
    (14 - 2.4 + 20 > 28); the box is moved as near as it can and stays whole, touching that edge."""
    page = np.zeros((60, 60))
    page[10:50, 10:18] = 255.0  # the bar, 40 x 8
    page[49, 10:50] = 255.0  # the foot, one row, to 40 wide
    f = to_mnist(page[:, ::-1] if mirrored else page)
    cols = np.nonzero(f.max(axis=0) > 0)[0]
    assert cols.max() - cols.min() + 1 == 20  # the whole box, none cut off
    assert (cols.min() == 0) if mirrored else (cols.max() == 27)


def test_a_one_pixel_dash_stays_one_pixel_thin():
    """A 1x40 dash (and a 40x1 bar) is scaled by 20/40: its thickness, 0.5 pixel, is kept at 1 pixel
    (the least a stroke can be), not thickened."""
    dash = np.zeros((30, 60))
    dash[15, 10:50] = 255.0
    for img in (dash, dash.T):
        f = to_mnist(img)
        rows, cols = np.nonzero(f > 0)
        assert sorted([rows.max() - rows.min() + 1, cols.max() - cols.min() + 1]) == [1, 20]
        # the thin side sits at the whole pixel nearest MNIST's centre: row 14 (13.996), column 14 (14.007)
        assert (rows.min() if img is dash else cols.min()) == 14


def test_ink_25_grey_levels_from_the_background_counts_and_jpeg_noise_does_not():
    """image.py's measured threshold: a blank page's sensor noise saved as JPEG peaks at 19 grey
    levels (sd 6, quality 75); a stroke 25 levels from the background is ink."""
    page = np.full((40, 40), 100.0)
    page[10:30, 18:22] = 125.0  # 25 levels
    assert to_mnist(page).max() == pytest.approx(255)
    page[10:30, 18:22] = 119.0  # 19 levels: what noise reaches, not ink
    with pytest.raises(UserError, match="no ink found"):
        to_mnist(page)
