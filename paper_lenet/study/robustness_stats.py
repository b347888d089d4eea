"""The robustness table's numbers from the scored runs (robustness.py): per config, a cell per figure
(each seed's value, the mean, a 95% t-interval over seeds); per config against the baseline, a Welch
difference over seeds (errors: plus the paired test-image variance).

The differences are compare's (stats.welch over seeds, stats.difference for miss matrices: a
Welch-t plus the paired test-sample part, Satterthwaite's degrees of freedom).
"""

from __future__ import annotations

import numpy as np

from ..tools import stats

ONE_SEED = "1 seed: no interval"  # stats.welch's reason


def welch(values_a, values_b, test_var: float = 0.0, level: float = 0.95) -> dict:
    return stats.welch(values_a, values_b, test_var=test_var, level=level)


def difference(wrong_a, wrong_b) -> dict:
    """Mean error(A) - mean error(B) (fractions) from (seeds, N) miss matrices on the same N images."""
    return stats.difference(wrong_a, wrong_b)


def cell(values, lo: float = 0.0, hi: float = 100.0) -> dict:
    """Each seed's value, their mean and the 95% t-interval over seeds, clipped to [lo, hi] (what the
    figure can be: an error in %, a fraction, a ratio), as compare's error intervals are."""
    values = [float(v) for v in values]
    ci = stats.t_interval(values) if len(values) > 1 else None
    ci = [max(lo, ci[0]), min(hi, ci[1])] if ci else None
    return {"mean": float(np.mean(values)), "ci95": ci, "values": values}


def _percent(d: dict) -> dict:
    out = dict(d)
    for k in ("diff", "se"):
        if out.get(k) is not None:
            out[k] = 100 * out[k]
    if out.get("ci95") is not None:
        out["ci95"] = [100 * v for v in out["ci95"]]
    return out


def _all_corrupted(cfg, corruptions) -> np.ndarray:
    return np.concatenate([np.stack([r["corrupted"][c] for r in cfg["runs"]]) for c in corruptions], axis=1)


def summarize(cfg, base, corruptions, rubbish) -> dict:
    runs = cfg["runs"]
    row = {
        "name": cfg["name"],
        "dir": cfg["dir"],
        "head": runs[0]["head"],
        "n": len(runs),
        "seeds": [r["seed"] for r in runs],
        "note": ONE_SEED if len(runs) == 1 else None,
        "clean": cell([100 * r["clean"].mean() for r in runs]),
        "corruption": {c: cell([100 * r["corrupted"][c].mean() for r in runs]) for c in corruptions},
    }
    diverged = sum(100 * r["clean"].mean() >= stats.DIVERGED for r in runs)
    if diverged:  # a seed that never learned the task: its corrupted and rubbish figures are a constant's
        row["note"] = "; ".join(
            filter(
                None,
                [
                    row["note"],
                    f"{diverged} of {len(runs)} seeds diverged (clean error >= {stats.DIVERGED:.0f}%): "
                    "their figures describe a net that did not learn the task",
                ],
            )
        )
    row["mean_corruption"] = cell(
        [100 * np.mean([r["corrupted"][c].mean() for c in corruptions]) for r in runs]
    )
    base_err = {c: np.mean([r["corrupted"][c].mean() for r in base["runs"]]) for c in corruptions}
    if all(base_err[c] > 0 for c in corruptions):
        row["mce"] = cell(
            [100 * np.mean([r["corrupted"][c].mean() / base_err[c] for c in corruptions]) for r in runs],
            hi=float("inf"),
        )
    else:
        row["mce"] = None  # a corruption the baseline never misses on: no ratio
    row["rejection"] = {
        g: {
            s: {m: cell([r["rejection"][g][s][m] for r in runs], hi=1.0) for m in ("auroc", "fpr95")}
            for s in runs[0]["rejection"][g]
        }
        for g in rubbish
    }
    return row


def versus(cfg, base, corruptions, rubbish) -> dict:
    """cfg - base: errors in percent points (Welch over seeds + paired test variance), AUROC and FPR95 of
    each head's first score and of the margin (Welch over seeds)."""

    def wrongs(c, key):
        def pick(r):
            return r[key] if c is None else r[key][c]

        return np.stack([pick(r) for r in cfg["runs"]]), np.stack([pick(r) for r in base["runs"]])

    out = {
        "name": cfg["name"],
        "baseline": base["name"],
        "clean": _percent(difference(*wrongs(None, "clean"))),
        "corruption": {c: _percent(difference(*wrongs(c, "corrupted"))) for c in corruptions},
        "mean_corruption": _percent(
            difference(_all_corrupted(cfg, corruptions), _all_corrupted(base, corruptions))
        ),
    }
    first_a, first_b = (next(iter(x["runs"][0]["rejection"][rubbish[0]])) for x in (cfg, base))
    out["scores"] = [first_a, first_b]
    out["rejection"] = {}
    for g in rubbish:
        out["rejection"][g] = {}
        for label, sa, sb in (("first", first_a, first_b), ("margin", "margin", "margin")):
            out["rejection"][g][label] = {
                m: welch(
                    [r["rejection"][g][sa][m] for r in cfg["runs"]],
                    [r["rejection"][g][sb][m] for r in base["runs"]],
                )
                for m in ("auroc", "fpr95")
            }
    return out


def summarize_all(configs, base_i: int, corruptions, rubbish) -> dict:
    base = configs[base_i]
    names = [c["name"] for c in configs]
    for c in configs:
        if names.count(c["name"]) > 1:
            c["name"] = c["dir"]  # two folders with one name are told apart by their paths
    return {
        "corruptions": corruptions,
        "rubbish": rubbish,
        "baseline": base["name"],
        "tpr": 0.95,
        "configs": [summarize(c, base, corruptions, rubbish) for c in configs],
        "comparisons": [versus(c, base, corruptions, rubbish) for i, c in enumerate(configs) if i != base_i],
    }
