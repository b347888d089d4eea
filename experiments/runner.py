"""Run a set of configs over seeds in parallel one-thread processes, into results/runs/<name>/seed<k>/.

Finished runs (summary.json present) are skipped; killed ones are resumed. Each run is its own
`paper-lenet train` process, so a crash or kill affects one run only.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from paper_lenet import load_config

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "results" / "runs"


# Two one-thread processes use both cores; two-thread ones fight over them (batch 1 collapses).
THREADS = ("train.threads=1",)


def run_one(config: Path, seed: int, runs: Path = RUNS, extra=THREADS) -> tuple[str, int]:
    cfg = load_config(config, [f"seed={seed}", *extra])
    out = runs / cfg.name / f"seed{seed}"
    if (out / "summary.json").exists():
        return f"{cfg.name} seed {seed}: finished already", 0
    cmd = [sys.executable, "-m", "paper_lenet", "train", str(config), f"seed={seed}", *extra, "--out", str(out)]
    if out.exists():
        cmd.append("--resume")
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.parent / f"seed{seed}.log"
    t0 = time.time()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "a") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env).returncode
    shown = log.relative_to(ROOT) if log.is_relative_to(ROOT) else log
    return f"{cfg.name} seed {seed}: rc={rc} in {time.time() - t0:.0f}s (log {shown})", rc


BACKEND = {"name": "process", "address": None}  # reproduce.py --backend ray [--address HOST:PORT]


def run_set(configs, seeds, jobs: int = 2, runs: Path = RUNS, extra=THREADS) -> int:
    """Every (config, seed) pair, `jobs` at a time (or as Ray tasks); returns the number of failed runs."""
    pairs = [(ROOT / c, s) for s in seeds for c in configs]  # seed-major: every config gets a first seed early
    if BACKEND["name"] == "ray":
        from paper_lenet.cluster import run_set_ray  # Ray only when asked for: pip install -e '.[cluster]'

        return run_set_ray(pairs, runs, extra, address=BACKEND["address"])
    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for msg, rc in pool.map(lambda p: run_one(p[0], p[1], runs, extra), pairs):
            print(msg, flush=True)
            failed += rc != 0
    return failed
