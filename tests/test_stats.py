"""paper_lenet/stats.py against values worked by hand or read from printed tables, not recomputed
with the module's own formulas: Student-t intervals, the test-sample standard error, the sample sd."""
from __future__ import annotations

import math

import pytest

from paper_lenet import stats  # stats.test_se by its module: a bare test_se here would be collected
from paper_lenet.stats import mean_std, t_interval

# two-sided Student-t quantiles from a printed table (4 significant figures): the table's precision
# sets the tolerances below (half a unit in the 4th figure, times sd/sqrt(n))
T975 = {1: 12.71, 4: 2.776}  # 95%
T95 = {4: 2.132}  # 90%


def test_t_interval_known_values():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, sd sqrt(2.5)
    sem = math.sqrt(2.5) / math.sqrt(5)
    lo, hi = t_interval(values)
    assert lo == pytest.approx(3 - T975[4] * sem, abs=1e-3) and hi == pytest.approx(3 + T975[4] * sem, abs=1e-3)
    lo, hi = t_interval(values, level=0.90)
    assert lo == pytest.approx(3 - T95[4] * sem, abs=1e-3) and hi == pytest.approx(3 + T95[4] * sem, abs=1e-3)
    lo, hi = t_interval([0.9, 1.1])  # n = 2: one degree of freedom, sd sqrt(0.02), sem 0.1
    assert lo == pytest.approx(1 - T975[1] * 0.1, abs=1e-3) and hi == pytest.approx(1 + T975[1] * 0.1, abs=1e-3)
    assert t_interval([1.0]) is None  # one seed: no interval


def test_test_se_by_hand():
    assert stats.test_se(0.01, 10000) == pytest.approx(math.sqrt(0.01 * 0.99 / 10000), rel=1e-12)  # 0.000995
    assert stats.test_se(0.0, 10000) == 0.0 and stats.test_se(0.5, 100) == pytest.approx(0.05, rel=1e-12)


def test_sample_sd_divides_by_n_minus_1():
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, math.sqrt(2.0)), abs=1e-12)
    assert mean_std([2.0, 2.0, 2.0, 6.0]) == pytest.approx((3.0, 2.0), abs=1e-12)  # var 12 / 3
