"""The switches for what the authors' own code does (docs/deviations.md): `forget v p` init, the
squashed 10-output head with 1/2 squared error, x 0.01 input, file order, the SDLM Hessian schedule
and image choice, SN2.8's running average, and the validation split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from paper_lenet import build_model, load_config
from paper_lenet.config import ModelConfig
from paper_lenet.core.losses import output_curvature, per_sample_loss
from paper_lenet.core.sdlm import curvature, sdlm_rates
from paper_lenet.data.mnist import load_mnist
from paper_lenet.errors import ConfigError
from paper_lenet.fast import build
from paper_lenet.training.schedule import hessian_due, hessian_pick, pass_order
from paper_lenet.training.steppers import ReferenceStepper
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "configs" / "lenet5_1998.yaml"
LUSH = ROOT / "configs" / "lenet5_lush.yaml"


def small(root, *extra):
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=2",
        "train.sdlm.hessian_samples=50",
        *extra,
    ]


@pytest.mark.parametrize("v,p", [(1.0, 2.0), (2.4, 1.0), (2.5, 2.0)])
def test_forget_init_ranges(v, p):
    """forget v p (gb-modules-nn.lsh): weights uniform +-v/F^(1/p), S coefficients v/4^(1/p), biases 0."""
    model = build_model(ModelConfig(init="forget", init_v=v, init_p=p, subsample_mode="sum"), seed=0)
    for name, fan in {"C1": 25, "C5": 400, "F6": 120}.items():
        w = getattr(model, name).weight
        bound = v / fan ** (1 / p)
        assert w.abs().max() <= bound * (1 + 1e-6) and w.abs().max() > 0.9 * bound, name  # fills its range
    dense = model.C3.w()
    for o in range(16):  # C3's fan-in: 25 x the maps it reads (75, 100 or 150)
        bound = v / float(model.C3.mask[o].sum() * 25) ** (1 / p)
        assert dense[o].abs().max() <= bound * (1 + 1e-6), o
    for s in ("S2", "S4"):
        assert torch.allclose(
            getattr(model, s).coef, torch.full_like(getattr(model, s).coef, v / 4 ** (1 / p))
        )
    assert all(torch.count_nonzero(getattr(model, n).bias) == 0 for n in ("C1", "S2", "C3", "S4", "C5", "F6"))


def test_squashed_head_and_edist_loss_by_hand():
    model = build_model(load_config(LUSH).model, seed=0)
    assert sum(p.numel() for p in model.F7.parameters()) == 850  # 84 x 10 + 10, trainable
    x = torch.randn(3, 1, 32, 32)
    out = model(x)
    a = model.F7.pre(model.features(x))
    assert torch.allclose(out, 1.7159 * torch.tanh(2 / 3 * a))  # the squashing on the 10 outputs
    y = torch.tensor([0, 4, 9])
    t = -torch.ones(3, 10)
    t[torch.arange(3), y] = 1.0
    assert torch.allclose(per_sample_loss("edist", out, y), 0.5 * ((out - t) ** 2).sum(1))
    assert torch.equal(model.predict(x), out.argmax(1))
    # the loss's exact second derivative w.r.t. each output is 1 (the 1/2 cancels the square's 2)
    g = torch.autograd.functional.hessian(
        lambda o: per_sample_loss("edist", o[None], y[:1]).sum(), out[0].detach()
    )
    assert torch.allclose(torch.diagonal(g), output_curvature("edist", None, None, out[:1], y[:1])[0])


def test_squashed_head_curvature_is_gauss_newton():
    """h_kk of F7 with the squashed head: sum over samples of f'(a_i)^2 x_j^2 (loss curvature 1), /N."""
    torch.set_default_dtype(torch.float64)
    try:
        model = build_model(load_config(LUSH).model, seed=0)
        x, y = torch.randn(4, 1, 32, 32), torch.tensor([1, 2, 3, 4])
        h = curvature(model, x, y, "edist")
        feats = model.features(x)
        d = model.F7.act.derivative(model.F7.pre(feats))  # (N, 10)
        want = torch.einsum("ni,nj->ij", d**2, feats**2) / len(x)
        assert torch.allclose(h["F7.weight"], want) and torch.allclose(h["F7.bias"], (d**2).mean(0))
    finally:
        torch.set_default_dtype(torch.float32)


def test_config_pairs_squashed_head_with_edist():
    with pytest.raises(ConfigError, match="train.loss=mse needs model.head=rbf"):
        load_config(LUSH, ["train.loss=mse"])
    with pytest.raises(ConfigError, match="train.loss=edist needs model.head=squashed"):
        load_config(PAPER, ["train.loss=edist"])
    with pytest.raises(ConfigError, match="train_size \\+ data.validation"):
        load_config(PAPER, ["data.validation=1"])  # 60,000 + 1


def test_lush_scaling_background_zero_ink_255(synthetic_root):
    cfg = load_config(LUSH, [f"data.root={synthetic_root}", "data.download=false", "data.train_size=600"])
    data = load_mnist(cfg.data, 32, 0, log=lambda *_: None)
    assert data.train_x[:, :, :2].abs().max() == 0  # the padding is the background, 0
    raw = data.train_raw.float()
    assert torch.allclose(data.train_x[:, 0, 2:30, 2:30], raw * 0.01)  # pixel x 0.01: ink 255 -> 2.55


def test_file_order_and_hessian_schedules():
    cfg = load_config(LUSH)
    assert torch.equal(pass_order(cfg, 7, 3), torch.arange(7))
    assert torch.equal(hessian_pick(cfg, 5000, 11), torch.arange(1000))  # the first 1,000 images
    # per_block: at the start of each block of 10 passes (when eta changes), and only then
    assert [e for e in range(1, 31) if hessian_due(cfg, e)] == [1, 11, 21]
    paper = load_config(
        PAPER,
        ["train.sdlm.hessian=per_pass", "train.sdlm.hessian_pick=random", "train.sdlm.hessian_samples=500"],
    )
    assert all(hessian_due(paper, e) for e in range(1, 21))
    a, b = hessian_pick(paper, 5000, 1), hessian_pick(paper, 5000, 2)
    assert len(a) == 500 and not torch.equal(a, b)  # a new random draw each pass
    once = load_config(PAPER, ["train.sdlm.hessian=once"])
    assert [e for e in range(1, 21) if hessian_due(once, e)] == [1]


def test_authors_eta_blocks_are_lenet5_lsh_patch():
    """QMNIST's lenet5.lsh.patch (tests/data/paper_facts.yaml, authors_eta): 10 passes at 1e-4, then 1e-5,
    then 1e-6: the authors' schedule and the lenet5_lush config's."""
    import yaml

    from paper_lenet.core.sdlm import eta_for_epoch
    from paper_lenet.paper import AUTHORS_ETA

    blocks = yaml.safe_load((ROOT / "tests" / "data" / "paper_facts.yaml").read_text())["authors_eta"]
    assert AUTHORS_ETA == [[last, eta] for _, last, eta in blocks]
    eta = load_config(LUSH).train.sdlm.eta
    assert [eta_for_epoch(eta, p) for p in range(1, 31)] == [
        e for first, last, e in blocks for _ in range(first, last + 1)
    ]


@pytest.mark.parametrize("schedule", ["per_block", "once", "per_pass"])
def test_hessian_schedule_in_training(synthetic_root, tmp_path, schedule):
    """eps_k = eta / (mu + h_kk): with h_kk kept, the logged eps range follows eta exactly."""
    eta = "[[2, 5.0e-4], [3, 1.0e-4]]"
    cfg = load_config(
        PAPER,
        small(synthetic_root, "train.epochs=3", f"train.sdlm.eta={eta}", f"train.sdlm.hessian={schedule}"),
    )
    train(cfg, tmp_path / "r", log=lambda *_: None)
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    eps = [(r["eff_lr_min"], r["eff_lr_max"]) for r in rows]
    same_h_12 = schedule in ("per_block", "once")  # pass 2 has pass 1's eta and (then) its h_kk
    assert (eps[1] == eps[0]) == same_h_12
    if schedule == "once":  # pass 3: eta / 5 on the same h_kk (float32 rates: 1e-6 relative)
        assert eps[2] == pytest.approx(tuple(e / 5 for e in eps[0]), rel=1e-5)
    else:  # re-estimated after two passes of training: the curvature has moved
        assert eps[2] != pytest.approx(tuple(e / 5 for e in eps[0]), rel=1e-3)


def test_running_hessian_is_sn28_average(synthetic_root):
    """hessian=running: before each pattern's step sigma <- (1 - gamma) sigma + gamma h_p."""
    cfg = load_config(PAPER, small(synthetic_root))
    data = load_mnist(cfg.data, 32, 0, log=lambda *_: None)
    model = build_model(cfg.model, seed=0)
    h0 = curvature(model, data.train_x[:50], data.train_y[:50], "mse")
    h_p = curvature(model, data.train_x[7:8], data.train_y[7:8], "mse")  # at the weights before step 1
    s = ReferenceStepper(model, "mse", 10.0)
    s.set_rates(sdlm_rates(model, h0, 5e-4, 0.02))
    s.set_running(h0, 5e-4, 0.02, 0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    s.run(data.train_x, data.train_y, torch.tensor([7]))
    sigma = s.running_hessian()
    for n in sigma:
        assert torch.allclose(sigma[n], 0.9 * h0[n] + 0.1 * h_p[n], rtol=1e-5, atol=1e-12), n
    moved = {n: (p - before[n]).abs().max().item() for n, p in model.named_parameters()}
    assert all(v > 0 for v in moved.values())


def test_running_hessian_trains_on_the_autograd_path(synthetic_root, tmp_path):
    """avg pooling with hessian=running is not in lenet5_curv.h: the autograd reference trains it."""
    notes = []
    cfg = load_config(
        PAPER,
        small(
            synthetic_root,
            "train.epochs=1",
            "data.train_size=200",
            "train.sdlm.hessian=running",
            "model.pooling=avg",
        ),
    )
    s = train(cfg, tmp_path / "r", log=notes.append)
    assert any("hessian=running" in str(n) for n in notes) or build.unavailable() is not None  # says why
    assert s["test_error"] < 0.9 and math.isfinite(s["train_error"])


def test_validation_split_is_held_out_and_test_never_scored(synthetic_root, tmp_path):
    cfg = load_config(
        PAPER,
        small(
            synthetic_root,
            "data.train_size=500",
            "data.validation=100",
            "data.subset=first",
            "train.epochs=1",
        ),
    )
    data = load_mnist(cfg.data, 32, 0, log=lambda *_: None)
    full = load_mnist(load_config(PAPER, small(synthetic_root)).data, 32, 0, log=lambda *_: None)
    assert torch.equal(data.val_x, full.train_x[500:]) and torch.equal(data.val_y, full.train_y[500:])
    assert torch.equal(data.train_x, full.train_x[:500])  # the last 100 never reach training
    summary = train(cfg, tmp_path / "r", log=lambda *_: None)
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert "val_error" in rows[0] and "test_error" not in rows[0]
    assert "val_error" in summary and "test_error" not in summary and summary["n_val"] == 100
    assert (tmp_path / "r" / "val_predictions.txt").exists()
    assert not (tmp_path / "r" / "test_predictions.txt").exists()
