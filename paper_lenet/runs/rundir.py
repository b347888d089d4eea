"""A run directory: resolved config, environment, metrics, summary, checkpoints; all written atomically.

    config.yaml    the resolved config (data.root blanked: a run must not pin a machine's path)
    env.json       package, torch, numpy versions, platform, threads, git commit
    metrics.jsonl  one JSON line per pass
    summary.json   final figures
    checkpoint.pt  latest training state (mid-pass included), for --resume
    model.pt       final weights (state_dict), loadable with torch.load(weights_only=True)
    .lock          one writer at a time: an exclusive flock held by the process writing the run
                   (released when it ends or dies; the empty file stays, git ignores it)

A run directory is only ever finished (summary.json), resumable (config.yaml; checkpoint.pt once
training has begun), or absent: a run that fails before its first checkpoint removes what it created.
A damaged run file is a one-line UserError naming it (files.py's load_torch, read_json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..config import Config, config_dict, config_from_dict, dump_config, to_dict
from ..errors import UserError
from ..files import atomic_write, read_json, write_json, write_text
from .runlock import lock, unlock


def git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict:
    return {
        "paper_lenet": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / cfg.name / f"seed{cfg.seed}"


def portable(cfg: Config) -> Config:
    """The config as saved with a run: data.root blanked, so eval finds the data on any machine."""
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=None))


PROGRESS = ("checkpoint.pt", "summary.json", "model.pt")  # a run that has begun training


def has_progress(out: Path) -> bool:
    """The run has begun: a checkpoint, its weights or summary, or a sub-run of its own (a folder with
    a config.yaml: a boosted run's nets 2 and 3)."""
    out = Path(out)
    return any((out / p).exists() for p in PROGRESS) or (
        out.is_dir() and any((p / "config.yaml").is_file() for p in out.iterdir() if p.is_dir())
    )


def _contents(out: Path) -> list[str]:
    """The run's own files: the lock and temporary files (.name.XXXX) are not part of it."""
    return [p.name for p in out.iterdir() if not p.name.startswith(".")]


def make_dir(out: Path) -> Path | None:
    """mkdir -p `out`; returns the topmost folder this created (None when `out` existed)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; choose another --out")
    top = next((p for p in reversed([out, *out.parents]) if not p.exists()), None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create the run directory ({e.strerror or e})") from None
    return top


def claim(out: Path) -> Path | None:
    """Create (when missing) and lock the run directory `out`; returns the topmost folder this created.
    Held by another process: `out: in use by pid N`, and nothing created is left."""
    top = make_dir(out)
    try:
        lock(out)
    except UserError:
        rmdirs(out, top)  # only what is empty: the holder's files stay
        raise
    return top


def rmdirs(out: Path, top: Path | None) -> None:
    """Undo make_dir: `out`, then each folder above it up to `top`, as long as each is empty (another
    run may have been made beside it meanwhile)."""
    if top is None:
        return
    for p in [out, *out.parents]:
        try:
            p.rmdir()
        except OSError:
            return
        if p == top:
            return


def prepare(cfg: Config, out: Path, resume: bool) -> bool:
    """Check (or start, or reopen with --resume) a locked run directory. Returns True when finished."""
    out = Path(out)
    if _contents(out):
        if not resume:
            raise UserError(f"{out}: run directory exists; pass --resume to continue it or choose --out")
        saved = out / "config.yaml"
        if saved.exists():
            old = to_dict(
                load_run_config(out)
            )  # through load_config: a run saved in an older layout compares equal
            new = to_dict(portable(cfg))
            if old != new:
                diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                raise UserError(
                    f"{out}: --resume with a different config (sections differ: {', '.join(diff)})"
                )
            return (out / "summary.json").exists()
    write_text(out / "config.yaml", dump_config(portable(cfg)))
    return False


@contextlib.contextmanager
def open_run(cfg: Config, out: Path, resume: bool, log=print):
    """The one door of every run (trained, fitted, boosted): lock the directory (a second writer gets
    `D: in use by pid N`), prepare() it and write env.json, then yield None when the run is to be done,
    its summary when it is finished. The lock is held until the block ends. A block that raises before
    the run has progress (has_progress) removes what this call created: no config-only orphans."""
    out = Path(out)
    top = claim(out)
    fresh = not _contents(out)
    try:
        if prepare(cfg, out, resume):
            log(f"{out}: run already finished (summary.json present); nothing to do")
            yield read_json(out / "summary.json")
        else:
            write_json(out / "env.json", environment())
            yield None
    except BaseException:
        if not has_progress(out):
            _remove_new(out, top, fresh)
        raise
    finally:
        unlock(out)


def _remove_new(out: Path, top: Path | None, fresh: bool) -> None:
    """After a failed start: the folders this start created, else the files it wrote into an empty one."""
    if top is not None:
        shutil.rmtree(out, ignore_errors=True)
        rmdirs(out.parent, top if top != out else None)
    elif fresh:
        for name in _contents(out):
            p = out / name
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def write_predictions(run: Path, split: str, predictions, margins) -> None:
    """{split}_predictions.txt: one digit per sample (for paired McNemar comparisons);
    {split}_margins.npy: float32 top-two score difference per sample (Fig. 10's rejection score)."""
    write_text(
        Path(run) / f"{split}_predictions.txt", "".join(map(str, np.asarray(predictions).tolist())) + "\n"
    )
    atomic_write(
        Path(run) / f"{split}_margins.npy",
        lambda f: np.save(f, np.asarray(margins, dtype=np.float32), allow_pickle=False),
    )


def write_summary(
    out: Path,
    cfg: Config,
    split: str,
    predictions,
    labels,
    margins,
    n_train: int,
    train_error,
    wall: float,
    **extra,
) -> dict:
    """The end of every run (trained, fitted or boosted): its {split} predictions and margins, then
    summary.json, written last because it marks the run finished. extra: the kind's own figures."""
    pred, y = np.asarray(predictions), np.asarray(labels)
    misses = int((pred != y).sum())
    write_predictions(out, split, pred, margins)
    summary = {
        "name": cfg.name,
        "seed": cfg.seed,
        "epochs": cfg.train.epochs,
        "n_train": n_train,
        f"{split}_error": misses / len(y),
        f"{split}_misses": misses,
        f"n_{split}": len(y),
        "train_error": train_error,
        **extra,
        "wall_seconds": round(wall, 1),
    }
    write_json(Path(out) / "summary.json", summary)
    return summary


def write_metrics(run: Path, rows: list[dict]) -> None:
    write_text(Path(run) / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def finished(cfg: Config, out: Path) -> bool:
    """True when `out` holds a finished run (summary.json) of cfg; a UserError when it holds one of
    another config (a sweep must not count it as this one's)."""
    out = Path(out)
    if not (out / "summary.json").is_file():
        return False
    if (out / "config.yaml").is_file() and load_run_config(out) != portable(cfg):
        raise UserError(
            f"{out}: finished with another config than {cfg.name} with these overrides; "
            "remove it or choose another --out"
        )
    return True


def load_run_config(run: Path) -> Config:
    p = Path(run) / "config.yaml"
    if not p.is_file():
        raise UserError(f"{run}: not a run directory (no config.yaml)")
    raw = config_dict(p)
    missing = [k for k in ("name", "model", "data", "train") if k not in raw]
    if missing:  # a run saves its whole config (prepare): a part missing is damage, not defaults
        raise UserError(f"{p}: damaged (a run's saved config, but {', '.join(missing)} missing)")
    return config_from_dict(raw, p)
