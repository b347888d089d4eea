"""Synthetic seeded runs for the coverage test of compare's difference interval (tests/test_coverage.py,
dev/coverage.py): miss matrices over one shared test set, shaped like the committed LeNet-5 runs.

A test set of N = 10,000 images of which HARD = 400 can be missed, each with its own miss probability
p_j ~ Beta(1, 3) (mean 0.25: about 100 misses, a 1% error). A run with seed effect tau scales every
p_j by exp(N(0, tau)), one draw per run (a training effect shared by all images: tau 0.2 gives a seed
sd of about 0.2 points, as `modern-subsample` shows; tau 0 leaves the per-image flips alone, sd about
0.08 points, as `lenet5_1998`'s flips alone would give), then draws each image's miss. Measured on the
committed runs (issue 30): seed sd 0.16-0.32 points, flips alone 0.07-0.10.
"""

from __future__ import annotations

import numpy as np

N, HARD = 10_000, 400


def miss_probabilities(rng) -> np.ndarray:
    """The hard images' miss probabilities (the other N - HARD images are never missed)."""
    return rng.beta(1.0, 3.0, HARD)


def runs(rng, p: np.ndarray, n: int, tau: float) -> np.ndarray:
    """(n, N) misses of n seeds: each seed scales p by its own exp(N(0, tau)) (clipped to 1)."""
    scale = np.exp(rng.normal(0.0, tau, (n, 1))) if tau > 0 else np.ones((n, 1))
    hard = rng.random((n, HARD)) < np.minimum(1.0, p * scale)
    return np.concatenate([hard, np.zeros((n, N - HARD), bool)], axis=1)


def shifted(p: np.ndarray, points: float) -> np.ndarray:
    """p raised so that the expected error grows by `points` percentage points (scaled, clipped to 1)."""
    want = p.sum() + points / 100 * N
    lo, hi = 1.0, 1.0 / p.min()
    for _ in range(60):  # bisection on the scale factor: E[misses] = sum min(1, k p) is increasing in k
        k = (lo + hi) / 2
        lo, hi = (k, hi) if np.minimum(1.0, k * p).sum() < want else (lo, k)
    return np.minimum(1.0, hi * p)


def exclusion_rate(interval, n: int, tau: float, sims: int, seed: int, points: float = 0.0) -> float:
    """Share of `sims` simulated comparisons (n seeds per arm, seed effect tau) whose interval
    (a function of two miss matrices returning (lo, hi) in fractions) excludes 0. With points = 0
    both arms share one p: no true difference, so the rate is the false-positive rate; with
    points > 0, arm A's error is higher by that much: the rate is the power."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        p = miss_probabilities(rng)
        pa = shifted(p, points) if points else p
        lo, hi = interval(runs(rng, pa, n, tau), runs(rng, p, n, tau))
        hits += lo > 0 or hi < 0
    return hits / sims
