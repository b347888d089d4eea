"""The statistics the results tables report: mean +- std over seeds, Wilson intervals, McNemar."""
from __future__ import annotations

import math

from scipy.stats import binom, t


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return m, sd


def wilson(errors: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion errors/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = errors / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only A wrong) and c (only B wrong)."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom.cdf(min(b, c), n, 0.5))


def discordant(pred_a: str, pred_b: str, labels: str) -> tuple[int, int]:
    """(b, c): test images A gets wrong and B right, and the reverse."""
    b = sum(1 for x, y, t in zip(pred_a, pred_b, labels) if x != t and y == t)
    c = sum(1 for x, y, t in zip(pred_a, pred_b, labels) if x == t and y != t)
    return b, c


def t_interval(values: list[float], conf: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean over independent runs (seeds): mean -+ t(n-1) sd / sqrt(n);
    (nan, nan) for fewer than two values."""
    n = len(values)
    if n < 2:
        return float("nan"), float("nan")
    m, sd = mean_std(values)
    half = t.ppf(0.5 + conf / 2, n - 1) * sd / math.sqrt(n)
    return m - half, m + half
