"""layers.py's switches that the paper does not fix, against their textbook definitions (not against
the code): each activation and its derivative, each init scheme's range or spread, the modern pools;
LeNet-4's shared-map S2 curvature against loops (Eq. 25-27); and checkpoints: a packed C3 round trip and
the committed runs' model.pt files loading strictly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from paper_lenet import build_model, load_config
from paper_lenet.config import ModelConfig
from paper_lenet.core.layers import Activation, Pool, Subsampling, init_layer

A_VALUES = [-3.0, -1.0, -0.25, 0.0, 0.5, 2.0]


def test_activations_and_derivatives_by_definition():
    a = torch.tensor(A_VALUES, dtype=torch.float64)
    want = {  # f(a), f'(a) worked from the definitions with math, value by value
        "tanh": ([math.tanh(v) for v in A_VALUES], [1 / math.cosh(v) ** 2 for v in A_VALUES]),
        "relu": ([max(v, 0.0) for v in A_VALUES], [1.0 if v > 0 else 0.0 for v in A_VALUES]),
        "identity": (A_VALUES, [1.0] * len(A_VALUES)),
        "scaled_tanh": (
            [1.7159 * math.tanh(2 / 3 * v) for v in A_VALUES],  # Eq. 5-6, App. A
            [1.7159 * 2 / 3 / math.cosh(2 / 3 * v) ** 2 for v in A_VALUES],
        ),
    }
    for name, (f, df) in want.items():
        act = Activation(name)
        # float64 throughout: 1e-12 is rounding only
        assert act(a).tolist() == pytest.approx(f, abs=1e-12), name
        assert act.derivative(a).tolist() == pytest.approx(df, abs=1e-12), name
        # the curvature pass's f' is the gradient pass's (autograd's; relu'(0) = 0 in both)
        x = a.clone().requires_grad_()
        (grad,) = torch.autograd.grad(act(x).sum(), x)
        assert torch.allclose(act.derivative(a), grad, atol=1e-12), name


def _weights(model, name):
    layer = getattr(model, name)
    return layer.coef if name.startswith("S") else layer.weight


# fan-in F of each unit of LeNet-5 (App. A's F; S2/S4: 4 inputs per coefficient)
FAN = {"C1": 25, "S2": 4, "S4": 4, "C5": 400, "F6": 120}


@pytest.mark.parametrize("scheme,c", [("lecun98_sqrt", 2.4), ("torch_default", 1.0)])  # bound c / sqrt(F)
def test_uniform_init_schemes_fill_their_range(scheme, c):
    """lecun98_sqrt: +-2.4/sqrt(F); torch_default: PyTorch's conv/linear default +-1/sqrt(F), biases too."""
    model = build_model(ModelConfig(init=scheme), seed=0)
    for name, f in FAN.items():
        for w in (_weights(model, name),) + (
            (getattr(model, name).bias,) if scheme == "torch_default" else ()
        ):
            top = w.abs().max().item()
            assert top <= (c / math.sqrt(f)) * (1 + 1e-6), (name, top)  # float32 rounding of the bound
            # n uniform draws all below 0.8 of the bound: probability 0.8^n, < 1e-6 for n >= 62 (the
            # smallest here: 6 S2 coefficients, so for S2/S4 only the upper bound is checked)
            assert w.numel() < 62 or top > 0.8 * (c / math.sqrt(f)), (name, top)
    if scheme != "torch_default":
        assert all(torch.count_nonzero(getattr(model, n).bias) == 0 for n in FAN)  # bias_init: zero


def test_kaiming_init_is_normal_with_variance_2_over_fan_in():
    """He et al. (2015): N(0, 2/F). C5 has 48,000 weights: the sample sd's relative SE is 1/sqrt(2n) = 0.3%,
    so 2% is ~6 SE; F6 (10,080) 0.7% SE, 4%."""
    model = build_model(ModelConfig(init="kaiming"), seed=0)
    for name, tol in (("C5", 0.02), ("F6", 0.04)):
        w = _weights(model, name)
        assert w.std().item() == pytest.approx(math.sqrt(2 / FAN[name]), rel=tol), name
        assert abs(w.mean().item()) < 4 * math.sqrt(2 / FAN[name] / w.numel()), name  # 4 SE of the mean


def test_uniform_biases_share_the_weights_range():
    """bias_init: uniform draws each unit's bias in its weights' range (+-2.4/F under lecun98)."""
    model = build_model(ModelConfig(init="lecun98", bias_init="uniform"), seed=0)
    for name in ("C1", "C5", "F6"):
        b = getattr(model, name).bias
        assert b.abs().max().item() <= 2.4 / FAN[name] * (1 + 1e-6) and torch.count_nonzero(b) == b.numel(), (
            name
        )
        # C5's 120 and F6's 84 draws all below half the bound: probability 0.5^84 < 1e-25 (C1 has only 6)
        assert name == "C1" or b.abs().max().item() > 0.5 * 2.4 / FAN[name], name


def test_a_packed_c3_checkpoint_loads_as_it_was_saved():
    """Table I's C3 saves its 60 connected kernels; loading them back changes nothing (the dense
    16x6 layout of older checkpoints is test_model's)."""
    a, b = build_model(ModelConfig(c3="table"), seed=0), build_model(ModelConfig(c3="table"), seed=1)
    assert a.C3.weight.shape == (60, 5, 5)  # 6 x 3 + 9 x 4 + 1 x 6 input maps
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=False))


def test_modern_pools_by_definition():
    """pooling: max / avg (the modern switches, Sec. II-A's averaging without coefficient): each output
    unit is the max / the mean of its 2x2 block, worked here with plain indexing."""
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    blocks = torch.stack([x[..., i::2, j::2] for i in (0, 1) for j in (0, 1)])  # the 4 members of each block
    assert torch.equal(Pool("max").pre(x), blocks.amax(0))
    assert torch.allclose(Pool("avg").pre(x), blocks.mean(0), atol=1e-6)  # float32 sums of 4 terms
    assert torch.equal(Pool("max")(x), Pool("max").pre(x))  # no activation after a parameter-free pool


@pytest.mark.parametrize("name", ["lenet5_1998", "fig9-lenet4"])  # LeNet-4's S2 reads its C1 maps by `src`
def test_the_committed_checkpoints_load_strictly(name):
    """A checkpoint holds the parameters and the saved buffers (masks, F7's codes), nothing derived
    (C3's kernel slots, S2's sources): the committed runs' model.pt files, written by earlier versions of
    the package, load into today's model with strict key checking."""
    run = Path(__file__).resolve().parents[1] / "results" / "runs" / name / "seed0"
    if not (run / "model.pt").exists():
        pytest.skip(f"{run} not committed")
    state = torch.load(run / "model.pt", weights_only=True)
    model = build_model(load_config(run / "config.yaml").model, seed=0)
    model.load_state_dict(state)  # strict: a missing or unexpected key raises
    assert set(model.state_dict()) == set(state)


def test_subsampling_that_reads_shared_maps_against_brute_force():
    """LeNet-4's S2: output map m pools input map src[m] (two outputs per input). Eq. 25-27 by loops:
    each of the 4 connections of a unit has weight k coef[m]; an input read by two maps adds up both."""
    src = [0, 0, 1, 1, 2]
    layer = Subsampling(5, "scaled_tanh", "sum", src=src).double()
    init_layer(layer, "lecun98", "uniform", torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    x, g2 = (
        torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64),
        torch.rand(2, 5, 2, 2, generator=g, dtype=torch.float64),
    )
    hs, g2_x = layer.curvature_pre(x, g2)
    h_c, g2_in = torch.zeros(5, dtype=torch.float64), torch.zeros_like(x)
    for b in range(2):
        for m, i in enumerate(src):
            for r in range(2):
                for c in range(2):
                    for u in range(2):
                        for v in range(2):
                            h_c[m] += g2[b, m, r, c] * (layer.k * x[b, i, 2 * r + u, 2 * c + v]) ** 2
                            g2_in[b, i, 2 * r + u, 2 * c + v] += (layer.k * layer.coef[m]) ** 2 * g2[
                                b, m, r, c
                            ]
    assert torch.allclose(hs["coef"], h_c) and torch.allclose(g2_x, g2_in)  # float64: rounding only
    assert torch.allclose(hs["bias"], g2.sum(dim=(0, 2, 3)))
