"""The paper's facts against tests/data/paper_facts.yaml, a transcription of the paper (not of
paper_lenet/paper.py): Table I (literally and behaviourally), the eta table, the constant random
order, the init bounds, the input levels, the distortions' ranges, and the numbers it reports."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import yaml

from paper_lenet import build_model, load_config, paper
from paper_lenet.config import Config, DataConfig, DistortConfig, ModelConfig
from paper_lenet.core.layers import Activation
from paper_lenet.core.sdlm import eta_for_epoch, sdlm_rates, sdlm_update
from paper_lenet.data import distort as D
from paper_lenet.data.mnist import preprocess
from paper_lenet.training.schedule import hessian_due, pass_order

ROOT = Path(__file__).resolve().parents[1]
REF = yaml.safe_load((ROOT / "tests" / "data" / "paper_facts.yaml").read_text())
TABLE_1 = {int(k): tuple(v) for k, v in REF["table_1"].items()}
LITERAL = ROOT / "configs" / "lenet5_1998_literal.yaml"  # the paper's text, setting by setting


def eta_by_pass() -> dict[int, float]:
    return {p: eta for first, last, eta in REF["eta"] for p in range(first, last + 1)}


# ---- Table I --------------------------------------------------------------------------------------------


def test_table_1_literally():
    assert sorted(TABLE_1) == list(range(16))
    assert paper.C3_TABLE == tuple(TABLE_1[o] for o in range(16))
    # the parameter count follows from the table: 6*(3*25+1) + 9*(4*25+1) + (6*25+1)
    assert sum(25 * len(ins) + 1 for ins in TABLE_1.values()) == REF["layers"]["C3"][0]


@pytest.mark.parametrize("c3", ["table", "full"])
def test_table_1_behaviourally(c3):
    """Excite one S2 map: exactly the C3 maps that the paper's Table I connects to it move
    (c3: full connects all 96 pairs: every map moves)."""
    model = build_model(ModelConfig(c3=c3, init="lecun98"), seed=0)
    base = torch.zeros(1, 6, 14, 14)
    ref = model.C3(base)[0]
    g = torch.Generator().manual_seed(0)
    for s2_map in range(6):
        x = base.clone()
        x[0, s2_map] = torch.randn(14, 14, generator=g)
        out = model.C3(x)[0]
        # a connected map moves by O(0.1) (75-150 weights of +-2.4/F times N(0,1) inputs); float
        # rounding of an unconnected one is exactly 0: any threshold in between separates them
        moved = {o for o in range(16) if (out[o] - ref[o]).abs().max() > 1e-6}
        want = {o for o, ins in TABLE_1.items() if s2_map in ins} if c3 == "table" else set(range(16))
        assert moved == want, s2_map


# ---- training protocol: eta table, order, h_kk ---------------------------------------------------------


def test_eta_table_and_schedule():
    want = eta_by_pass()
    assert sorted(want) == list(range(1, REF["passes"] + 1))
    assert paper.PAPER_ETA == [[last, eta] for _, last, eta in REF["eta"]]
    for p in range(1, REF["passes"] + 1):
        assert eta_for_epoch(paper.PAPER_ETA, p) == want[p], p
    assert (
        eta_for_epoch(paper.PAPER_ETA, REF["passes"] + 5) == want[REF["passes"]]
    )  # past the table: the last
    assert paper.FIRST_PASS_ETA == want[1]
    s = load_config(LITERAL).train.sdlm
    assert s.eta == paper.PAPER_ETA and s.mu == REF["mu"] and s.hessian_samples == REF["hessian_samples"]
    assert load_config(LITERAL).train.epochs == REF["passes"]


def test_sdlm_constants_and_rates():
    assert paper.MU == REF["mu"] and paper.PAPER_HESSIAN_SAMPLES == REF["hessian_samples"]
    model = build_model(ModelConfig(), seed=0)
    hess = {n: torch.full_like(p, 0.18) for n, p in model.named_parameters()}
    rates = sdlm_rates(model, hess, eta=5e-4, mu=REF["mu"])
    assert all(torch.allclose(r, torch.full_like(r, 5e-4 / (0.02 + 0.18))) for r in rates.values())
    w = torch.tensor([1.0, -2.0])  # w_k <- w_k - eps_k dE/dw_k, by hand: 1 - 0.1 * 0.5, -2 - 0.2 * 0.25
    sdlm_update([w], [torch.tensor([0.5, 0.25])], [torch.tensor([0.1, 0.2])])
    assert torch.allclose(w, torch.tensor([0.95, -2.05]), rtol=0, atol=1e-7)  # float32 rounding
    # h_kk "re-estimated ... before each pass": per_pass says yes to every pass
    cfg = load_config(LITERAL)
    assert all(hessian_due(cfg, e) for e in range(1, REF["passes"] + 1))


def test_constant_random_order_across_passes():
    """`fixed`: one random permutation, the same for every pass; `reshuffle`: a new one each pass."""
    n, passes = 1000, 6
    fixed = Config()
    fixed.train.order = "fixed"
    orders = [pass_order(fixed, n, e) for e in range(1, passes + 1)]
    assert sorted(orders[0].tolist()) == list(range(n))  # a permutation
    assert not torch.equal(orders[0], torch.arange(n))  # and a random one
    assert all(torch.equal(o, orders[0]) for o in orders[1:])
    reshuffled = dataclasses.replace(fixed, train=dataclasses.replace(fixed.train, order="reshuffle"))
    shuffles = [pass_order(reshuffled, n, e) for e in range(1, passes + 1)]
    assert all(sorted(o.tolist()) == list(range(n)) for o in shuffles)
    assert len({tuple(o.tolist()) for o in shuffles}) == passes  # every pass its own order
    other_seed = dataclasses.replace(fixed, seed=1)
    assert not torch.equal(pass_order(other_seed, n, 1), orders[0])  # the order is the seed's
    assert load_config(LITERAL).train.order == "fixed"


# ---- units, init, input --------------------------------------------------------------------------------


def test_squashing_constants():
    a_ref, s_ref = REF["squash_A"], float(Fraction(REF["squash_S"]))
    assert (paper.A, paper.S) == (a_ref, s_ref)
    f = Activation("scaled_tanh")
    a = torch.linspace(-4, 4, 33, dtype=torch.float64)
    want = torch.tensor([a_ref * math.tanh(s_ref * v) for v in a.tolist()], dtype=torch.float64)
    assert torch.allclose(f(a), want, rtol=0, atol=1e-12)  # float64 tanh: only rounding differs
    slope = torch.tensor([a_ref * s_ref / math.cosh(s_ref * v) ** 2 for v in a.tolist()], dtype=torch.float64)
    assert torch.allclose(f.derivative(a), slope, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_lecun98_init_bounds(seed):
    """Uniform in +-2.4/F: inside the bound, and reaching both ends (fan-ins from the paper)."""
    model = build_model(ModelConfig(init="lecun98"), seed=seed)
    fan = REF["fan_in"]
    r = REF["init_range"]
    assert paper.INIT_RANGE == r
    groups = [
        (model.C1.weight, fan["C1"]),
        (model.C5.weight, fan["C5"]),
        (model.F6.weight, fan["F6"]),
        (model.S2.coef, fan["S2"]),
        (model.S4.coef, fan["S4"]),
    ]
    dense = model.C3.w().detach()
    by_fan = {f: [] for f in fan["C3"]}
    for o, ins in TABLE_1.items():
        by_fan[25 * len(ins)].append(dense[o, list(ins)].flatten())
    groups += [(torch.cat(ws), f) for f, ws in by_fan.items()]
    for w, f in groups:
        w, bound = w.detach().double(), r / f
        assert w.abs().max() <= bound * (1 + 1e-6), f  # float32 rounding of the bound only
        if w.numel() >= 150:
            # n uniform draws all miss the top (or bottom) 3% of the range with probability 0.97^n
            # (< 1e-2 for n = 150, < 1e-10 for C3's 6*75): any seed reaches both ends
            assert w.max() > 0.94 * bound and w.min() < -0.94 * bound, f
            # symmetric: the mean of n draws has sd bound/sqrt(3n); 0.3 bound is > 4 sd for n >= 150
            assert abs(w.mean()) < 0.3 * bound, f
    assert REF["fan_in"]["C3"] == sorted({25 * len(v) for v in TABLE_1.values()})


def test_input_levels():
    """A 0 pixel (and the padding) is the background -0.1, a 255 pixel the ink 1.175, linear between."""
    raw = torch.zeros(3, REF["image_side"], REF["image_side"], dtype=torch.uint8)
    raw[1] = 255
    raw[2, 10, 10] = 51  # a fifth of full ink
    x = preprocess(raw, DataConfig(), REF["input_side"])
    side, lo, hi = REF["input_side"], REF["input_background"], REF["input_ink"]
    assert x.shape == (3, 1, side, side)
    pad = (side - REF["image_side"]) // 2
    inner = (slice(None), 0, slice(pad, side - pad), slice(pad, side - pad))
    # float32 holds -0.1 and 1.175 to about 1e-7; 1e-6 allows the multiply-add's rounding
    assert torch.allclose(x[0], torch.full_like(x[0], lo), atol=1e-6)
    assert torch.allclose(x[1][inner[1:]], torch.full((REF["image_side"],) * 2, hi), atol=1e-6)
    border = x[1].clone()
    border[inner[1:]] = lo
    assert torch.allclose(border, torch.full_like(border, lo), atol=1e-6)  # padding is background
    assert x[2, 0, pad + 10, pad + 10].item() == pytest.approx(lo + (hi - lo) * 51 / 255, abs=1e-6)
    assert (paper.LECUN_LO, paper.LECUN_HI, paper.INPUT_SIDE) == (lo, hi, side)


# ---- distortions: each range drawn in full, and no wider ------------------------------------------------

RANGES = {"translate": 3.0, "scale": 0.2, "squeeze": 0.25, "shear": 0.4}
KEY = {"translate": ("tx", "ty"), "scale": ("s",), "squeeze": ("q",), "shear": ("h",)}


@pytest.mark.parametrize("name", sorted(RANGES))
def test_distortion_parameter_ranges(name):
    """Draw many parameters: each fills its configured interval and stays in it. The intervals are
    written here from DistortConfig's documented meaning, not taken from the drawing code."""
    width = RANGES[name]
    zero = DistortConfig(enabled=True, prob=0.9, translate=0, scale=0, squeeze=0, shear=0)
    cfg = dataclasses.replace(zero, **{name: width})
    n = 20000
    p = D._params(n, cfg, torch.Generator().manual_seed(5))
    centre = 1.0 if name == "scale" else 0.0  # scale is 1 + u, the others u
    for key, v in p.items():
        if key == "keep":
            # 1 - prob kept; the fraction's sd is sqrt(0.09/n) = 0.002: 0.01 is 5 sd
            assert abs(v.double().mean().item() - (1 - cfg.prob)) < 0.01
            continue
        lo, hi = (
            (centre - width, centre + width)
            if key in KEY[name]
            else ((1.0, 1.0) if key == "s" else (0.0, 0.0))
        )
        assert v.min() >= lo - 1e-12 and v.max() <= hi + 1e-12, key
        if lo < hi:
            # n uniform draws all miss the end 1% of the range with probability 0.99^n ~ 1e-87
            assert v.min() < lo + 0.02 * width and v.max() > hi - 0.02 * width, key
            assert abs(v.mean().item() - centre) < 0.05 * width, key  # sd of the mean: 0.004 width


def blob_images(n: int, var: float = 4.0) -> torch.Tensor:
    """Round Gaussian blobs (variance `var` px^2 per axis) at the field centre (13.5, 13.5)."""
    r = torch.arange(28.0)
    d2 = (r.view(28, 1) - 13.5) ** 2 + (r.view(1, 28) - 13.5) ** 2
    return (255 * torch.exp(-d2 / (2 * var))).expand(n, 28, 28).round().to(torch.uint8)


def test_translation_range_measured_on_images():
    """Translate only, by up to t pixels: the centre-of-mass shift, measured on the images, spans
    [-t, t] on each axis and no more."""
    t, n = RANGES["translate"], 400
    cfg = DistortConfig(enabled=True, prob=1.0, translate=t, scale=0, squeeze=0, shear=0)
    x = blob_images(n)
    y = D.distort_batch(x, cfg, torch.Generator().manual_seed(11))
    r = torch.arange(28.0)
    for axis in (1, 2):  # rows (y), columns (x)
        mass = y.sum(axis)
        shift = (mass * r).sum(1) / mass.sum(1) - 13.5
        # bilinear resampling moves the centre of mass by at most ~0.02 px (test_distort: atol 0.02);
        # 0.05 px of slack; 400 draws reach the last 10% of each end with probability 1 - 0.9^400
        assert shift.abs().max() <= t + 0.05
        assert shift.max() > 0.9 * t and shift.min() < -0.9 * t


def test_scale_range_measured_on_images():
    """Scale only, s in [1 - w, 1 + w]: the blob's radius of gyration grows by s, measured on images."""
    w, n = RANGES["scale"], 400
    cfg = DistortConfig(enabled=True, prob=1.0, translate=0, scale=w, squeeze=0, shear=0)
    x = blob_images(n, var=12.0).float()  # wide: resampling's own blur is small beside it, and
    y = D.distort_batch(x, cfg, torch.Generator().manual_seed(12))  # 1.2 x 3.5 sd still fits the field
    r = torch.arange(28.0)
    d2 = (r.view(1, 28, 1) - 13.5) ** 2 + (r.view(1, 1, 28) - 13.5) ** 2

    def gyration(img):
        return ((img * d2).sum((1, 2)) / img.sum((1, 2))).sqrt()

    s = gyration(y) / gyration(x)
    # bilinear resampling blurs a little: on this blob it moves the ratio by < 0.007 at either end
    # (0.806 and 1.206 measured for w = 0.2); 0.02 of slack, far below a range twice as wide
    assert s.min() >= 1 - w - 0.02 and s.max() <= 1 + w + 0.02
    assert s.min() < 1 - 0.8 * w and s.max() > 1 + 0.8 * w


def test_squeeze_range_measured_on_images():
    """Squeeze only: x stretched by 1 + q and y by 1 / (1 + q), q in [-w, w]: area kept."""
    w, n = RANGES["squeeze"], 400
    cfg = DistortConfig(enabled=True, prob=1.0, translate=0, scale=0, squeeze=w, shear=0)
    x = blob_images(n, var=6.0).float()  # 1.25 x 3.5 sd still fits the field
    y = D.distort_batch(x, cfg, torch.Generator().manual_seed(13))
    r = torch.arange(28.0) - 13.5

    def spread(img, axis):  # sd of the ink along x (axis 1: sum over rows) or y (axis 2)
        m = img.sum(axis)
        return ((m * r * r).sum(1) / m.sum(1)).sqrt()

    sx, sy = spread(y, 1) / spread(x, 1), spread(y, 2) / spread(x, 2)
    # resampling blur widens both axes of this narrower blob: the product measured up to 1.034; 0.06
    # allows that, while a swapped or doubled squeeze makes it (1 + q)^-2 or (1 + q)^2 (0.64 to 1.8)
    assert (sx * sy - 1).abs().max() < 0.06
    assert sx.min() >= 1 - w - 0.03 and sx.max() <= 1 + w + 0.03
    assert sx.min() < 1 - 0.8 * w and sx.max() > 1 + 0.8 * w


def test_distortion_map_is_the_documented_affine_map():
    """_theta is the inverse of A p + t, A = s [[1+q, 0], [0, 1/(1+q)]] [[1, h], [0, 1]] (pixels,
    from the centre), in grid_sample's [-1, 1] frame: written out here from the docstring."""
    g = torch.Generator().manual_seed(3)
    n, side = 50, 28
    p = {
        k: (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * r
        for k, r in (("tx", 3.0), ("ty", 3.0), ("q", 0.3), ("h", 0.4))
    }
    p["s"] = 1 + (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * 0.3
    theta = D._theta(p, side).double()
    for i in range(n):
        s, q, h = p["s"][i].item(), p["q"][i].item(), p["h"][i].item()
        a = (
            s
            * torch.tensor([[1 + q, 0.0], [0.0, 1 / (1 + q)]], dtype=torch.float64)
            @ torch.tensor([[1.0, h], [0.0, 1.0]], dtype=torch.float64)
        )
        t = torch.tensor([p["tx"][i].item(), p["ty"][i].item()], dtype=torch.float64) * 2 / side
        # theta is returned in float32: 1e-6 covers its rounding
        assert torch.allclose(theta[i, :, :2] @ a, torch.eye(2, dtype=torch.float64), atol=1e-6)
        assert torch.allclose(
            theta[i, :, :2] @ t + theta[i, :, 2], torch.zeros(2, dtype=torch.float64), atol=1e-6
        )


def test_distortion_mix_is_the_papers_pool():
    """Sec. III-C: 540,000 distorted copies in a pool of 600,000: prob = 0.9."""
    pool = REF["distort_pool"]
    assert DistortConfig().prob == pytest.approx(pool["distorted"] / (pool["originals"] + pool["distorted"]))


# ---- counts and the results the paper reports (printed beside ours) -----------------------------------


def test_architecture_counts():
    assert paper.PAPER["layers"] == {k: tuple(v) for k, v in REF["layers"].items()}
    assert paper.PAPER["total"] == {
        "params": REF["total_params"],
        "connections": REF["total_connections"],
        "macs": REF["macs_thousands"] * 1000,
    }


def test_reported_results():
    fig5 = REF["fig5"]
    train, test = [], []
    for cols, tr, te in zip(fig5["passes"], fig5["train"], fig5["test"], strict=False):
        k = cols[1] - cols[0] + 1 if isinstance(cols, list) else 1
        train += [tr] * k
        test += [te] * k
    assert paper.FIG5_TRAIN == train and paper.FIG5_TEST == test and len(train) == REF["passes"]
    assert paper.FIG6 == {k: tuple(v) for k, v in REF["fig6"].items()}
    assert paper.FIG9 == REF["fig9"] and paper.PAPER_UNCERTAINTY == REF["uncertainty"]
    assert paper.FIG10 == REF["fig10"] and paper.FIG10_ERROR == REF["fig10_error"]
    assert paper.FIG11_12 == {k: tuple(v) for k, v in REF["fig11_12"].items()}
    assert paper.LENET1 == REF["lenet1"] and paper.LENET4 == REF["lenet4"]
    assert paper.BOOSTED_COST == REF["boosted_cost"] and paper.LINEAR_PARAMS == REF["linear_params"]
    assert paper.FIRST_PASS_EPS == tuple(REF["first_pass_eps"])
    assert paper.QMNIST_TEST_ERROR == REF["qmnist_lush_test_error"]
