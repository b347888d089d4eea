"""The compiled per-sample SDLM path against the autograd reference, for every model switch."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch

from paper_lenet import load_config
from paper_lenet.data.mnist import load_mnist
from paper_lenet.errors import ConfigError
from paper_lenet.fast import FastStepper, build, fast_supported
from paper_lenet.model import build_model
from paper_lenet.sdlm import curvature, sdlm_rates
from paper_lenet.steppers import ReferenceStepper, make_stepper
from paper_lenet.train import train

if build.compiler() is None:
    pytest.skip("no C compiler (gcc, cc or $CC): the fast path cannot be built here", allow_module_level=True)

PAPER = Path(__file__).resolve().parents[1] / "configs" / "lenet5_1998.yaml"
VARIANTS = {
    "paper": [],
    "modern": ["model.activation=relu", "model.pooling=max", "model.c3=full", "model.head=linear",
               "train.loss=cross_entropy"],
    "tanh_avg_map": ["model.activation=tanh", "model.pooling=avg", "train.loss=map"],
    "subsample_sum": ["model.subsample_mode=sum"],
}


@pytest.fixture(autouse=True)
def one_thread():
    """Batch-1 autograd is fastest on one thread (and far slower when a shared core is busy)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def setup(root, extra, eta=5e-4):
    """(cfg, data, reference model, fast model: same init, SDLM rates from 50 samples)."""
    cfg = load_config(PAPER, [f"data.root={root}", "data.download=false", "data.train_size=600", *extra])
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    ref = build_model(cfg.model, seed=cfg.seed)
    fast = copy.deepcopy(ref)
    hess = curvature(ref, data.train_x[:50], data.train_y[:50], cfg.train.loss, cfg.train.map_j)
    return cfg, data, ref, fast, sdlm_rates(ref, hess, eta, cfg.train.sdlm.mu)


def run_both(cfg, ref, fast, rates, x, y, idx):
    steppers = [ReferenceStepper(ref, cfg.train.loss, cfg.train.map_j),
                FastStepper(fast, cfg.train.loss, cfg.train.map_j)]
    out = []
    for s in steppers:
        s.set_rates(rates)
        out.append([s.run(x, y, chunk) for chunk in idx.split(250)])
    return out


def max_rel(ref, fast):
    """Largest |fast - ref| / max|ref| over the parameter tensors, and the name where it is."""
    pr, pf = dict(ref.named_parameters()), dict(fast.named_parameters())
    rel = {n: ((pf[n] - pr[n]).abs().max() / pr[n].abs().max().clamp_min(1e-30)).item() for n in pr}
    worst = max(rel, key=rel.get)
    return rel[worst], worst


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_matches_reference(synthetic_root, variant):
    cfg, data, ref, fast, rates = setup(synthetic_root, VARIANTS[variant])
    before = copy.deepcopy(ref)
    (r,), (f,) = run_both(cfg, ref, fast, rates, data.train_x, data.train_y, torch.tensor([7]))
    assert r[0] == f[0] and r[1] == pytest.approx(f[1], rel=1e-5)
    rel, where = max_rel(ref, fast)
    assert rel <= 1e-5, f"{variant}: {where} differs by {rel:.2e} relative"
    # the update itself, not only the parameters, agrees (it is small next to the weights)
    for (n, p0), (_, pr), (_, pf) in zip(before.named_parameters(), ref.named_parameters(), fast.named_parameters()):
        dr, df = pr - p0, pf - p0
        assert dr.abs().max() > 0, f"{variant}: {n} did not move"
        assert (df - dr).abs().max() <= 1e-3 * dr.abs().max() + 1e-6 * p0.abs().max(), n
    # C3's unconnected kernels stay exactly 0
    assert torch.equal(fast.C3.weight * (1 - fast.C3.mask), torch.zeros_like(fast.C3.weight))


@pytest.mark.parametrize("variant", VARIANTS)
def test_thousand_steps_stay_together(synthetic_root, variant):
    cfg, data, ref, fast, rates = setup(synthetic_root, VARIANTS[variant])
    order = torch.randperm(600, generator=torch.Generator().manual_seed(0))
    idx = torch.cat([order, order[:400]])  # 1,000 steps: a pass and two thirds
    r, f = run_both(cfg, ref, fast, rates, data.train_x, data.train_y, idx)
    rel, where = max_rel(ref, fast)
    assert rel <= 1e-3, f"{variant}: {where} drifted {rel:.2e} relative after 1,000 steps"
    errs_r, errs_f = sum(e for e, _ in r), sum(e for e, _ in f)
    assert abs(errs_r - errs_f) <= 1, (errs_r, errs_f)  # on-the-fly errors (a near-tie may flip)
    assert [e for e, _ in r][:2] == [e for e, _ in f][:2]
    loss_r, loss_f = sum(l for _, l in r), sum(l for _, l in f)
    assert loss_f == pytest.approx(loss_r, rel=1e-4)
    assert errs_f < 500  # and it learned something on the way (chance is 900)


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_diverged_weights_give_nan_loss_in_both_paths(synthetic_root, variant):
    """A diverging run (e.g. the literal +-2.4/F init) must show NaN, not a squashed finite loss."""
    cfg, data, ref, fast, rates = setup(synthetic_root, VARIANTS[variant])
    with torch.no_grad():
        ref.C1.weight[0, 0, 0, 0] = fast.C1.weight[0, 0, 0, 0] = float("nan")
    (r,), (f,) = run_both(cfg, ref, fast, rates, data.train_x, data.train_y, torch.arange(3))
    assert math.isnan(r[1]) and math.isnan(f[1])


def test_larger_input_uses_convolutional_c5(tmp_path):
    """input_size 36: C5 is a 2x2 convolution (another compiled library), still one-step exact."""
    cfg = load_config(PAPER, ["model.input_size=36"])
    torch.manual_seed(0)
    x, y = torch.randn(20, 1, 36, 36), torch.randint(0, 10, (20,))
    ref = build_model(cfg.model, seed=0)
    fast = copy.deepcopy(ref)
    rates = sdlm_rates(ref, curvature(ref, x[:10], y[:10], "mse"), 5e-4, 0.02)
    r, f = run_both(cfg, ref, fast, rates, x, y, torch.arange(20))
    assert [e for e, _ in r] == [e for e, _ in f]
    assert sum(l for _, l in f) == pytest.approx(sum(l for _, l in r), rel=1e-5)
    assert max_rel(ref, fast)[0] <= 1e-5


def test_non_contiguous_inputs_give_the_same_steps(synthetic_root):
    cfg, data, ref, fast, rates = setup(synthetic_root, [])
    s1, s2 = FastStepper(ref, "mse", 10.0), FastStepper(fast, "mse", 10.0)
    s1.set_rates(rates), s2.set_rates(rates)
    idx = torch.arange(0, 100)
    wide = torch.cat([data.train_x, data.train_x], 1)[:, :1]  # the same values, not contiguous
    assert not wide.is_contiguous()
    assert s1.run(data.train_x, data.train_y, idx) == s2.run(wide, data.train_y, idx)
    assert max_rel(ref, fast)[0] == 0.0


def small(root, *extra):
    return [f"data.root={root}", "data.download=false", "data.train_size=600", "train.epochs=2",
            "train.sdlm.hessian_samples=50", *extra]


def test_training_with_fast_path_reaches_the_same_error(synthetic_root, tmp_path):
    logs = []
    on = train(load_config(PAPER, small(synthetic_root, "train.fast=on")), tmp_path / "on", log=logs.append)
    off = train(load_config(PAPER, small(synthetic_root, "train.fast=off")), tmp_path / "off", log=lambda *_: None)
    assert not any("notice" in str(l) for l in logs)
    n = 200  # synthetic test images
    p = max((on["test_error"] + off["test_error"]) / 2, 1 / n)
    assert abs(on["test_error"] - off["test_error"]) <= 3 * math.sqrt(2 * p * (1 - p) / n) + 1 / n
    assert on["test_error"] < 0.3


def test_fast_supported_reasons():
    cfg = load_config(PAPER)
    model = build_model(cfg.model, seed=0)
    assert fast_supported(model, cfg) is None
    assert "float32" in fast_supported(copy.deepcopy(model).double(), cfg)
    assert "per-sample" in fast_supported(model, load_config(PAPER, ["train.batch_size=8"]))


def test_unavailable_fast_path_on_raises_auto_falls_back(monkeypatch):
    model = build_model(load_config(PAPER).model, seed=0)
    monkeypatch.setattr(build, "compiler", lambda: None)
    assert "no C compiler" in fast_supported(model, load_config(PAPER))
    with pytest.raises(ConfigError, match="fast path is unavailable.*no C compiler"):
        make_stepper(model, load_config(PAPER, ["train.fast=on"]), log=lambda *_: None)
    notes = []
    assert make_stepper(model, load_config(PAPER), log=notes.append).name == "reference"
    assert "notice" in notes[0] and "no C compiler" in notes[0]

    def broken(size):
        raise RuntimeError("compiling the fast path failed")

    monkeypatch.setattr(build, "compiler", lambda: "gcc")
    monkeypatch.setattr(build, "load", broken)
    with pytest.raises(ConfigError, match="compiling the fast path failed"):
        make_stepper(model, load_config(PAPER, ["train.fast=on"]), log=lambda *_: None)


def test_compiler_failure_is_a_clear_runtime_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_LENET_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with pytest.raises(RuntimeError, match="compiling the fast path failed"):
        build.build(32)
    assert not list(tmp_path.rglob("*.so"))  # no half-built library left behind
