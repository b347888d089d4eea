"""Why SDLM's steps grow after pass 1: saturation and h_kk per layer, at init and after pass 1.

Command: python -m experiments.curvature_diagnosis [CONFIG] [overrides...]
  (default configs/lenet5_1998.yaml; trains one pass into a temporary directory, ~10 s)
Prints, for 500 training images drawn as the trainer draws them for pass 2: per layer the
fraction of units with |a| > 2 (deep in the squashing function's flat part) and the weights' rms,
and per parameter tensor the median h_kk and the median eps_k = eta / (mu + h_kk) at the pass's eta.
Expected (lenet5_1998, seed 0): C1/C3/C5 saturation rises from ~1% / ~0% / 0% at init to ~17% /
~32% / ~27% after pass 1 and the median h_kk of their weights falls ~10x: the median eps_k of
pass 2 is ~3x that of pass 1 (docs/deviations.md, "Open question").
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

from paper_lenet import build_model, load_config
from paper_lenet.core.sdlm import curvature, eta_for_epoch, rate_stats, sdlm_rates
from paper_lenet.data.mnist import load_mnist
from paper_lenet.files import load_torch
from paper_lenet.training.schedule import hessian_pick
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]


def report(model, cfg, x, y, epoch: int, title: str) -> None:
    print(f"\n{title}")
    with torch.no_grad():
        stages, _ = model.trace(x)
        for name, layer, _, a in stages:
            w = getattr(layer, "weight", getattr(layer, "coef", None))
            rms = f"{w.pow(2).mean().sqrt():.3f}" if w is not None else "-"
            print(f"  {name:3s} |a| > 2: {100 * (a.abs() > 2).float().mean():5.1f}%   weight rms {rms}")
    hess = curvature(model, x, y, cfg.train.loss, cfg.train.map_j)
    eta = eta_for_epoch(cfg.train.sdlm.eta, epoch)
    rates = sdlm_rates(model, hess, eta, cfg.train.sdlm.mu)
    print(
        f"  {'parameter':10s} {'median h_kk':>12s} {'median eps_k':>13s}   (eta {eta:g}, mu "
        f"{cfg.train.sdlm.mu:g})"
    )
    for n, v in hess.items():
        print(f"  {n:10s} {v.median():12.3g} {rates[n].median():13.3g}")
    lo, med, hi = rate_stats(rates)
    print(f"  all parameters: eps_k min {lo:.3g}, median {med:.3g}, max {hi:.3g} (as train logs them)")


def main(argv: list[str]) -> None:
    config = (
        argv[0]
        if argv and argv[0].endswith((".yaml", ".yml"))
        else str(ROOT / "configs" / "lenet5_1998.yaml")
    )
    overrides = argv[1:] if argv and argv[0] == config else argv
    cfg = load_config(config, overrides)
    torch.set_num_threads(1)
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    n = len(data.train_y)

    def sample(epoch):  # the images the trainer uses for that pass's h_kk
        pick = hessian_pick(cfg, n, epoch)
        return data.train_x[pick], data.train_y[pick]

    model = build_model(cfg.model, seed=cfg.seed)
    report(model, cfg, *sample(1), 1, "at init (the h_kk of pass 1)")
    with tempfile.TemporaryDirectory() as tmp:
        one = load_config(config, [*overrides, "train.epochs=1"])
        train(one, Path(tmp) / "run", log=lambda *_: None)
        model.load_state_dict(load_torch(Path(tmp) / "run" / "model.pt"))
    report(model, cfg, *sample(2), 2, "after pass 1 (the h_kk of pass 2)")


if __name__ == "__main__":
    main(sys.argv[1:])
