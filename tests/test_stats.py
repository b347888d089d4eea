"""paper_lenet/tools/stats.py against values worked by hand or read from printed tables, not recomputed
with the module's own formulas: Student-t intervals, the test-sample standard error, the sample sd,
the bootstrap's interval against the binomial it must reproduce, and its input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from paper_lenet.tools import stats  # stats.test_se by its module: a bare test_se here would be collected
from paper_lenet.tools.stats import mean_std, t_interval

# two-sided Student-t quantiles from a printed table (4 significant figures): the table's precision
# sets the tolerances below (half a unit in the 4th figure, times sd/sqrt(n))
T975 = {1: 12.71, 4: 2.776}  # 95%
T95 = {4: 2.132}  # 90%


def test_t_interval_known_values():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, sd sqrt(2.5)
    sem = math.sqrt(2.5) / math.sqrt(5)
    lo, hi = t_interval(values)
    assert lo == pytest.approx(3 - T975[4] * sem, abs=1e-3) and hi == pytest.approx(
        3 + T975[4] * sem, abs=1e-3
    )
    lo, hi = t_interval(values, level=0.90)
    assert lo == pytest.approx(3 - T95[4] * sem, abs=1e-3) and hi == pytest.approx(3 + T95[4] * sem, abs=1e-3)
    lo, hi = t_interval([0.9, 1.1])  # n = 2: one degree of freedom, sd sqrt(0.02), sem 0.1
    assert lo == pytest.approx(1 - T975[1] * 0.1, abs=1e-3) and hi == pytest.approx(
        1 + T975[1] * 0.1, abs=1e-3
    )
    assert t_interval([1.0]) is None  # one seed: no interval


def test_seed_mean_test_se_by_hand():
    one = np.zeros((1, 10000), bool)
    one[0, :100] = (
        True  # one seed, 1%: sd of 100 ones among 10,000 (ddof 1) / 100 = sqrt(0.99 x 100/9999) / 100
    )
    assert stats.seed_mean_test_se(one) == pytest.approx(math.sqrt(0.0099 * 10000 / 9999) / 100, rel=1e-12)
    same = np.repeat(one, 3, axis=0)  # seeds that miss the same images: the one-seed figure
    assert stats.seed_mean_test_se(same) == pytest.approx(stats.seed_mean_test_se(one), rel=1e-12)
    apart = np.zeros((2, 10000), bool)  # two seeds, 1% each, disjoint misses: 200 images at 0.5
    apart[0, :100] = apart[1, 100:200] = True
    var = (200 * 0.25 - 10000 * 0.01**2) / 9999  # sum of squares minus N mean^2, over N - 1
    assert stats.seed_mean_test_se(apart) == pytest.approx(math.sqrt(var / 10000), rel=1e-12)
    assert stats.seed_mean_test_se(apart) < stats.seed_mean_test_se(one)  # their flips partly average out


def test_error_interval_refuses_one_seed_and_seeds_that_disagree_and_stays_in_0_100():
    assert stats.error_interval([1.0]) == (None, "1 seed: no interval")
    assert stats.error_interval([71.0, 90.2, 13.42]) == (
        None,
        "seeds disagree: no interval",
    )  # lenet5_1998_literal
    ci, why = stats.error_interval([1.0, 1.2, 1.1])
    assert why is None and ci == pytest.approx(t_interval([1.0, 1.2, 1.1]), rel=1e-12)
    assert stats.error_interval([0.88, 1.12])[0] == pytest.approx(
        (0.0, 1.0 + T975[1] * 0.12), abs=1e-3
    )  # clipped
    assert stats.error_interval([13.52, 17.23, 36.02])[0][0] == 0.0  # paper-s2-average: t gives -7.7
    assert stats.error_interval([90.26, 90.26])[0] == pytest.approx((90.26, 90.26))  # all diverged: agree


def test_sample_sd_divides_by_n_minus_1():
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, math.sqrt(2.0)), abs=1e-12)
    assert mean_std([2.0, 2.0, 2.0, 6.0]) == pytest.approx((3.0, 2.0), abs=1e-12)  # var 12 / 3


def test_bootstrap_interval_is_the_central_95_percent_of_the_binomial():
    """One seed each; A misses 100 of 1,000 images that B gets right: a replicate's difference is the
    share of 1,000 draws landing on those 100, Binomial(1000, 0.1) / 1000. Its 2.5% and 97.5% quantiles
    (82, 119) are 3 counts from the 5% and 95% ones (85, 116): a 90% interval would not pass."""
    a = np.zeros((1, 1000), bool)
    a[0, :100] = True
    res = stats.paired_bootstrap(a, np.zeros((1, 1000), bool), reps=10000, seed=5)
    lo, hi = binom.ppf([0.025, 0.975], 1000, 0.1) / 1000
    # Monte Carlo sd of a 2.5% quantile of 10^4 draws: sqrt(0.025 x 0.975 / 10^4) / density (0.006 per
    # count) ~ 0.25 counts; one count (0.001) of slack is 4 of those
    assert abs(res["ci95"][0] - lo) <= 0.001 + 1e-12 and abs(res["ci95"][1] - hi) <= 0.001 + 1e-12


def test_bootstrap_gives_reps_replicates_whatever_the_chunk():
    a = np.zeros((2, 50), bool)
    a[0, :5] = True
    for reps, chunk in ((250, 200), (250, 100), (7, 3)):  # a last chunk shorter than the others
        d = stats.paired_bootstrap(a, a[::-1].copy(), reps=reps, chunk=chunk)["replicates"]
        assert d.shape == (reps,) and np.all(np.abs(d) <= 1)  # a difference of two error rates


@pytest.mark.parametrize(
    "shapes", [((50,), (1, 50)), ((1, 50), (50,)), ((1, 50), (1, 40)), ((0, 50), (1, 50)), ((1, 50), (0, 50))]
)
def test_bootstrap_rejects_inputs_that_are_not_seeds_by_the_same_images(shapes):
    with pytest.raises(ValueError, match="same N"):
        stats.paired_bootstrap(np.zeros(shapes[0], bool), np.zeros(shapes[1], bool), reps=10)
