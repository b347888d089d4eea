"""FastBatchGrad: minibatch gradients from the compiled lenet5.c against autograd, and training with it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from paper_lenet import build_model, load_config
from paper_lenet.core.losses import loss_fn
from paper_lenet.data.mnist import load_mnist
from paper_lenet.fast import FastBatchGrad, build, fast_supported
from paper_lenet.training.steppers import make_batch_grad
from paper_lenet.training.train import train

WHY_NOT = build.unavailable()  # PAPER_LENET_FAST=off, no C compiler, or it does not compile here
if WHY_NOT is not None:  # the autograd fallback is what every other test module then exercises
    pytest.skip(f"fast path unavailable: {WHY_NOT}", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
MODERN = ROOT / "configs" / "modern.yaml"
PAPER = ROOT / "configs" / "lenet5_1998.yaml"
VARIANTS = {  # (config, overrides): both heads, every activation and pooling, table and dense C3
    "modern": (MODERN, []),
    "paper_mse": (PAPER, ["train.optimizer=adam", "train.batch_size=32"]),
    "tanh_avg_map_table": (
        MODERN,
        ["model.activation=tanh", "model.pooling=avg", "model.c3=table", "model.head=rbf", "train.loss=map"],
    ),
    "subsample_sum_ce": (
        PAPER,
        [
            "model.subsample_mode=sum",
            "model.head=linear",
            "train.loss=cross_entropy",
            "train.optimizer=sgd",
            "train.batch_size=16",
        ],
    ),
    "lush_adam": (
        PAPER,
        [
            "model.subsample_mode=sum",
            "model.head=squashed",
            "train.loss=edist",
            "model.init=forget",
            "data.scaling=lush",
            "train.optimizer=adam",
            "train.batch_size=32",
        ],
    ),
}


def batch(root, cfg):
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    return data.train_x, data.train_y


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("variant", VARIANTS)
def test_batch_gradient_matches_autograd(synthetic_root, variant, threads):
    path, extra = VARIANTS[variant]
    cfg = load_config(
        path, [f"data.root={synthetic_root}", "data.download=false", "data.train_size=600", *extra]
    )
    x, y = batch(synthetic_root, cfg)
    model = build_model(cfg.model, seed=1)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(3))[:67]  # uneven split
    out = model(x[idx])
    loss = loss_fn(cfg.train.loss, out, y[idx], cfg.train.map_j)
    loss.backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    errors_want = int((model.scores(out).argmax(1) != y[idx]).sum())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    grad = FastBatchGrad(model, cfg.train.loss, cfg.train.map_j, threads)
    errors, loss_sum = grad(x, y, idx)
    grad.close()
    assert errors == errors_want
    assert loss_sum / len(idx) == pytest.approx(loss.item(), rel=1e-5)
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n]), f"{n} changed: batch mode must not update weights"
        scale = want[n].abs().max().clamp_min(1e-12)
        assert ((p.grad - want[n]).abs().max() / scale).item() <= 2e-5, n


def test_split_over_threads_changes_nothing_but_summation_order(synthetic_root):
    cfg = load_config(MODERN, [f"data.root={synthetic_root}", "data.download=false", "data.train_size=600"])
    x, y = batch(synthetic_root, cfg)
    model = build_model(cfg.model, seed=0)
    idx = torch.arange(128)
    grads = []
    for threads in (1, 2, 1):
        g = FastBatchGrad(model, "cross_entropy", 10.0, threads)
        g(x, y, idx)
        g.close()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for n in grads[0]:
        assert torch.equal(grads[0][n], grads[2][n])  # deterministic
        torch.testing.assert_close(grads[1][n], grads[0][n], rtol=1e-5, atol=1e-7)


def test_minibatch_training_fast_and_autograd_agree(synthetic_root, tmp_path, monkeypatch):
    base = [
        f"data.root={synthetic_root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=3",
        "train.batch_size=32",
    ]
    logs, calls = [], []
    real_call = FastBatchGrad.__call__

    def spy(self, *a):  # the training loop must really take its gradients from the C code
        calls.append(len(a[2]))
        return real_call(self, *a)

    monkeypatch.setattr(FastBatchGrad, "__call__", spy)
    on = train(load_config(MODERN, base + ["train.fast=on"]), tmp_path / "on", log=logs.append)
    assert sum(calls) == 3 * 600 and max(calls) == 32  # every image of 3 epochs, in batches of 32
    n_calls = len(calls)
    off = train(load_config(MODERN, base + ["train.fast=off"]), tmp_path / "off", log=lambda *_: None)
    assert len(calls) == n_calls  # train.fast=off: autograd only
    assert not any("notice" in str(entry) for entry in logs)
    n = 200  # synthetic test images
    p = max((on["test_error"] + off["test_error"]) / 2, 1 / n)
    assert abs(on["test_error"] - off["test_error"]) <= 3 * math.sqrt(2 * p * (1 - p) / n) + 1 / n
    assert on["test_error"] < 0.3


def test_batch_path_supported_for_minibatch_configs_only_where_it_applies(monkeypatch):
    cfg = load_config(MODERN)
    model = build_model(cfg.model, seed=0)
    assert "per-sample" in fast_supported(model, cfg)  # the SDLM stepper does not serve Adam
    assert fast_supported(model, cfg, per_sample=False) is None
    assert make_batch_grad(model, load_config(MODERN, ["train.fast=off"]), 1) is None
    assert isinstance(make_batch_grad(model, cfg, 1), FastBatchGrad)
    monkeypatch.setattr(build, "compiler", lambda: None)
    notes = []
    assert make_batch_grad(model, cfg, 1, log=notes.append) is None  # autograd then
    assert "notice" in notes[0] and "no C compiler" in notes[0]
