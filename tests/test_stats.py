"""paper_lenet/stats.py against values worked by hand or read from printed tables, not recomputed
with the module's own formulas: Student-t intervals, Wilson's edge cases, the sample sd."""
from __future__ import annotations

import math

import pytest

from paper_lenet.stats import mean_std, t_interval, wilson

# two-sided Student-t quantiles from a printed table (4 significant figures): the table's precision
# sets the tolerances below (half a unit in the 4th figure, times sd/sqrt(n))
T975 = {1: 12.71, 4: 2.776}  # 95%
T95 = {4: 2.132}  # 90%


def test_t_interval_known_values():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, sd sqrt(2.5)
    sem = math.sqrt(2.5) / math.sqrt(5)
    lo, hi = t_interval(values)
    assert lo == pytest.approx(3 - T975[4] * sem, abs=1e-3) and hi == pytest.approx(3 + T975[4] * sem, abs=1e-3)
    lo, hi = t_interval(values, conf=0.90)
    assert lo == pytest.approx(3 - T95[4] * sem, abs=1e-3) and hi == pytest.approx(3 + T95[4] * sem, abs=1e-3)
    lo, hi = t_interval([0.9, 1.1])  # n = 2: one degree of freedom, sd sqrt(0.02), sem 0.1
    assert lo == pytest.approx(1 - T975[1] * 0.1, abs=1e-3) and hi == pytest.approx(1 + T975[1] * 0.1, abs=1e-3)
    assert all(math.isnan(v) for v in t_interval([1.0]))  # one seed: no interval


def test_wilson_edges_and_symmetry():
    assert all(math.isnan(v) for v in wilson(0, 0))
    lo, hi = wilson(100, 100)  # all wrong: the interval ends at 1, mirrors wilson(0, 100)
    assert hi == 1.0 and lo == pytest.approx(1 - wilson(0, 100)[1], abs=1e-12)
    lo, hi = wilson(5, 10)  # p = 1/2: centred on it; by hand 0.5 -+ 1.96 sqrt(0.025 + 0.0096) / 1.384
    assert lo + hi == pytest.approx(1.0, abs=1e-12) and hi - lo == pytest.approx(0.52681, abs=1e-4)


def test_sample_sd_divides_by_n_minus_1():
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, math.sqrt(2.0)), abs=1e-12)
    assert mean_std([2.0, 2.0, 2.0, 6.0]) == pytest.approx((3.0, 2.0), abs=1e-12)  # var 12 / 3
