"""`paper-lenet compare DIR [DIR...]`: test error per config over seeds, and each config against a baseline.

Each DIR holds `seed*/` run directories (what `paper-lenet sweep` writes, or results/runs/<name>),
every one scored on the MNIST test set (test_predictions.txt, checked against the real labels and
the run's summary.json). Per config: each seed's error, mean, std, a 95% t-interval over seeds
(training variance) and, apart, the test-sample standard error of the mean error. Per config against
the baseline (default: the first DIR): the difference of mean errors with a 95% interval from a
paired two-level bootstrap (seeds resampled per config, the same test images resampled for both),
P(config better), and McNemar's exact p for each seed both have. Every figure is in percent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import stats
from .compare_format import need_matplotlib, render, write_plot
from .data.download import resolve_root
from .data.idx import LABELS_MAGIC, SPLIT_FILES, find_file, read_idx
from .errors import UserError
from .rundir import read_json, read_text
from .runpaths import seed_runs

FORMATS = ("md", "latex", "csv", "json")
REPLICATES = 10000


def load_test_labels(root=None) -> np.ndarray:
    """The MNIST test labels (uint8, 10,000) from the data root; a one-line UserError when absent."""

    folder = resolve_root(root)
    name = SPLIT_FILES["test"][1]
    path = find_file(folder, name)
    if path is None:
        raise UserError(f"{folder / name}: MNIST test labels not found (needed to score the runs); "
                        "run `paper-lenet download` or pass --root")
    return read_idx(path, LABELS_MAGIC)


def load_config_runs(folder, labels: np.ndarray) -> dict:
    """One config: its seed*/ runs' misses on the test set, checked against labels and summaries."""
    folder = Path(folder)
    runs = seed_runs(folder)  # a one-line UserError when the folder holds no seed*/ runs
    seeds, wrong = [], []
    for run in runs:
        if not (run / "summary.json").is_file():
            raise UserError(f"{run}: not finished (no summary.json); finish it with `paper-lenet sweep` or remove it")
        summary = read_json(run / "summary.json")
        pred_file = run / "test_predictions.txt"
        if not pred_file.is_file():
            other = " (only val_predictions.txt: scored on a validation split)" if (
                run / "val_predictions.txt").is_file() else ""
            raise UserError(f"{run}: no test_predictions.txt{other}; runs on different test sets cannot be compared")
        text = read_text(pred_file).strip()
        n_test = summary.get("n_test")
        if len(text) != len(labels) or n_test != len(labels):
            raise UserError(f"{run}: {len(text)} test predictions (summary n_test={n_test}) but the MNIST test set "
                            f"has {len(labels)} images; runs on different test sets cannot be compared")
        if not text.isdigit():
            raise UserError(f"{pred_file}: expected one digit per test image")
        miss = np.frombuffer(text.encode(), np.uint8) - ord("0") != labels
        if summary.get("test_misses") is not None and int(miss.sum()) != summary["test_misses"]:
            raise UserError(f"{run}: its predictions miss {int(miss.sum())} test images but summary.json says "
                            f"{summary['test_misses']}: scored on other labels than these")
        if not isinstance(summary.get("seed"), int):
            raise UserError(f"{run / 'summary.json'}: no seed")
        seeds.append(summary["seed"])
        wrong.append(miss)
    order = np.argsort(seeds, kind="stable")
    return {"name": folder.name, "dir": str(folder), "seeds": [seeds[i] for i in order],
            "wrong": np.stack([wrong[i] for i in order])}


def summarize(cfg: dict) -> dict:
    """A config's row: n, each seed's error, mean, std, 95% t-interval, test-sample SE (all in %)."""
    errors = [100 * float(w.mean()) for w in cfg["wrong"]]
    mean, std = stats.mean_std(errors)
    ci = stats.t_interval(errors)
    n_test = cfg["wrong"].shape[1]
    return {"name": cfg["name"], "dir": cfg["dir"], "n": len(errors), "seeds": cfg["seeds"], "errors": errors,
            "mean": mean, "std": std, "ci95": list(ci) if ci else None,
            "test_se": 100 * stats.test_se(mean / 100, n_test)}


def versus(cfg: dict, base: dict, reps: int = REPLICATES, seed: int = 0) -> dict:
    """cfg against base: bootstrap difference (cfg - base, %), its interval, P(cfg better), McNemar per seed."""
    boot = stats.paired_bootstrap(cfg["wrong"], base["wrong"], reps=reps, seed=seed)
    mcnemar = {}
    for s in sorted(set(cfg["seeds"]) & set(base["seeds"])):
        a, b = cfg["wrong"][cfg["seeds"].index(s)], base["wrong"][base["seeds"].index(s)]
        mcnemar[str(s)] = stats.mcnemar_exact(int((a & ~b).sum()), int((~a & b).sum()))
    return {"name": cfg["name"], "baseline": base["name"], "diff": 100 * boot["diff"],
            "ci95": [100 * boot["ci95"][0], 100 * boot["ci95"][1]], "p_better": boot["p_better"],
            "mcnemar_p": mcnemar}


def compare(dirs, baseline=None, fmt: str = "md", plot=None, root=None, reps: int = REPLICATES) -> str:
    """Load, check, compute; return the table in `fmt`, and draw `plot` (a PNG) when given.
    Every input is checked before anything is written."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: unknown; choose one of {', '.join(FORMATS)}")
    if not dirs:
        raise UserError("compare: no run folder given")
    if plot is not None:
        need_matplotlib()
    folders = [Path(d) for d in dirs]
    if baseline is not None and Path(baseline).resolve() not in [f.resolve() for f in folders]:
        folders.insert(0, Path(baseline))
    labels = load_test_labels(root)
    configs = [load_config_runs(f, labels) for f in folders]
    _unique_names(configs)
    base = configs[0] if baseline is None else next(c for c in configs
                                                     if Path(c["dir"]).resolve() == Path(baseline).resolve())
    result = {"configs": [summarize(c) for c in configs],
              "comparisons": [versus(c, base, reps) for c in configs if c is not base]}
    if plot is not None:
        write_plot(result, plot)
    return render(result, fmt)


def _unique_names(configs) -> None:
    """Two folders with one name (a/lenet5 and b/lenet5) are told apart by their paths."""
    names = [c["name"] for c in configs]
    for c in configs:
        if names.count(c["name"]) > 1:
            c["name"] = c["dir"]

