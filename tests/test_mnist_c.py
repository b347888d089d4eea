"""MNIST-C's corruptions (data/mnist_c.py) against their definitions (Mu & Gilmer 2019; google-research/
mnist-c corruptions.py), on synthetic images and on digits drawn with Pillow's font: no MNIST needed."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from font_digits import font_digits
from scipy import ndimage
from scipy.stats import poisson

from paper_lenet.data import mnist_c
from paper_lenet.data import mnist_c_ops as ops
from paper_lenet.data.mnist_c import CORRUPTIONS, corrupt, parameter

RANDOM = [c for c in CORRUPTIONS if c not in ("scale", "brightness", "stripe", "canny_edges")]


DIGITS = font_digits()


def flat(value: int, n: int = 50) -> np.ndarray:
    return np.full((n, 28, 28), value, np.uint8)


def test_parameters_are_mnist_c_severities():
    # corruptions.py's function defaults: shot noise 5 -> 3, impulse 4 -> 0.17, glass 1, motion 1, shear 2,
    # scale 3 (1/0.7), rotate 2, brightness 5, translate 3, fog 5, spatter 4
    assert parameter("shot_noise") == 3 and parameter("impulse_noise") == 0.17
    assert parameter("glass_blur") == (0.7, 1, 2) and parameter("motion_blur") == (10, 3)
    assert (
        parameter("shear") == 0.4
        and parameter("rotate") == 0.4
        and parameter("scale") == pytest.approx(1 / 0.7)
    )
    assert parameter("brightness") == 0.5 and parameter("translate") == 3 and parameter("fog") == (3.0, 1.4)
    assert parameter("spatter") == (0.65, 0.3, 1, 0.65, 1.5, 1) and parameter("zigzag") is None
    assert len(CORRUPTIONS) == 15
    with pytest.raises(ValueError, match="severity 6"):
        parameter("shot_noise", 6)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_shape_dtype_and_determinism_per_seed(name):
    a = corrupt(DIGITS, name, seed=3)
    assert a.dtype == np.uint8 and a.shape == DIGITS.shape
    assert np.array_equal(a, corrupt(DIGITS, name, seed=3))
    if name in RANDOM:
        assert not np.array_equal(a, corrupt(DIGITS, name, seed=4))
    else:  # no randomness in the definition: every seed gives the same copy
        assert np.array_equal(a, corrupt(DIGITS, name, seed=4))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown corruption 'snow'"):
        corrupt(DIGITS, "snow")
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        corrupt(DIGITS[:, :27], "stripe")


def test_shot_noise_is_poisson_with_3_photons_per_unit():
    p = 26 / 255  # lambda = 3 p = 0.306: the clip at k >= 3 is exact below, not ignored
    out = corrupt(flat(26, 200), "shot_noise").astype(np.float64) / 255
    k = np.arange(0, 40)
    pmf = poisson.pmf(k, 3 * p)
    v = np.minimum(k / 3, 1)
    mean, var = (pmf * v).sum(), (pmf * v * v).sum() - (pmf * v).sum() ** 2
    se = np.sqrt(var / out.size)
    assert abs(out.mean() - mean) < 5 * se  # 5 standard errors: a false alarm once in ~3 million runs
    assert abs(out.var() - var) < 0.03 * var  # 156,800 pixels: the variance's relative SE is ~0.6%
    assert set(np.unique(out * 3).round().astype(int)) <= {0, 1, 2, 3}  # k / 3, clipped to 1


def test_impulse_noise_flips_17_percent_half_to_white_half_to_black():
    out = corrupt(flat(128, 200), "impulse_noise")
    n = out.size
    for value in (0, 255):
        share = (out == value).mean()
        assert abs(share - 0.085) < 5 * np.sqrt(0.085 * 0.915 / n)  # binomial, 5 SE
    assert ((out == 128) | (out == 0) | (out == 255)).all()


def test_brightness_is_hsv_value_plus_half_as_theirs():
    """Grey -> RGB -> HSV, V + 0.5 clipped, -> RGB -> grey with rgb2gray's weights (colorsys, by hand)."""
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    img = np.resize(levels, (1, 28, 28)).astype(np.uint8)
    out = corrupt(img, "brightness")[0]
    for g, o in zip(img.ravel(), out.ravel(), strict=False):
        h, s, v = colorsys.rgb_to_hsv(*(3 * [g / 255]))
        r, gg, b = colorsys.hsv_to_rgb(h, s, min(v + 0.5, 1.0))
        expect = 0.2125 * r + 0.7154 * gg + 0.0721 * b
        assert abs(o - expect * 255) <= 0.5 + 1e-6  # stored as rounded 8 bits


def test_stripe_inverts_the_outer_seven_columns_on_each_side():
    out = corrupt(DIGITS, "stripe").astype(int)
    d = DIGITS.astype(int)
    assert (out[:, :, :7] == 255 - d[:, :, :7]).all() and (out[:, :, 21:] == 255 - d[:, :, 21:]).all()
    assert (out[:, :, 7:21] == d[:, :, 7:21]).all()


def _orientation(img) -> float:
    """The principal axis of the ink, radians, measured from the column axis (image rows pointing down)."""
    w = img.astype(np.float64)
    r, c = np.mgrid[0:28, 0:28]
    m = w.sum()
    rc, cc = (w * r).sum() / m, (w * c).sum() / m
    mrr, mcc, mrc = (
        (w * (r - rc) ** 2).sum() / m,
        (w * (c - cc) ** 2).sum() / m,
        (w * (r - rc) * (c - cc)).sum() / m,
    )
    return 0.5 * np.arctan2(2 * mrc, mcc - mrr)


def bar(horizontal: bool = True, n: int = 40) -> np.ndarray:
    img = np.zeros((n, 28, 28), np.uint8)
    if horizontal:
        img[:, 13:15, 4:24] = 255
    else:
        img[:, 4:24, 13:15] = 255
    return img


def test_rotate_turns_by_0_4_radians_either_way_about_the_centre():
    out = corrupt(bar(), "rotate")
    angles = np.array([_orientation(o) for o in out])
    assert np.allclose(np.abs(angles), 0.4, atol=0.02)  # 1.1 degrees: a 20-pixel bar on a bilinear grid
    assert (angles > 0).any() and (angles < 0).any()  # the direction is random
    com = np.array([ndimage.center_of_mass(o.astype(float)) for o in out])
    assert np.allclose(com, 13.5, atol=0.1)  # (13.5, 13.5) stays put


def test_shear_slants_a_vertical_bar_by_sin_0_4():
    out = corrupt(bar(horizontal=False), "shear").astype(np.float64)
    slopes = []
    for o in out:
        rows = np.arange(6, 22)
        cols = [(o[r] * np.arange(28)).sum() / o[r].sum() for r in rows]
        slopes.append(np.polyfit(rows, cols, 1)[0])
    assert np.allclose(np.abs(slopes), np.sin(0.4), atol=0.02)  # column moves sin(0.4) per row
    assert min(slopes) < 0 < max(slopes)


def test_scale_shrinks_the_digit_to_0_7_about_the_centre():
    out = corrupt(DIGITS, "scale").astype(np.float64)

    def spread(img):
        r, c = np.mgrid[0:28, 0:28]
        m = img.sum()
        return np.sqrt((img * ((r - 13.5) ** 2 + (c - 13.5) ** 2)).sum() / m)

    ratios = [spread(o) / spread(d.astype(float)) for o, d in zip(out, DIGITS, strict=False)]
    assert np.allclose(ratios, 0.7, atol=0.03)  # bilinear resampling blurs a spread by well under a pixel


def test_translate_moves_by_3_pixels_along_each_axis():
    out = corrupt(DIGITS, "translate", seed=1)
    for o, d in zip(out, DIGITS, strict=False):
        dr, dc = np.subtract(ndimage.center_of_mass(o.astype(float)), ndimage.center_of_mass(d.astype(float)))
        assert abs(abs(dr) - 3) < 1e-6 and abs(abs(dc) - 3) < 1e-6  # integer shifts are exact


def test_motion_blur_is_imagemagicks_one_sided_half_gaussian():
    dot = np.zeros((30, 28, 28), np.uint8)
    dot[:, 14, 14] = 255
    out = corrupt(dot, "motion_blur").astype(np.float64)
    k0 = 1 / np.exp(-(np.arange(21) ** 2) / 18).sum()  # width 2 ceil(10) + 1, sigma 3: the first tap's weight
    assert np.allclose(out[:, 14, 14], 255 * k0, atol=0.5)
    for o in out:
        r, c = np.nonzero(o)
        spread = np.arctan2(
            -(r - 14).mean(), -(c - 14).mean()
        )  # the taps look along +angle: ink trails behind
        assert abs(np.degrees(spread)) <= 45 + 8  # the angle is uniform in [-45, 45]; the grid rounds offsets
        assert abs(o.sum() - 255) < 0.5 * 21 + 1  # the kernel is normalized: mass kept, up to 8-bit rounding


def test_glass_blur_keeps_the_ink_and_blurs_it():
    out = corrupt(DIGITS, "glass_blur").astype(np.float64)
    d = DIGITS.astype(np.float64)
    assert np.allclose(
        out.sum((1, 2)), d.sum((1, 2)), rtol=0.04
    )  # swaps move ink; truncation to 8 bits loses < 4%
    assert (out.max((1, 2)) < d.max((1, 2))).all()


def test_fog_is_a_smooth_fractal_scaled_by_the_image_maximum():
    out = corrupt(DIGITS, "fog").astype(np.float64) / 255
    x = DIGITS.astype(np.float64) / 255
    f = (out * 4 - x) / 3  # out = (x + 3 f) max / (max + 3), max = 1: the fractal f in [0, 1]
    assert f.min() > -0.01 and f.max() < 1.01  # 8-bit rounding: 4/3 of half a level
    lag1 = np.corrcoef(f[:, :, :-1].ravel(), f[:, :, 1:].ravel())[0, 1]
    assert lag1 > 0.9  # plasma is smooth (white noise would give ~0)


def test_spatter_paints_mud_of_grey_63_or_leaves_the_pixel():
    out = corrupt(flat(0, 100), "spatter")
    vals = np.unique(out)
    assert ((vals == 0) | ((vals >= np.floor(0.8 * 63)) & (vals <= 63))).all()  # m is 0 or in [0.8, 1]
    assert 0.0 < (out > 0).mean() < 0.5


def test_dotted_line_lies_in_every_other_pair_of_columns():
    out = corrupt(flat(0, 100), "dotted_line")
    cols = np.nonzero(out.any(axis=(0, 1)))[0]
    assert set(cols) <= {c for c in range(27) if (c // 2) % 2 == 1}
    assert out.any(axis=(1, 2)).mean() > 0.95


def test_zigzag_spans_columns_2_to_25_with_teeth():
    out = corrupt(flat(0, 50), "zigzag").astype(np.float64)
    for o in out:
        cols = np.nonzero(o.any(0))[0]
        # theirs draws each tooth by its vertical distance only, so steep teeth leave gaps: >= 10 columns
        assert cols.min() >= 1 and cols.max() <= 26 and len(cols) >= 10
        rows = [(o[:, c] * np.arange(28)).sum() / o[:, c].sum() for c in cols]
        assert np.ptp(np.diff(rows)) > 0.5  # the row goes up and down: teeth, not a straight line


def test_canny_outlines_a_square():
    sq = np.zeros((3, 28, 28), np.uint8)
    sq[:, 8:20, 8:20] = 255
    out = corrupt(sq, "canny_edges")[0]
    assert set(np.unique(out)) == {0, 255}
    edge = out > 0
    boundary = ndimage.binary_dilation(sq[0] > 0) & ~ndimage.binary_erosion(sq[0] > 0)
    assert (edge <= ndimage.binary_dilation(boundary)).all()  # every edge within a pixel of the outline
    assert not edge[11:17, 11:17].any()  # the flat inside has no edges
    assert edge.sum() >= 40  # the 4 sides (12 pixels each) are found


def _blur(x, sigma=1.5):
    return ndimage.gaussian_filter(x.astype(np.float64), (0, sigma, sigma))


def _geometric_candidates(name) -> list[np.ndarray]:
    """The clean digits moved as the corruption's definition moves them, for each random sign: a digit
    is then compared with where its own shape would be (the label survives, the pose is the corruption)."""
    c = parameter(name)
    if name == "scale":
        mats = [ops.about_centre(ops.affine_matrix(scale=c))]
    elif name == "translate":
        mats = [ops.affine_matrix(translation=(c * a, c * b)) for a in (-1, 1) for b in (-1, 1)]
    else:
        key = "rotation" if name == "rotate" else "shear"
        mats = [ops.about_centre(ops.affine_matrix(**{key: s * c})) for s in (-1, 1)]
    return [np.stack([ops.warp(d / 255.0, m) * 255 for d in DIGITS]) for m in mats]


GEOMETRIC = ("shear", "scale", "rotate", "translate")


def _outlines() -> np.ndarray:
    """The clean digits' outlines (ink at half level, dilated minus eroded): what edges should be drawn."""
    ink = DIGITS > 127
    return np.stack([(ndimage.binary_dilation(m) & ~ndimage.binary_erosion(m)) * 255.0 for m in ink])


def _by_mass(x) -> np.ndarray:
    """Each image shifted (bilinear) so its centre of mass is at (14, 14)."""
    out = []
    for im in np.asarray(x, np.float64):
        cy, cx = ndimage.center_of_mass(im)
        out.append(ndimage.shift(im, (14 - cy, 14 - cx), order=1))
    return np.stack(out)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_the_label_survives(name):
    """Each corrupted font digit correlates best with its own clean self among the ten (blurred, so a
    pixel's shift or a noise speck counts little; for the four geometric corruptions, the clean digits in
    each pose the definition allows; for Canny edges, their outlines): the corruption keeps what makes the
    digit that digit."""
    cands = (
        _geometric_candidates(name)
        if name in GEOMETRIC
        else [_outlines()]
        if name == "canny_edges"
        else [DIGITS]
    )
    # motion blur smears the ink one way (ImageMagick's kernel is one-sided), moving its centre of mass:
    # both sides are compared centred by mass, so the smear's shift is not read as another shape
    align = _by_mass if name == "motion_blur" else (lambda x: x)
    for seed in range(3):
        out = _blur(align(corrupt(DIGITS, name, seed))).reshape(10, -1)
        best = np.full((10, 10), -np.inf)
        for cand in cands:
            clean = _blur(align(cand)).reshape(10, -1)
            if (
                name == "stripe"
            ):  # the inverted bands are the same for every digit: compare the untouched middle
                keep = np.zeros((28, 28), bool)
                keep[:, 7:21] = True
                clean, out_k = clean[:, keep.ravel()], out[:, keep.ravel()]
            else:
                out_k = out
            best = np.maximum(best, np.corrcoef(out_k, clean)[:10, 10:])
        assert (best.argmax(1) == np.arange(10)).sum() >= 9, (name, seed, best.argmax(1))


def test_the_corruptions_are_the_modules_functions():
    assert all(callable(getattr(mnist_c, c)) for c in CORRUPTIONS)
