"""How a run of a config is made: the one place that decides, above LeNet-5's core and the comparison.

    a network (registry kind "network")   train.train: per-sample SDLM or minibatch training
    with a `boost:` section                comparison.boost.train_boosted: nets 2 and 3, then the vote
    a fitted method (kind "fitted")        comparison.fit.fit_run: the registry's fit, then scoring

Every kind opens its run directory with rundir.open_run and ends it with rundir.write_summary.
"""

from __future__ import annotations

from pathlib import Path

from ..comparison.boost import train_boosted
from ..comparison.fit import fit_run
from ..config import Config, load_config
from ..core.registry import method
from ..errors import UserError
from ..runs import rundir
from ..runs.runlock import holder
from ..training.lockstep import lockstep_supported, train_seeds
from ..training.train import train
from .sweep import parse_seeds


def make_run(cfg: Config, out: Path, resume: bool = False, log=print) -> dict:
    """Make (or continue) the run of `cfg` in `out`; returns its summary."""
    out = Path(out)
    if cfg.boost is not None:
        return train_boosted(cfg, out, resume, log)
    if method(cfg.model.arch).kind == "fitted":
        return fit_run(cfg, out, resume, log)
    return train(cfg, out, resume, log)


def cost(cfg: Config) -> dict:
    """Figs. 11-12: {"macs", "memory"} per recognition, from the method's definition."""
    return method(cfg.model.arch).cost(cfg)


def train_many(cfgs: list[Config], outs: list[Path], resume: bool = False, log=print) -> list[dict]:
    """Several seeds of one config in one process: in lockstep where it applies (lockstep.train_seeds),
    else one after another (said once)."""
    why = lockstep_supported(cfgs[0], len(cfgs))
    if why is None:
        return train_seeds(cfgs, outs, resume, log)
    if len(cfgs) > 1:
        log(f"notice: seeds not in lockstep ({why}); training them one after another")
    return [
        make_run(c, Path(o), resume, lambda m, s=c.seed: log(f"seed {s}: {m}"))
        for c, o in zip(cfgs, outs, strict=False)
    ]


def seeds_from_cli(config: str, overrides, seeds, out=None, resume=False) -> list[dict]:
    """`train --seeds SPEC`: every seed's run into OUT/seed<k> (default runs/<name>/seed<k>), in one
    process."""
    if any(o.split("=", 1)[0].strip() == "seed" for o in overrides):
        raise UserError("train --seeds: seed= is not an override here; give the seeds with --seeds")
    cfgs = [load_config(config, [*overrides, f"seed={s}"]) for s in parse_seeds(seeds)]
    outs = [Path(out) / f"seed{c.seed}" if out else rundir.default_run_dir(c) for c in cfgs]
    return train_many(cfgs, outs, resume)


def run_from_cli(config: str, overrides, out=None, resume=False, resume_if_possible=False) -> dict:
    """`train`: resume continues a run that has begun (else a UserError naming the directory: a typo'd
    --out must not start a fresh run silently); resume_if_possible continues one if there is one, else
    starts it (a sweep's runs, scripts)."""
    cfg = load_config(config, overrides)  # an invalid config never creates a run directory
    out = Path(out) if out else rundir.default_run_dir(cfg)
    # nothing to resume, unless another process is writing it (it may not have its first checkpoint
    # yet): then open_run's lock says `in use by pid N`
    if resume and not rundir.has_progress(out) and holder(out) is None:
        raise UserError(
            f"{out}: --resume, but nothing to resume there (no checkpoint.pt or summary.json); "
            "leave out --resume to start it, or pass --resume-if-possible"
        )
    return make_run(cfg, out, resume or resume_if_possible)
