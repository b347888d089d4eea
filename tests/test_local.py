"""LeNet-4 / Local (paper_lenet/comparison/local.py) against a direct per-query solve on small inputs."""

from __future__ import annotations

import torch

from paper_lenet.comparison import local
from paper_lenet.comparison.local import LocalConfig
from paper_lenet.config import Config, DataConfig, ModelConfig
from paper_lenet.core.registry import method


def data(n=300, d=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    means = 3 * torch.randn(10, d, generator=gen)
    y = torch.arange(10).repeat(n // 10)
    return means[y] + torch.randn(n, d, generator=gen), y


def direct(x, y, q, k, decay):
    """One query at a time: sort the distances, build the ridge system explicitly, solve (float64)."""
    out = []
    for v in q.double():
        j = ((x.double() - v) ** 2).sum(1).argsort()[:k]
        a = torch.cat([x[j].double(), torch.ones(k, 1, dtype=torch.float64)], 1)  # not centred on q
        t = -torch.ones(k, 10, dtype=torch.float64)
        t[torch.arange(k), y[j]] = 1.0
        reg = decay * torch.eye(a.shape[1], dtype=torch.float64)
        reg[-1, -1] = 0.0
        w = torch.linalg.solve(a.T @ a / k + reg, a.T @ t / k)
        out.append(torch.cat([v, torch.ones(1, dtype=torch.float64)]) @ w)
    return torch.stack(out)


def test_batched_local_fit_matches_direct_solve():
    x, y = data()
    q, _ = data(40, seed=1)
    for k, decay in ((20, 0.1), (50, 1.0), (8, 0.01)):
        ours = local.local_scores(x, y, q, k, decay)
        assert torch.allclose(ours.double(), direct(x, y, q, k, decay), atol=1e-4), (k, decay)


def test_large_decay_is_the_neighbours_vote():
    x, y = data()
    q, _ = data(30, seed=2)
    k = 15
    s = local.local_scores(x, y, q, k, 1e8)
    _, j = ((q[:, None] - x[None]) ** 2).sum(2).topk(k, 1, largest=False)
    frac = torch.zeros(len(q), 10).scatter_add_(1, y[j], torch.ones(len(q), k)) / k
    assert torch.allclose(s, 2 * frac - 1, atol=1e-5)  # the mean of the +-1 targets


def test_choose_reports_the_grid_and_fit_records_the_choice():
    x, y = data(600)
    cfg = Config(
        name="t",
        model=ModelConfig(arch="local", input_size=28),
        data=DataConfig(download=False),
        local=LocalConfig(k=0),
    )
    fitted = local.fit_local(cfg, x, y, log=lambda s: None)
    assert len(fitted.metrics["val_errors"]) == len(local.K_CHOICES) * len(local.DECAY_CHOICES)
    assert fitted.summary["k"] in local.K_CHOICES and fitted.summary["decay"] in local.DECAY_CHOICES
    assert fitted.metrics["val_n"] == 100 and fitted.metrics["val_fit_n"] == 500
    assert (fitted.scores(x[:50]).argmax(1) == y[:50]).float().mean() > 0.9


def test_cost_and_row():
    d, k, p = 120, 100, 121
    c = local.local_cost(60000, d, k, {"macs": 1000, "params": 17})
    assert c["macs"] == 1000 + 60000 * d + k * p * (p + 1) // 2 + 10 * k * p + p**3 // 3 + 10 * p * p
    assert c["memory"] == 17 + 60000 * d
    cfg = Config(name="t", model=ModelConfig(arch="local"), local=LocalConfig(features="x/seed{seed}"))
    assert method("local").row(cfg) == "LeNet-4 / Local" and method("local").cost(cfg) == {}
