"""Seeds in lockstep: several seeds of one config trained in one process, their per-sample SDLM steps
taken together by the compiled lockstep kernel (fast/lockstep.c, K models per vector).

Every seed is its own train.Trainer: its own data, sample order, distortions, h_kk, run directory
(locked, as `train` locks it), checkpoints and metrics; only the steps are shared. Each seed's maths
is its single run's (up to float32 summation order), so a seed resumes alone, or in another group,
and its run directory is the same as `train` would make. After a kill the seeds' checkpoints may
be at different places (each is written in turn): the ones behind step alone until they catch up.

    train_seeds([load_config("lenet5_1998", [f"seed={s}"]) for s in range(3)], [Path(f"runs/s{s}") for s in
    range(3)])
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path

import torch

from ..config import Config
from ..core.model import LeNet5, build_model
from ..fast import build
from ..fast.lockstep import LaneStepper, LockstepStepper, default_lanes, lanes_for
from ..fast.stepper import fast_supported
from ..runs import rundir
from .device import set_threads
from .schedule import pass_inputs, pass_order
from .train import CHUNK, Trainer


def lockstep_supported(cfg: Config, n: int = 1) -> str | None:
    """None when n seeds of cfg can train in lockstep here, else why not (the reason it falls back to
    one run per seed: train.fast=off, a model or switch the fast path lacks, no C compiler)."""
    if cfg.train.fast == "off":
        return "train.fast=off"
    if cfg.boost is not None:
        return "boosted runs train one net at a time"
    try:
        model = build_model(cfg.model, seed=cfg.seed)
    except Exception as e:  # noqa: BLE001  (a fitted method, an unknown arch: not ours to judge)
        return f"not a LeNet-5 network ({type(e).__name__})"
    if not isinstance(model, LeNet5):
        return f"the lockstep kernel implements LeNet5 only (got {type(model).__name__})"
    if cfg.train.device == "cuda":
        return "train.device=cuda: the lockstep kernel runs on the CPU"
    why = fast_supported(model, cfg)
    if why is not None:
        return why
    return build.unavailable(cfg.model.input_size, "lockstep", lanes_for(min(max(n, 1), default_lanes())))


def train_seeds(cfgs: list[Config], outs: list[Path], resume: bool = False, log=print) -> list[dict]:
    """Train (or continue) the runs cfgs[k] -> outs[k] (seeds of one config) in lockstep, at most
    default_lanes() at a time; returns their summaries. Runs already finished are only read."""
    if len({_sans_seed(c) for c in cfgs}) != 1:
        raise ValueError("train_seeds: the configs must differ in their seed only")
    lanes = default_lanes()
    out = []
    for i in range(0, len(cfgs), lanes):
        out += _train_group(cfgs[i : i + lanes], [Path(o) for o in outs[i : i + lanes]], resume, log)
    return out


def _sans_seed(cfg: Config) -> str:
    return repr(dataclasses.replace(cfg, seed=0))


def _train_group(cfgs, outs, resume, log) -> list[dict]:
    summaries: list = [None] * len(cfgs)
    with contextlib.ExitStack() as stack:
        live = []
        for k, (cfg, out) in enumerate(zip(cfgs, outs, strict=False)):
            set_threads(cfg)  # before env.json records them
            lane_log = _prefixed(log, cfg.seed)
            done = stack.enter_context(rundir.open_run(cfg, out, resume, lane_log))
            if done is not None:
                summaries[k] = done
            else:
                live.append((k, Trainer(cfg, out, lane_log)))
        if live:
            _steps_together([t for _, t in live])
            for k, t in live:
                summaries[k] = t.finish()
    return summaries


def _prefixed(log, seed):
    return lambda msg, *a, **kw: log(f"seed {seed}: {msg}", *a, **kw)


def _steps_together(trainers: list[Trainer]) -> None:
    """Every trainer's remaining passes; at each chunk the trainers furthest behind (all of them,
    unless a kill left some checkpoints behind the others) step together."""
    cfg = trainers[0].cfg
    ls = LockstepStepper([t.model for t in trainers], cfg.train.loss, cfg.train.map_j)
    for k, t in enumerate(trainers):
        t.stepper = LaneStepper(ls, k)
    passes: dict = {}  # k -> this pass's (epoch, inputs, order, lr, eff, t0, position of the last checkpoint)
    every = cfg.train.checkpoint_every
    while True:
        live = [k for k, t in enumerate(trainers) if t.st.epoch <= t.cfg.train.epochs]
        if not live:
            return
        for k in live:
            if k not in passes:
                passes[k] = _start_pass(trainers[k])
        at = min((trainers[k].st.epoch, trainers[k].st.pos) for k in live)
        group = [k for k in live if (trainers[k].st.epoch, trainers[k].st.pos) == at]
        n, pos = trainers[group[0]].n, at[1]
        size = min(CHUNK, n - pos, *(every - (pos - passes[k]["last_ckpt"]) for k in group))
        res = ls.run(
            group,
            [passes[k]["x"] for k in group],
            [trainers[k].y_train for k in group],
            [passes[k]["order"][pos : pos + size].cpu() for k in group],
        )
        for k, (err, loss_sum) in zip(group, res, strict=False):
            t, p = trainers[k], passes[k]
            t.st.pos += size
            t.st.errors += err
            t.st.loss_sum += loss_sum
            if t.st.pos - p["last_ckpt"] >= every and t.st.pos < n:
                t.checkpoint()
                p["last_ckpt"] = t.st.pos
            if t.st.pos >= n:
                t.end_pass(p["epoch"], p["lr"], p["eff"], p["t0"])
                del passes[k]


def _start_pass(t: Trainer) -> dict:
    """What Trainer.one_pass sets up before its steps: this pass's inputs, order and rates."""
    e, t0 = t.st.epoch, time.time()
    torch.set_num_threads(t.loop_threads)
    x = pass_inputs(t.cfg, t.data, e).to(t.device)
    order = pass_order(t.cfg, t.n, e).to(t.device)
    lr, _, eff = t.rates(e, x)
    return {"epoch": e, "x": x, "order": order, "lr": lr, "eff": eff, "t0": t0, "last_ckpt": t.st.pos}


# The fewest seeds a lockstep process is worth: K = 8 lanes step 1.7x the model-steps/s of one model
# (benchmarks/README.md), so a process of g seeds beats g one-seed processes on its core when g > 8 / 1.7.
MIN_GROUP = 5


def groups(configs: list, seeds: list, jobs: int, load, log=print) -> list[tuple[object, list[int]]]:
    """How a sweep runs the (config, seed) pairs `seeds`: [(config, seeds of one process)]. A config's
    seeds split evenly over min(jobs, seeds) processes (more when one would hold more than
    default_lanes()); each part of at least MIN_GROUP seeds trains in lockstep where it applies, the
    rest one process per seed (a config whose fast path does not apply says so once). When the sweep has
    at least `jobs` configs of MIN_GROUP seeds or more, their processes fill the cores, so a config's
    seeds stay together (split only by default_lanes()) instead of over `jobs` processes.
    load(config, seed): the config's Config for that seed."""
    out = []
    together = sum(len([1 for cc, _ in seeds if cc == c]) >= MIN_GROUP for c in configs) >= jobs
    for c in configs:
        mine = [s for cc, s in seeds if cc == c]
        why = lockstep_supported(load(c, mine[0]), len(mine)) if len(mine) >= MIN_GROUP else "few seeds"
        if why is not None:
            if len(mine) >= MIN_GROUP:
                log(f"{load(c, mine[0]).name}: one process per seed (not in lockstep: {why})")
            out += [(c, [s]) for s in mine]
            continue
        n = max(1 if together else min(jobs, len(mine)), -(-len(mine) // default_lanes()))
        size, extra = divmod(len(mine), n)
        at = 0
        for g in range(n):
            k = size + (g < extra)
            part = mine[at : at + k]
            out += [(c, part)] if k >= MIN_GROUP else [(c, [s]) for s in part]
            at += k
    return out


__all__ = ["groups", "lockstep_supported", "train_seeds"]
