"""`paper-lenet compare DIR [DIR...]`: test error per config over seeds, and each config against a baseline.

Each DIR holds `seed*/` run directories (what `paper-lenet sweep` writes, or results/runs/<name>),
every one scored on the MNIST test set (test_predictions.txt, checked against the real labels and
the run's summary.json). Per config: each seed's error, mean, std, a 95% t-interval over seeds
(training variance; none for one seed or for seeds that disagree) and, apart, the test-sample standard
error of the seed-mean error. Per config against the baseline (default: the first DIR): the difference
of mean errors with a 95% Welch-t interval over seeds plus the paired test-sample part (stats.difference),
its two-sided p-value, Holm-adjusted over the configs compared with one baseline, and the seeds per arm
that would resolve the observed difference. Every figure is in percent. Warnings (provenance.py) go
to stderr and into the JSON.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.download import resolve_root
from ..data.idx import load_labels
from ..errors import UserError
from ..files import read_json, read_text
from ..runs.runpaths import seed_runs
from ..tools import stats
from ..tools.pictures import compare_plot, need_matplotlib
from . import provenance
from .compare_format import render

FORMATS = ("md", "latex", "csv", "json")
REPLICATES = 10000


def load_test_labels(root=None) -> np.ndarray:
    """The MNIST test labels (uint8, 10,000) from the data root (data.idx.load_labels); a one-line
    error naming the file when they are absent."""
    return load_labels(resolve_root(root), "test")


def load_config_runs(folder, labels: np.ndarray) -> dict:
    """One config: its seed*/ runs' misses on the test set, checked against labels and summaries."""
    folder = Path(folder)
    runs = seed_runs(folder)  # a one-line UserError when the folder holds no seed*/ runs
    seeds, wrong = [], []
    for run in runs:
        if not (run / "summary.json").is_file():
            raise UserError(
                f"{run}: not finished (no summary.json); finish it with `paper-lenet sweep` or remove it"
            )
        summary = read_json(run / "summary.json")
        pred_file = run / "test_predictions.txt"
        if not pred_file.is_file():
            other = (
                " (only val_predictions.txt: scored on a validation split)"
                if (run / "val_predictions.txt").is_file()
                else ""
            )
            raise UserError(
                f"{run}: no test_predictions.txt{other}; runs on different test sets cannot be compared"
            )
        text = read_text(pred_file).strip()
        n_test = summary.get("n_test")
        if len(text) != len(labels) or n_test != len(labels):
            raise UserError(
                f"{run}: {len(text)} test predictions (summary n_test={n_test}) but the MNIST test set "
                f"has {len(labels)} images; runs on different test sets cannot be compared"
            )
        if not text.isdigit():
            raise UserError(f"{pred_file}: expected one digit per test image")
        miss = np.frombuffer(text.encode(), np.uint8) - ord("0") != labels
        if summary.get("test_misses") is not None and int(miss.sum()) != summary["test_misses"]:
            raise UserError(
                f"{run}: its predictions miss {int(miss.sum())} test images but summary.json says "
                f"{summary['test_misses']}: scored on other labels than these"
            )
        if not isinstance(summary.get("seed"), int):
            raise UserError(f"{run / 'summary.json'}: no seed")
        seeds.append(summary["seed"])
        wrong.append(miss)
    order = np.argsort(seeds, kind="stable")
    return {
        "name": folder.name,
        "dir": str(folder),
        "seeds": [seeds[i] for i in order],
        "wrong": np.stack([wrong[i] for i in order]),
        "runs": [runs[i] for i in order],
    }


def summarize(cfg: dict) -> dict:
    """A config's row: n, each seed's error, mean, std, 95% t-interval (or why none), and the
    test-sample SE of the seed-mean error (all in %)."""
    errors = [100 * float(w.mean()) for w in cfg["wrong"]]
    mean, std = stats.mean_std(errors)
    ci, reason = stats.error_interval(errors)
    return {
        "name": cfg["name"],
        "dir": cfg["dir"],
        "n": len(errors),
        "seeds": cfg["seeds"],
        "errors": errors,
        "mean": mean,
        "std": std,
        "ci95": list(ci) if ci else None,
        "ci_reason": reason,
        "test_se": 100 * stats.seed_mean_test_se(cfg["wrong"]),
    }


def versus(cfg: dict, base: dict, reps: int = REPLICATES, seed: int = 0) -> dict:
    """cfg against base (cfg - base, in points): stats.difference's interval and p-value, the seeds per
    arm it would take to resolve the difference, and the old paired bootstrap's interval, named as such.
    Where either config's seeds disagree (summarize), there is no interval and no p-value."""
    res = stats.difference(cfg["wrong"], base["wrong"])
    boot = stats.paired_bootstrap(cfg["wrong"], base["wrong"], reps=reps, seed=seed)
    disagree = [c["name"] for c in (cfg, base) if summarize(c)["ci_reason"] == "seeds disagree: no interval"]
    reason = f"seeds disagree ({', '.join(disagree)}): no interval" if disagree else res["reason"]
    ci = (
        None
        if disagree or res["ci95"] is None
        else [max(-100.0, 100 * res["ci95"][0]), min(100.0, 100 * res["ci95"][1])]
    )  # errors are in [0, 100]
    return {
        "name": cfg["name"],
        "baseline": base["name"],
        "diff": 100 * res["diff"],
        "ci95": ci,
        "p_value": None if disagree else res["p_value"],
        "p_holm": None,
        "df": res["df"],
        "se": None if res["se"] is None else 100 * res["se"],
        "reason": reason,
        "seeds_needed": None if disagree else res["seeds_needed"],
        "seeds_needed_reason": "n/a" if disagree else res["seeds_needed_reason"],
        "bootstrap_ci95": [100 * boot["ci95"][0], 100 * boot["ci95"][1]],
    }


def with_holm(comparisons: list[dict]) -> list[dict]:
    """Fill p_holm: the p-values of the configs compared with one baseline, Holm-adjusted as a family."""
    for m, p in zip(comparisons, stats.holm([m["p_value"] for m in comparisons]), strict=False):
        m["p_holm"] = p
    return comparisons


def compare(
    dirs, baseline=None, fmt: str = "md", plot=None, root=None, reps: int = REPLICATES, warn=None
) -> str:
    """Load, check, compute; return the table in `fmt`, and draw `plot` (a PNG) when given; `warn`
    (e.g. a print to stderr) gets each provenance warning line. Every input is checked before anything
    is written."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: unknown; choose one of {', '.join(FORMATS)}")
    if not dirs:
        raise UserError("compare: no run folder given")
    if plot is not None:
        need_matplotlib("--plot")
    folders = [Path(d) for d in dirs]
    if baseline is not None and Path(baseline).resolve() not in [f.resolve() for f in folders]:
        folders.insert(0, Path(baseline))
    labels = load_test_labels(root)
    configs = [load_config_runs(f, labels) for f in folders]
    _unique_names(configs)
    base = (
        configs[0]
        if baseline is None
        else next(c for c in configs if Path(c["dir"]).resolve() == Path(baseline).resolve())
    )
    result = {
        "configs": [summarize(c) for c in configs],
        "comparisons": with_holm([versus(c, base, reps) for c in configs if c is not base]),
        "warnings": provenance.warnings(configs, base),
    }
    for line in result["warnings"] if warn else ():
        warn(line)
    if plot is not None:
        compare_plot(result, plot)
    return render(result, fmt)


def _unique_names(configs) -> None:
    """Two folders with one name (a/lenet5 and b/lenet5) are told apart by their paths."""
    names = [c["name"] for c in configs]
    for c in configs:
        if names.count(c["name"]) > 1:
            c["name"] = c["dir"]
