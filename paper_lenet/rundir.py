"""A run directory: resolved config, environment, metrics, summary, checkpoints; all written atomically.

    config.yaml    the resolved config (data.root blanked: a run must not pin a machine's path)
    env.json       package, torch, numpy versions, platform, threads, git commit
    metrics.jsonl  one JSON line per pass
    summary.json   final figures
    checkpoint.pt  latest training state (mid-pass included), for --resume
    model.pt       final weights (state_dict), loadable with torch.load(weights_only=True)
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from ._version import __version__
from .config import Config, dump_config, load_config, to_dict
from .errors import UserError


@contextlib.contextmanager
def _deferred_interrupts():
    """SIGINT/SIGTERM held back while a file is written (delivered right after): a Ctrl-C never leaves a
    temporary file behind. Only where the platform can block signals (POSIX)."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:
        yield
        return
    old = block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, old)


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    with _deferred_interrupts():
        _atomic_write(path, write)


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a run's files are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_torch(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_torch(path: Path):
    return torch.load(path, map_location="cpu", weights_only=True)


def git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict:
    return {"paper_lenet": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(), "git_commit": git_commit()}


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / cfg.name / f"seed{cfg.seed}"


def portable(cfg: Config) -> Config:
    """The config as saved with a run: data.root blanked, so eval finds the data on any machine."""
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=None))


def prepare(cfg: Config, out: Path, resume: bool) -> bool:
    """Create (or reopen, with --resume) a run directory. Returns True when the run is finished."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise UserError(f"{out}: run directory exists; pass --resume to continue it or choose --out")
        saved = out / "config.yaml"
        if saved.exists():
            old = to_dict(load_config(saved))  # through load_config: a run saved in an older layout compares equal
            new = to_dict(portable(cfg))
            if old != new:
                diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                raise UserError(f"{out}: --resume with a different config (sections differ: {', '.join(diff)})")
        return (out / "summary.json").exists()
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "config.yaml", dump_config(portable(cfg)))
    return False


def open_run(cfg: Config, out: Path, resume: bool, log=print) -> dict | None:
    """prepare() and env.json: None when the run is to be done, its summary when it is finished."""
    if prepare(cfg, out, resume):
        log(f"{out}: run already finished (summary.json present); nothing to do")
        return read_json(Path(out) / "summary.json")
    write_json(Path(out) / "env.json", environment())
    return None


def write_predictions(run: Path, split: str, predictions, margins) -> None:
    """{split}_predictions.txt: one digit per sample (for paired McNemar comparisons);
    {split}_margins.npy: float32 top-two score difference per sample (Fig. 10's rejection score)."""
    write_text(Path(run) / f"{split}_predictions.txt", "".join(map(str, np.asarray(predictions).tolist())) + "\n")
    atomic_write(Path(run) / f"{split}_margins.npy",
                 lambda f: np.save(f, np.asarray(margins, dtype=np.float32), allow_pickle=False))


def write_summary(out: Path, cfg: Config, split: str, predictions, labels, margins, n_train: int,
                  train_error, wall: float, **extra) -> dict:
    """The end of every run (trained, fitted or boosted): its {split} predictions and margins, then
    summary.json, written last because it marks the run finished. extra: the kind's own figures."""
    pred, y = np.asarray(predictions), np.asarray(labels)
    misses = int((pred != y).sum())
    write_predictions(out, split, pred, margins)
    summary = {"name": cfg.name, "seed": cfg.seed, "epochs": cfg.train.epochs, "n_train": n_train,
               f"{split}_error": misses / len(y), f"{split}_misses": misses, f"n_{split}": len(y),
               "train_error": train_error, **extra, "wall_seconds": round(wall, 1)}
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
        raise UserError(f"{out}: finished with another config than {cfg.name} with these overrides; "
                        "remove it or choose another --out")
    return True


def load_run_config(run: Path) -> Config:
    p = Path(run) / "config.yaml"
    if not p.is_file():
        raise UserError(f"{run}: not a run directory (no config.yaml)")
    return load_config(p)


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
