"""Where and on how many threads a run computes: train.threads and train.device."""

from __future__ import annotations

import torch

from ..errors import ConfigError


def set_threads(cfg) -> int:
    n = cfg.train.threads or (1 if cfg.train.batch_size == 1 else torch.get_num_threads())
    torch.set_num_threads(n)
    return n


def resolve_device(cfg) -> torch.device:
    want = cfg.train.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available (use cpu or auto)")
    return torch.device(want)
