"""The robustness table's numbers from the scored runs (robustness.py): per config, a cell per figure
(each seed's value, the mean, a 95% t-interval over seeds); per config against the baseline, a Welch
difference over seeds (errors: plus the paired test-image variance).

stats.welch / stats.difference are being written (issue 30); until they land, `welch` and `difference`
here call them when present and a local version otherwise, with the same signature and result
(diff, se, df, ci95 or None, p_value, reason).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as student_t

from . import stats

ONE_SEED = "one seed: no interval over seeds"


def local_welch(values_a, values_b, test_var: float = 0.0, level: float = 0.95) -> dict:
    """mean(a) - mean(b): Welch's standard error over seeds plus test_var (a known test-sample part),
    Student-t with Satterthwaite's degrees of freedom (the known part adds none)."""
    a, b = np.asarray(values_a, np.float64), np.asarray(values_b, np.float64)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return {"diff": diff, "se": None, "df": None, "ci95": None, "p_value": None, "reason": ONE_SEED}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb + test_var)
    if se == 0:
        return {"diff": diff, "se": 0.0, "df": None, "ci95": [diff, diff], "p_value": 1.0 if diff == 0 else 0.0,
                "reason": "no variance: every seed gives the same value"}
    den = va * va / (len(a) - 1) + vb * vb / (len(b) - 1)
    df = (va + vb + test_var) ** 2 / den if den > 0 else math.inf
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * student_t.sf(abs(diff) / se, df))
    return {"diff": diff, "se": se, "df": df, "ci95": [diff - half, diff + half], "p_value": p, "reason": None}


def welch(values_a, values_b, test_var: float = 0.0, level: float = 0.95) -> dict:
    fn = getattr(stats, "welch", None)
    return fn(values_a, values_b, test_var=test_var, level=level) if callable(fn) else \
        local_welch(values_a, values_b, test_var, level)


def paired_test_var(wrong_a, wrong_b) -> float:
    """The test-sample variance of mean error(A) - mean error(B) on shared images: var over images of the
    per-image difference of the seeds' mean misses, / N."""
    d = np.asarray(wrong_a, np.float64).mean(0) - np.asarray(wrong_b, np.float64).mean(0)
    return float(d.var(ddof=1) / len(d)) if len(d) > 1 else 0.0


def difference(wrong_a, wrong_b) -> dict:
    """Mean error(A) - mean error(B) (fractions) from (seeds, N) miss matrices on the same N images."""
    fn = getattr(stats, "difference", None)
    if callable(fn):
        return fn(wrong_a, wrong_b)
    a, b = np.asarray(wrong_a, bool), np.asarray(wrong_b, bool)
    return welch(a.mean(1), b.mean(1), test_var=paired_test_var(a, b))


def cell(values) -> dict:
    values = [float(v) for v in values]
    ci = stats.t_interval(values) if len(values) > 1 else None
    return {"mean": float(np.mean(values)), "ci95": list(ci) if ci else None, "values": values}


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
    row = {"name": cfg["name"], "dir": cfg["dir"], "head": runs[0]["head"], "n": len(runs),
           "seeds": [r["seed"] for r in runs], "note": ONE_SEED if len(runs) == 1 else None,
           "clean": cell([100 * r["clean"].mean() for r in runs]),
           "corruption": {c: cell([100 * r["corrupted"][c].mean() for r in runs]) for c in corruptions}}
    row["mean_corruption"] = cell([100 * np.mean([r["corrupted"][c].mean() for c in corruptions]) for r in runs])
    base_err = {c: np.mean([r["corrupted"][c].mean() for r in base["runs"]]) for c in corruptions}
    if all(base_err[c] > 0 for c in corruptions):
        row["mce"] = cell([100 * np.mean([r["corrupted"][c].mean() / base_err[c] for c in corruptions]) for r in runs])
    else:
        row["mce"] = None  # a corruption the baseline never misses on: no ratio
    row["rejection"] = {g: {s: {m: cell([r["rejection"][g][s][m] for r in runs]) for m in ("auroc", "fpr95")}
                            for s in runs[0]["rejection"][g]} for g in rubbish}
    return row


def versus(cfg, base, corruptions, rubbish) -> dict:
    """cfg - base: errors in percent points (Welch over seeds + paired test variance), AUROC and FPR95 of
    each head's first score and of the margin (Welch over seeds)."""
    def wrongs(c, key):
        def pick(r):
            return r[key] if c is None else r[key][c]
        return np.stack([pick(r) for r in cfg["runs"]]), np.stack([pick(r) for r in base["runs"]])

    out = {"name": cfg["name"], "baseline": base["name"],
           "clean": _percent(difference(*wrongs(None, "clean"))),
           "corruption": {c: _percent(difference(*wrongs(c, "corrupted"))) for c in corruptions},
           "mean_corruption": _percent(difference(_all_corrupted(cfg, corruptions), _all_corrupted(base, corruptions)))}
    first_a, first_b = (next(iter(x["runs"][0]["rejection"][rubbish[0]])) for x in (cfg, base))
    out["scores"] = [first_a, first_b]
    out["rejection"] = {}
    for g in rubbish:
        out["rejection"][g] = {}
        for label, sa, sb in (("first", first_a, first_b), ("margin", "margin", "margin")):
            out["rejection"][g][label] = {m: welch([r["rejection"][g][sa][m] for r in cfg["runs"]],
                                                   [r["rejection"][g][sb][m] for r in base["runs"]])
                                          for m in ("auroc", "fpr95")}
    return out


def summarize_all(configs, base_i: int, corruptions, rubbish) -> dict:
    base = configs[base_i]
    names = [c["name"] for c in configs]
    for c in configs:
        if names.count(c["name"]) > 1:
            c["name"] = c["dir"]  # two folders with one name are told apart by their paths
    return {"corruptions": corruptions, "rubbish": rubbish, "baseline": base["name"], "tpr": 0.95,
            "configs": [summarize(c, base, corruptions, rubbish) for c in configs],
            "comparisons": [versus(c, base, corruptions, rubbish) for i, c in enumerate(configs) if i != base_i]}
