"""SDLM's curvature h_kk (App. C) against brute force and exact second derivatives; eta schedule."""

from __future__ import annotations

import pytest
import torch

from paper_lenet import build_model
from paper_lenet.config import ModelConfig
from paper_lenet.core.layers import Conv, Full, Pool, Subsampling, init_layer
from paper_lenet.core.losses import output_curvature, per_sample_loss
from paper_lenet.core.sdlm import curvature, eta_for_epoch, rate_stats, sdlm_rates
from paper_lenet.paper import PAPER_ETA, rbf_codes


@pytest.fixture(autouse=True)
def double_precision():
    """Brute-force comparisons in double precision, for this module's tests only."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def brute_conv(layer: Conv, x, g2):
    """Eq. 25-27 by explicit loops over every connection (i = output unit, j = input)."""
    n_out, n_in, k, _ = layer.dense_shape
    w = layer.w()
    H = x.shape[2] - k + 1
    h_w, h_b, g2_x = torch.zeros(layer.dense_shape), torch.zeros(n_out), torch.zeros_like(x)
    for b in range(x.shape[0]):
        for o in range(n_out):
            for r in range(H):
                for c in range(H):
                    h_b[o] += g2[b, o, r, c]
                    for i in range(n_in):
                        if layer.mask[o, i] == 0:
                            continue
                        for u in range(k):
                            for v in range(k):
                                h_w[o, i, u, v] += g2[b, o, r, c] * x[b, i, r + u, c + v] ** 2
                                g2_x[b, i, r + u, c + v] += w[o, i, u, v] ** 2 * g2[b, o, r, c]
    connected = [o * n_in + i for o in range(n_out) for i in range(n_in) if layer.mask[o, i] != 0]
    return h_w.view(-1, k, k)[connected], h_b, g2_x  # one h per stored kernel weight


def brute_subsample(layer: Subsampling, x, g2):
    h_c, h_b, g2_x = torch.zeros_like(layer.coef), torch.zeros_like(layer.bias), torch.zeros_like(x)
    for b in range(x.shape[0]):
        for m in range(x.shape[1]):
            for r in range(x.shape[2] // 2):
                for c in range(x.shape[3] // 2):
                    h_b[m] += g2[b, m, r, c]
                    for u in range(2):
                        for v in range(2):  # each of the 4 connections has weight k * coef
                            h_c[m] += g2[b, m, r, c] * (layer.k * x[b, m, 2 * r + u, 2 * c + v]) ** 2
                            g2_x[b, m, 2 * r + u, 2 * c + v] += (layer.k * layer.coef[m]) ** 2 * g2[
                                b, m, r, c
                            ]
    return h_c, h_b, g2_x


def test_conv_with_table_against_brute_force():
    torch.manual_seed(0)
    layer = Conv(3, 4, 3, "scaled_tanh", table=((0,), (0, 1), (1, 2), (0, 1, 2)))
    init_layer(layer, "lecun98_sqrt", "uniform")
    x, g2 = torch.randn(2, 3, 6, 6), torch.rand(2, 4, 4, 4)
    hs, g2_x = layer.curvature_pre(x, g2)
    bw, bb, bx = brute_conv(layer, x, g2)
    assert hs["weight"].shape == layer.weight.shape == (8, 3, 3)  # 1 + 2 + 2 + 3 connected kernels
    assert torch.allclose(hs["weight"], bw) and torch.allclose(hs["bias"], bb) and torch.allclose(g2_x, bx)


@pytest.mark.parametrize("mode", ["sum", "average"])
def test_subsampling_against_brute_force(mode):
    torch.manual_seed(1)
    layer = Subsampling(3, "scaled_tanh", mode)
    init_layer(layer, "lecun98", "uniform")
    x, g2 = torch.randn(2, 3, 4, 4), torch.rand(2, 3, 2, 2)
    hs, g2_x = layer.curvature_pre(x, g2)
    bc, bb, bx = brute_subsample(layer, x, g2)
    assert torch.allclose(hs["coef"], bc) and torch.allclose(hs["bias"], bb) and torch.allclose(g2_x, bx)


def test_pools_and_full_against_brute_force():
    torch.manual_seed(2)
    x, g2 = torch.randn(1, 2, 4, 4), torch.rand(1, 2, 2, 2)
    _, g2_avg = Pool("avg").curvature_pre(x, g2)
    assert torch.allclose(g2_avg, g2.repeat_interleave(2, 2).repeat_interleave(2, 3) / 16)
    _, g2_max = Pool("max").curvature_pre(x, g2)
    assert torch.allclose(g2_max.sum(), g2.sum()) and (g2_max != 0).sum() == g2.numel()
    layer = Full(5, 3, "tanh")
    init_layer(layer, "lecun98", "uniform")
    xf, gf = torch.randn(4, 5), torch.rand(4, 3)
    hs, gx = layer.curvature_pre(xf, gf)
    bw = torch.stack([torch.stack([(gf[:, i] * xf[:, j] ** 2).sum() for j in range(5)]) for i in range(3)])
    bx = torch.stack(
        [torch.stack([(layer.weight[:, j] ** 2 * gf[b]).sum() for j in range(5)]) for b in range(4)]
    )
    assert torch.allclose(hs["weight"], bw) and torch.allclose(gx, bx)


def test_activation_squared_derivative_in_chain():
    torch.manual_seed(3)
    layer = Full(4, 2, "scaled_tanh")
    init_layer(layer, "lecun98_sqrt", "uniform")
    x = torch.randn(3, 4)
    a = layer.pre(x)
    g2 = torch.rand(3, 2)
    hs, _ = layer.curvature(x, a, g2)
    hs2, _ = layer.curvature_pre(x, layer.act.derivative(a) ** 2 * g2)
    assert torch.allclose(hs["weight"], hs2["weight"])


def test_exact_where_approximation_is_exact():
    """One linear layer + squared error: Gauss-Newton diagonal == exact Hessian diagonal."""
    torch.manual_seed(4)
    layer = Full(6, 3, "identity")
    init_layer(layer, "lecun98", "uniform")
    x, t = torch.randn(1, 6), torch.randn(1, 3)

    def loss(w, b):
        return ((x @ w.t() + b - t) ** 2).sum()

    (hw, _hb), _ = (
        torch.autograd.functional.hessian(loss, (layer.weight.detach(), layer.bias.detach()))[0],
        None,
    )
    exact_w = torch.diagonal(hw.reshape(18, 18)).reshape(3, 6)
    hs, _ = layer.curvature_pre(x, torch.full((1, 3), 2.0))  # d2E/da^2 = 2 for squared error
    assert torch.allclose(hs["weight"], exact_w)
    exact_b = torch.diagonal(
        torch.autograd.functional.hessian(lambda b: loss(layer.weight.detach(), b), layer.bias.detach())
    )
    assert torch.allclose(hs["bias"], exact_b)


@pytest.mark.parametrize("kind", ["mse", "map"])
def test_loss_curvature_is_exact_diagonal(kind):
    torch.manual_seed(5)
    codes = rbf_codes().double()
    x = rbf_codes()[2].double() + torch.randn(84) * 0.2  # near code 2: MAP's softmax is not flat
    target = torch.tensor([2])

    def e(v):
        y = ((v[None, None, :] - codes[None]) ** 2).sum(-1)
        return per_sample_loss(kind, y, target, map_j=8.0).sum()

    exact = torch.diagonal(torch.autograd.functional.hessian(e, x))
    y = ((x[None, None, :] - codes[None]) ** 2).sum(-1)
    ours = output_curvature(kind, x[None], codes, y, target, map_j=8.0)[0]
    assert torch.allclose(ours, exact, atol=1e-8)
    if kind == "map":
        assert not torch.allclose(ours, torch.full_like(ours, 2.0))  # the MAP term matters here


def test_cross_entropy_curvature():
    z = torch.randn(2, 10)
    t = torch.tensor([1, 4])
    exact = torch.stack(
        [
            torch.diagonal(
                torch.autograd.functional.hessian(
                    lambda v, i=i: per_sample_loss("cross_entropy", v[None], t[i : i + 1]).sum(), z[i]
                )
            )
            for i in range(2)
        ]
    )
    assert torch.allclose(output_curvature("cross_entropy", None, None, z, t), exact, atol=1e-8)


def test_model_curvature_top_layer_equals_exact_gauss_newton():
    """F6's h from the model-level pass equals J^T H_loss J's diagonal computed by autograd."""
    torch.manual_seed(6)
    model = build_model(ModelConfig(init="lecun98_sqrt"), seed=0).double()
    x, y = torch.randn(3, 1, 32, 32), torch.tensor([0, 5, 9])
    h = curvature(model, x, y, "mse")
    feats_in = model.C5(model.S4(model.C3(model.S2(model.C1(x))))).flatten(1).detach()
    exact_w = torch.zeros_like(model.F6.weight)
    for b in range(3):  # E = |f(W x + b) - w_D|^2: GN diagonal = 2 sum_i (d out_i / dW)^2
        jac = torch.autograd.functional.jacobian(
            lambda w, b=b: model.F6.act(feats_in[b] @ w.t() + model.F6.bias), model.F6.weight.detach()
        )
        exact_w += 2 * (jac**2).sum(0)
    assert torch.allclose(h["F6.weight"], exact_w / 3, rtol=1e-6)
    assert set(h) == {n for n, _ in model.named_parameters()}
    assert all((v >= 0).all() for v in h.values())


def test_every_head_and_pool_has_curvature():
    for cfg in [ModelConfig(pooling="max", head="linear", activation="relu"), ModelConfig(pooling="avg")]:
        model = build_model(cfg, seed=0).double()
        loss = "cross_entropy" if cfg.head == "linear" else "map"
        h = curvature(model, torch.randn(4, 1, 32, 32), torch.tensor([1, 2, 3, 4]), loss)
        assert set(h) == {n for n, _ in model.named_parameters()}
        for n, p in model.named_parameters():
            assert h[n].shape == p.shape


def test_rates_and_stats_cover_every_parameter():
    model = build_model(ModelConfig(), seed=0)
    h = {n: torch.full_like(p, 1.0) for n, p in model.named_parameters()}
    h["C1.bias"][0] = 0.0  # one parameter with no curvature: eps = eta/mu
    rates = sdlm_rates(model, h, 5e-4, 0.02)
    lo, med, hi = rate_stats(rates)
    assert (
        lo == pytest.approx(5e-4 / 1.02)
        and med == pytest.approx(5e-4 / 1.02)
        and hi == pytest.approx(5e-4 / 0.02)
    )
    assert sum(r.numel() for r in rates.values()) == 60000  # one eps_k per free parameter


def test_paper_eta_schedule():
    got = [eta_for_epoch(PAPER_ETA, e) for e in range(1, 21)]
    assert got[:2] == [5e-4] * 2 and got[2:5] == [2e-4] * 3 and got[5:8] == [1e-4] * 3
    assert got[8:12] == [5e-5] * 4 and got[12:] == [1e-5] * 8
    assert eta_for_epoch(PAPER_ETA, 25) == 1e-5
