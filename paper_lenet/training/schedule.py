"""What each pass of a run sees, derived from (config, seed, pass) alone, so a resumed run re-derives it:
the presentation order, the images h_kk is estimated on and when, the (distorted) inputs, the rates.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..config import Config
from ..core.sdlm import eta_for_epoch
from ..data.distort import distorted_pass


def seeded(seed: int, epoch: int, purpose: int) -> torch.Generator:
    state = np.random.SeedSequence([int(seed), int(epoch), int(purpose)]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def pass_order(cfg: Config, n: int, epoch: int) -> torch.Tensor:
    """`fixed`: one random order for all passes (the paper's "constant random order"); `reshuffle`:
    a new one each pass; `file`: the training file's own order (the authors' Lush code)."""
    if cfg.train.order == "file":
        return torch.arange(n)
    return torch.randperm(n, generator=seeded(cfg.seed, 0 if cfg.train.order == "fixed" else epoch, 1))


def hessian_due(cfg: Config, epoch: int) -> bool:
    """Is h_kk (re-)estimated before this pass? per_pass: always (the paper's text); per_block: when
    eta changes (the authors' code: QMNIST's blocks of 10 passes); once and running: before pass 1."""
    s = cfg.train.sdlm
    if epoch == 1 or s.hessian == "per_pass":
        return True
    return s.hessian == "per_block" and eta_for_epoch(s.eta, epoch) != eta_for_epoch(s.eta, epoch - 1)


def hessian_pick(cfg: Config, n: int, epoch: int) -> torch.Tensor:
    """The hessian_samples images of this estimate: random (seeded by seed and pass), or the first."""
    k = min(cfg.train.sdlm.hessian_samples, n)
    if cfg.train.sdlm.hessian_pick == "first":
        return torch.arange(k)
    return torch.randperm(n, generator=seeded(cfg.seed, epoch, 2))[:k]


def pass_inputs(cfg: Config, data, epoch: int) -> torch.Tensor:
    if not cfg.data.distortions.enabled:
        return data.train_x
    return distorted_pass(data, cfg.data, cfg.model.input_size, epoch, cfg.seed)


def minibatch_lr(cfg: Config, step: int, total: int) -> float:
    t = cfg.train
    if t.schedule == "cosine":
        return t.lr * 0.5 * (1 + math.cos(math.pi * step / total))
    if t.schedule == "step":
        return t.lr * t.gamma ** ((step * t.epochs // total) // t.step_size)
    return t.lr
