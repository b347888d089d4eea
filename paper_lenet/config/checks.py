"""Cross-field checks of a loaded config (config.py's load_config runs them): combinations that have
no meaning, numbers outside their range, and sizes that would only cost memory. One-line ConfigErrors.
A method's own section is checked by what its registration carries: its fields' bounds and its check."""

from __future__ import annotations

import dataclasses
import math

from ..core.heads import head
from ..core.registry import METHODS, bounds_errors, method, methods
from ..errors import ConfigError
from ..paper import INPUT_SIDE


def validate(cfg, path=None) -> None:
    """Cross-field checks: combinations that have no meaning."""
    where = f"{path}: " if path is not None else ""
    t, m = cfg.train, cfg.model
    if m.arch not in METHODS:
        raise ConfigError(f"{where}model.arch: invalid value {m.arch!r}; allowed: {', '.join(methods())}")
    flat = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "sections"}
    flat.update({k: dataclasses.asdict(v) for k, v in cfg.sections.items()})
    bad = next(((k, v) for k, v in _numbers(flat) if not math.isfinite(v)), None)
    if bad:  # nan or inf: no setting means it
        raise ConfigError(f"{where}{bad[0]} must be a finite number (got {bad[1]})")
    if not 0 <= cfg.seed < 2**32:  # torch.manual_seed and numpy's SeedSequence take it; 2^32 seeds are plenty
        raise ConfigError(f"{where}seed must be in 0..{2**32 - 1} (got {cfg.seed})")
    head(m.head).check_loss(t.loss, where)
    if not 1 <= cfg.data.deslant_threshold <= 255:
        raise ConfigError(
            f"{where}data.deslant_threshold must be a grey level 1..255 (got {cfg.data.deslant_threshold})"
        )
    b = cfg.boost
    if b is not None and (
        method(m.arch).kind == "fitted"
        or not b.net1
        or b.size < 2
        or b.max_draws < b.size
        or not 0 < b.exit_agree <= 1
        or b.exit_sample < 1
    ):
        raise ConfigError(
            f"{where}boost: needs a network model.arch, net1, size >= 2, max_draws >= size, "
            f"0 < exit_agree <= 1 and exit_sample >= 1 (got {m.arch}, {b})"
        )
    if not (m.init_v > 0 and m.init_p > 0):
        raise ConfigError(f"{where}model.init_v and model.init_p must be > 0 (got {m.init_v}, {m.init_p})")
    if not 0 < t.sdlm.gamma <= 1:
        raise ConfigError(f"{where}train.sdlm.gamma must be in (0, 1] (got {t.sdlm.gamma})")
    if not 0 <= cfg.data.validation < 60000:
        raise ConfigError(f"{where}data.validation must be in 0..59999 (got {cfg.data.validation})")
    if cfg.data.train_size + cfg.data.validation > 60000:
        raise ConfigError(
            f"{where}data.train_size + data.validation must be <= 60000 "
            f"(got {cfg.data.train_size} + {cfg.data.validation})"
        )
    if t.map_j <= 0:
        raise ConfigError(f"{where}train.map_j must be > 0 (got {t.map_j})")
    if t.optimizer == "sdlm" and t.sdlm.hessian_samples < 1:
        raise ConfigError(f"{where}train.sdlm.hessian_samples must be >= 1")
    for key, val in (
        ("train.epochs", t.epochs),
        ("train.batch_size", t.batch_size),
        ("data.train_size", cfg.data.train_size),
    ):
        if val < 1:
            raise ConfigError(f"{where}{key} must be >= 1 (got {val})")
    if not 1 <= cfg.data.train_size <= 60000:
        raise ConfigError(f"{where}data.train_size must be in 1..60000 (got {cfg.data.train_size})")
    # sizes that only cost memory past these (F6's input grows with input_size squared; the paper's
    # widest MLP has 1000 units): a typo must be refused, not allocate gigabytes
    if not 1 <= m.input_size <= 64:
        raise ConfigError(f"{where}model.input_size must be in 1..64 (got {m.input_size})")
    if len(m.hidden) > 4 or any(not 1 <= h <= 4096 for h in m.hidden):
        raise ConfigError(f"{where}model.hidden: at most 4 layers of 1..4096 units (got {m.hidden})")
    if not 0 <= t.threads <= 256:
        raise ConfigError(f"{where}train.threads must be in 0..256 (0: the default; got {t.threads})")
    for key, val in (
        ("train.eval_batch_size", t.eval_batch_size),
        ("train.checkpoint_every", t.checkpoint_every),
    ):
        if val < 1:
            raise ConfigError(f"{where}{key} must be >= 1 (got {val})")
    if m.arch == "lenet5" and (m.input_size < INPUT_SIDE or (m.input_size - INPUT_SIDE) % 4):
        raise ConfigError(f"{where}model.input_size must be {INPUT_SIDE} + 4k (got {m.input_size})")
    d = cfg.data.distortions
    if not 0 <= d.prob <= 1:
        raise ConfigError(f"{where}data.distortions.prob must be in [0, 1] (got {d.prob})")
    for key in ("translate", "scale", "squeeze", "shear"):
        if getattr(d, key) < 0:
            raise ConfigError(f"{where}data.distortions.{key} must be >= 0 (got {getattr(d, key)})")
    if d.scale >= 1 or d.squeeze >= 1:
        raise ConfigError(f"{where}data.distortions.scale and .squeeze must be < 1")
    sec = cfg.method_section()
    if sec is not None:  # the method's own section: its fields' bounds, then its registered check
        errors = bounds_errors(sec, m.arch)
        if errors:
            raise ConfigError(f"{where}{errors[0]}")
        if method(m.arch).check is not None:
            method(m.arch).check(sec, where)
    if t.optimizer == "sdlm" and not all(len(r) == 2 for r in t.sdlm.eta):
        raise ConfigError(f"{where}train.sdlm.eta: expected a list of [last_pass, eta] pairs")


def _numbers(node, key=""):
    """(dotted key, value) of every float in a config mapping, lists included."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, f"{key}.{k}" if key else k)
    elif isinstance(node, list):
        for v in node:
            yield from _numbers(v, key)
    elif isinstance(node, float):
        yield key, node
