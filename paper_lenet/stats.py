"""The statistics the results tables report: mean +- std over seeds, McNemar per seed, and
for configs trained with several seeds on one shared test set (paper-lenet compare): a t-interval over
seeds, the test-sample standard error, and a paired two-level bootstrap of a difference of mean errors.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom, t as student_t


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


def test_se(p: float, n_test: int) -> float:
    """Binomial standard error sqrt(p (1 - p) / N) of an error rate p measured on n_test images: the
    test-sample part of the uncertainty, which a t-interval over seeds on one test set does not hold."""
    return math.sqrt(p * (1 - p) / n_test)


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
        diffs[lo:lo + r] = ((wa @ a - wb @ b) * w).sum(1) / n
    low, high = np.quantile(diffs, [0.025, 0.975])
    observed = (a.sum() / len(a) - b.sum() / len(b)) / n
    return {"diff": float(observed), "ci95": (float(low), float(high)),
            "p_better": float(np.mean(diffs < 0) + 0.5 * np.mean(diffs == 0)), "replicates": diffs}


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
