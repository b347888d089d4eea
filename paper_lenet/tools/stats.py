"""The statistics the results tables report, for configs trained with several seeds and scored on one
shared test set (paper-lenet compare, RESULTS.md).

Per config: mean +- sample std over seeds, a Student-t interval over seeds (training variance), and
apart the test-sample standard error of the seed-mean error (the per-image spread of the seeds' mean
miss, over sqrt(N)). Per pair of configs A, B on the same N test images (`difference`):

    d = mean_seeds(err_A) - mean_seeds(err_B)
    V = s_A^2 / n_A + s_B^2 / n_B                        (Welch: the seed part)
      + var_j(mbar_A,j - mbar_B,j) / N                  (the paired test-sample part; mbar: seed-mean miss)
    d +- t(0.975, nu) sqrt(V),   nu by Satterthwaite (Welch 1947; Satterthwaite 1946)

Each seed's error already carries its own per-image flips, so with no seed effect the two parts
count that noise twice: the interval is then conservative, never liberal. tests/test_coverage.py
holds it to its level by simulation at n = 2..10 seeds; docs/own-ablation.md gives the measured rates.
The earlier paired two-level bootstrap (`paired_bootstrap`) stays for that comparison: at 3-5 seeds
its percentile interval is too narrow (resampling n seeds shrinks the variance by (n-1)/n and no
Student-t widening is applied), and compare's JSON reports it only as `bootstrap_ci95`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom
from scipy.stats import t as student_t

DIVERGED = 50.0  # % test error: a 10-class net this far from 0 has not learned the task (chance is 90%)
MAX_SEEDS_NEEDED = 1000  # `seeds_needed` looks no further: past it, "more than 1000"


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return m, sd


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only A wrong) and c (only B wrong)."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom.cdf(min(b, c), n, 0.5))


def t_interval(values, level: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval of the mean over seeds (training variance); None for fewer than 2 values."""
    n = len(values)
    if n < 2:
        return None
    m, sd = mean_std(list(values))
    half = student_t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return m - half, m + half


def error_interval(errors, level: float = 0.95) -> tuple[tuple[float, float] | None, str | None]:
    """The t_interval of a mean test error over seeds, errors in %: clipped to [0, 100] (no error rate
    lies outside; clipping keeps the coverage), or None with the reason: one seed, or seeds that
    disagree, some diverged (error >= DIVERGED %) while others trained, where a mean and its interval
    describe no run at all (e.g. `lenet5_1998_literal`: 71.0, 90.2, 13.4). Returns (interval, reason)."""
    if len(errors) < 2:
        return None, "1 seed: no interval"
    if min(errors) < DIVERGED <= max(errors):
        return None, "seeds disagree: no interval"
    lo, hi = t_interval(errors, level)
    return (max(lo, 0.0), min(hi, 100.0)), None


def seed_mean_test_se(wrong) -> float:
    """The test-sample standard error of the seed-mean error (a fraction): sd over the N images of each
    image's seed-mean miss, / sqrt(N). With one seed it is sqrt(p(1-p)/N) up to N/(N-1); with seeds
    that miss different images it is smaller than that, since their errors partly average out."""
    w = np.asarray(wrong, bool)
    if w.ndim != 2 or not w.size:
        raise ValueError(f"expected a (seeds, N) array, got shape {w.shape}")
    per_image = w.mean(0)
    return float(per_image.std(ddof=1) / math.sqrt(w.shape[1]))


def welch(values_a, values_b, test_var: float = 0.0, test_df: float = math.inf, level: float = 0.95) -> dict:
    """mean(values_a) - mean(values_b) with a Student-t interval of variance s_A^2/n_A + s_B^2/n_B +
    test_var and Satterthwaite's degrees of freedom (test_var, e.g. a test-sample part, has test_df).

    Returns diff, se, df, ci95 (lo, hi) and p_value (two-sided, no difference), and `reason` (None, or
    why ci95 and p_value are None: an arm with one seed has no seed variance to estimate)."""
    a, b = [float(v) for v in values_a], [float(v) for v in values_b]
    if not a or not b:
        raise ValueError(f"welch: each arm needs at least one value, got {len(a)} and {len(b)}")
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    out = {
        "diff": ma - mb,
        "se": None,
        "df": None,
        "ci95": None,
        "p_value": None,
        "reason": None,
        "var_a": sa**2,
        "var_b": sb**2,
        "n_a": len(a),
        "n_b": len(b),
        "test_var": float(test_var),
    }
    if len(a) < 2 or len(b) < 2:
        out["reason"] = "1 seed: no interval"
        return out
    va, vb = sa**2 / len(a), sb**2 / len(b)
    var = va + vb + test_var
    if var == 0:  # every seed equal and no test-sample spread: the difference is exact
        out.update(se=0.0, df=math.inf, ci95=(out["diff"], out["diff"]), p_value=float(out["diff"] == 0))
        return out
    denom = va**2 / (len(a) - 1) + vb**2 / (len(b) - 1) + (test_var**2 / test_df if test_df else 0.0)
    df = var**2 / denom if denom > 0 else math.inf
    se = math.sqrt(var)
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    out.update(
        se=se,
        df=df,
        ci95=(out["diff"] - half, out["diff"] + half),
        p_value=float(min(1.0, 2 * student_t.sf(abs(out["diff"]) / se, df))),
    )
    return out


def difference(wrong_a, wrong_b, level: float = 0.95) -> dict:
    """Mean error(A) - mean error(B), as fractions, for (seeds, N) miss matrices on the same N test
    images: `welch` over the seeds' errors plus the paired test-sample part var_j(mbar_A,j - mbar_B,j) / N
    (module docstring). Adds `seeds_needed` (see there)."""
    a, b = np.asarray(wrong_a, bool), np.asarray(wrong_b, bool)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b) or not a.shape[1]:
        raise ValueError(f"expected (seeds, N) arrays with the same N, got {a.shape} and {b.shape}")
    n = a.shape[1]
    paired = a.mean(0) - b.mean(0)
    test_var = float(paired.var(ddof=1) / n) if n > 1 else 0.0
    out = welch(a.mean(1), b.mean(1), test_var=test_var, test_df=n - 1, level=level)
    out["seeds_needed"], out["seeds_needed_reason"] = seeds_needed(out, level)
    return out


def seeds_needed(res: dict, level: float = 0.95) -> tuple[int | None, str | None]:
    """Seeds per arm at which the interval's half-width would fall below the observed |diff|, if the
    seed variances and the test-sample part stay as observed: (n, None), or (None, why not)."""
    d = abs(res["diff"])
    if res["n_a"] < 2 or res["n_b"] < 2:
        return None, "1 seed: no seed variance to project from"
    if d == 0:
        return None, "no difference to resolve"
    va, vb, vt = res["var_a"], res["var_b"], res["test_var"]
    if float(student_t.ppf(0.5 + level / 2, math.inf)) * math.sqrt(vt) >= d:
        return None, "none: the test set's noise alone exceeds the difference"
    for n in range(2, MAX_SEEDS_NEEDED + 1):
        seed = (va + vb) / n
        var = seed + vt
        denom = seed**2 / (n - 1) * ((va**2 + vb**2) / (va + vb) ** 2 if va + vb else 0.0)
        # Satterthwaite with n_A = n_B = n: (va/n)^2/(n-1) + (vb/n)^2/(n-1); the test part's df is ~N
        # (omitted)
        df = var**2 / denom if denom > 0 else math.inf
        if float(student_t.ppf(0.5 + level / 2, df)) * math.sqrt(var) < d:
            return n, None
    return None, f"more than {MAX_SEEDS_NEEDED}"


def holm(p_values) -> list[float]:
    """Holm's step-down adjustment (Holm 1979) of a family of p-values, in their order; None stays None."""
    idx = [i for i, p in enumerate(p_values) if p is not None]
    order = sorted(idx, key=lambda i: p_values[i])
    out = list(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[i]))
        out[i] = running
    return out


def paired_bootstrap(wrong_a, wrong_b, reps: int = 10000, seed: int = 0, chunk: int = 200) -> dict:
    """Two-level paired bootstrap of mean error(A) - mean error(B), as fractions.

    wrong_a (seeds_a, N), wrong_b (seeds_b, N): True where a run misses a test image; the N images
    are the same for both. Each replicate resamples A's seeds and B's seeds (training variance) and
    one set of N test indices used for both (test-sample variance, paired). Returns the observed
    difference, the 95% percentile interval, and P(A better) = the share of replicates with A's error
    below B's (ties count half). Images no run misses add nothing to any replicate: only the others'
    draw counts are drawn (_kept_counts), `chunk` replicates at a time."""
    a, b = np.asarray(wrong_a, bool), np.asarray(wrong_b, bool)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"expected (seeds, N) arrays with the same N, got {a.shape} and {b.shape}")
    n = a.shape[1]
    keep = a.any(0) | b.any(0)
    a, b = a[:, keep].astype(np.float64), b[:, keep].astype(np.float64)
    rng = np.random.default_rng(seed)
    diffs = np.empty(reps)
    for lo in range(0, reps, chunk):
        r = min(chunk, reps - lo)
        wa, wb = _counts(rng, r, len(a)) / len(a), _counts(rng, r, len(b)) / len(b)  # seed weights
        w = _kept_counts(rng, r, n, a.shape[1])  # draws of each kept test image, the same for A and B
        diffs[lo : lo + r] = ((wa @ a - wb @ b) * w).sum(1) / n
    low, high = np.quantile(diffs, [0.025, 0.975])
    observed = (a.sum() / len(a) - b.sum() / len(b)) / n
    return {
        "diff": float(observed),
        "ci95": (float(low), float(high)),
        "p_better": float(np.mean(diffs < 0) + 0.5 * np.mean(diffs == 0)),
        "replicates": diffs,
    }


def _counts(rng, reps: int, n: int) -> np.ndarray:
    """(reps, n): how many times each of n items is drawn in n draws with replacement, per replicate."""
    return _kept_counts(rng, reps, n, n)


def _kept_counts(rng, reps: int, n: int, k: int) -> np.ndarray:
    """(reps, k): in n draws with replacement from n items, how many times each of the first k is
    drawn. Exact and in O(reps k): the draws that land among the k are Binomial(n, k/n) in number,
    each uniform over the k."""
    m = rng.binomial(n, k / n, size=reps)
    rows = np.repeat(np.arange(reps), m)
    return np.bincount(rows * k + rng.integers(0, k, m.sum()), minlength=reps * k).reshape(reps, k)
