"""Fit times of Fig. 9's fitted rows (k-NN, tangent distance, the SVMs, LeNet-4 / Local, ...) from their
committed runs, against issue 22's limit of 30 minutes per fit on 2 cores.

    python benchmarks/fig9_fits.py [results/runs] [--limit-min 30]

A fitted run records `fit_seconds` (the fit, including any validation inside it, e.g. k-NN's k or the
tangent distance's sidedness), `test_seconds` (scoring the 10,000 test images) and the run's
`wall_seconds`; the SVM runs add libsvm's own time per fit (`svc_fit_seconds`, and for the virtual-SV
recipe both fits). Each run used one thread (env.json: threads) and one process, except one-vs-rest
SVMs, which fit svm.jobs machines side by side in processes of their own (column "procs"). Exit status
1 if a run is over the limit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml


def rows(runs: Path) -> list[tuple]:
    """(config, seed, fit s, test s, wall s, libsvm fits s, threads, processes) of every fitted run (epochs
    0)."""
    out = []
    for summary in sorted(runs.glob("fig9-*/seed*/summary.json")):
        s = json.loads(summary.read_text())
        if s.get("epochs") != 0:  # a trained net, timed per step by `paper-lenet bench`
            continue
        m = json.loads(summary.with_name("metrics.jsonl").read_text().splitlines()[-1])
        env = json.loads(summary.with_name("env.json").read_text())
        svc = s.get("svc_fit_seconds_total", s.get("svc_fit_seconds"))
        cfg = yaml.safe_load(summary.with_name("config.yaml").read_text()) or {}
        procs = (
            (cfg.get("svm") or {}).get("jobs", 1) if (cfg.get("svm") or {}).get("machines") == "ovr" else 1
        )
        out.append(
            (
                s["name"],
                s["seed"],
                m["fit_seconds"],
                m.get("test_seconds"),
                s["wall_seconds"],
                svc,
                env.get("threads"),
                procs,
            )
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="?", default="results/runs")
    ap.add_argument("--limit-min", type=float, default=30.0)
    a = ap.parse_args(argv)
    table = rows(Path(a.runs))
    if not table:
        print(f"{a.runs}: no fitted fig9-* runs (summary.json with epochs 0)", file=sys.stderr)
        return 2
    print(
        f"{'config':24s} {'seed':>4s} {'fit s':>8s} {'test s':>7s} {'wall s':>7s} {'libsvm s':>8s} threads "
        f"procs"
    )
    over = []
    for name, seed, fit, test, wall, svc, threads, procs in table:
        print(
            f"{name:24s} {seed:4d} {fit:8.0f} {test if test is not None else float('nan'):7.0f} {wall:7.0f} "
            f"{svc if svc is not None else float('nan'):8.0f} {threads:>7} {procs:>5}"
        )
        if wall > 60 * a.limit_min:
            over.append(name)
    worst = max(r[4] for r in table)
    print(
        f"longest run {worst / 60:.1f} min (fit, scoring and the run's own overheads), limit {a.limit_min:g} "
        f"min" + (f": over it {sorted(set(over))}" if over else ": all within")
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
