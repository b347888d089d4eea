"""A run of a fitted method (registry kind "fitted": registry.methods() lists them): its inputs (pixels,
or a trained network's features), the registry's fit (a registry.Fitted), then the run directory's
files through rundir's open_run and write_summary, as every run writes them."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from ..config import Config
from ..core.model import in_batches
from ..core.registry import method
from ..data.mnist import load_mnist
from ..errors import UserError
from ..runs import rundir
from ..runs.runpaths import seed_path
from ..training.device import set_threads
from ..training.evaluate import load_trained, top_two_margin


def features_run(cfg: Config) -> Path | None:
    """knn.features as a finished run directory ({seed} filled in), or None; a UserError naming the key."""
    sec = cfg.method_section()
    spec = getattr(sec, "features", None)
    if not spec:
        return None
    run = seed_path(spec, cfg.seed, f"{cfg.model.arch}.features")
    if not ((run / "config.yaml").is_file() and (run / "model.pt").is_file()):
        raise UserError(
            f"{cfg.model.arch}.features: {run}: not a finished run directory (needs config.yaml and model.pt)"
        )
    return run


def load_inputs(cfg: Config, run: Path | None, log=print):
    """(train_x (N, d), train_y, eval_x, eval_y, split): pixels, or with features the last hidden layer
    of that run's network on its own preprocessed inputs (same training subset). split: 'val' with
    data.validation, else 'test'."""
    if run is None:
        data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=log)

        def embed(x):
            return x.reshape(len(x), -1)
    else:
        try:
            fcfg, net = load_trained(run)
        except UserError as e:
            raise UserError(f"{cfg.model.arch}.features: {e}") from None
        d = cfg.data
        dcfg = dataclasses.replace(
            fcfg.data,
            root=d.root,
            download=d.download,
            train_size=d.train_size,
            subset=d.subset,
            validation=d.validation,
            distortions=dataclasses.replace(fcfg.data.distortions, enabled=False),
        )
        data = load_mnist(dcfg, fcfg.model.input_size, cfg.seed, log=log)
        net.eval()

        @torch.no_grad()
        def embed(x):
            return in_batches(net.features, x)

    if data.val_x is not None:
        return embed(data.train_x), data.train_y, embed(data.val_x), data.val_y, "val"
    return embed(data.train_x), data.train_y, embed(data.test_x), data.test_y, "test"


def fit_run(cfg: Config, out: Path, resume: bool = False, log=print) -> dict:
    """Fit the config's method into the run directory `out`; returns the summary (train.py's keys)."""
    out, m = Path(out), method(cfg.model.arch)
    run = features_run(cfg)  # a bad features key never creates a run directory
    set_threads(cfg)  # before env.json records them
    with rundir.open_run(cfg, out, resume, log) as done:
        return done if done is not None else _fit(cfg, out, m, run, log)


def _fit(cfg: Config, out: Path, m, run: Path | None, log) -> dict:
    started = time.time()
    x, y, ex, ey, split = load_inputs(cfg, run, log)
    log(f"{cfg.name}: {m.name} on {len(x)} training images of {x.shape[1]} inputs")
    t0 = time.time()
    fitted = m.fit(cfg, x, y, log)
    row = dict(fitted.metrics, fit_seconds=round(time.time() - t0, 3))
    pick = fitted.train_index(len(x))  # None: all of them
    tx, ty = (x, y) if pick is None else (x[pick], y[pick])
    train_error = float((fitted.scores(tx).argmax(1) != ty).double().mean())
    t1 = time.time()
    scores = fitted.scores(ex)
    row[f"{split}_seconds"] = round(time.time() - t1, 3)
    pred = scores.argmax(1)
    extra = {}  # other readouts of the same fit (reduced.py: the unreduced machine), recorded beside it
    for name, score in fitted.extra_scores.items():
        extra[f"{name}_{split}_error"] = float((score(ex).argmax(1) != ey).double().mean())
    row.update(extra)
    row.update(
        {"epoch": 0, "train_error": train_error, f"{split}_error": float((pred != ey).double().mean())}
    )
    rundir.write_metrics(out, [row])
    summary = rundir.write_summary(
        out,
        cfg,
        split,
        pred.numpy(),
        ey.numpy(),
        top_two_margin(scores).numpy(),
        n_train=len(x),
        train_error=train_error,
        wall=time.time() - started,
        arch=m.name,
        epochs=0,
        train_error_n=len(ty),
        **fitted.summary,
        **extra,
        **m.cost(cfg),
    )
    log(
        f"{cfg.name}: {split} error {100 * summary[f'{split}_error']:.2f}% ({summary[f'{split}_misses']} "
        f"misses), "
        f"train error {100 * train_error:.2f}% (of {len(ty)}), {summary['wall_seconds']:.0f}s"
    )
    return summary
