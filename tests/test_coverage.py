"""compare's 95% difference interval holds its level at the seed counts people run (issue 30), by
simulation on synthetic runs shaped like the committed ones (tests/coverage_sim.py): with no true
difference it excludes 0 in at most 8% of comparisons, at 2, 3, 5 and 10 seeds per arm, with no seed
effect (per-image flips only) and with seed effects of tau 0.2 and 0.4; a true difference of 0.6
points at 5 seeds is found in most comparisons. The same harness flags the paired bootstrap that the
interval replaced. The simulations are seeded, so each rate is a fixed number on every machine."""

from __future__ import annotations

import math

import pytest
from coverage_sim import exclusion_rate

from paper_lenet.tools import stats

NS, TAUS = (2, 3, 5, 10), (0.0, 0.2, 0.4)
LIMIT = 0.08  # the bound on the null exclusion rate of a nominal 95% interval


def welch_t(a, b):
    return stats.difference(a, b)["ci95"]


def allowed(sims: int) -> float:
    """LIMIT plus two Monte Carlo standard errors of a rate of LIMIT over `sims` simulations: an
    interval whose true rate is 8% passes about 98% of seeds, one at the 5-6.5% that compare's
    measures (docs/own-ablation.md, 2,000 simulations a cell) nearly always; the bootstrap's 12-20%
    never. At 2,000 simulations (slow suite) the slack is 1.2 points, at 300 (default) 3.1."""
    return LIMIT + 2 * math.sqrt(LIMIT * (1 - LIMIT) / sims)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("tau", TAUS)
def test_null_exclusion_rate_within_limit(n, tau):
    sims = 300
    rate = exclusion_rate(welch_t, n, tau, sims, seed=1000 + 10 * n + int(10 * tau))
    assert rate <= allowed(sims), f"n={n} tau={tau}: excluded 0 in {rate:.1%} of {sims} null comparisons"


@pytest.mark.slow
@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("tau", TAUS)
def test_null_exclusion_rate_within_limit_2000_simulations(n, tau):
    sims = 2000
    rate = exclusion_rate(welch_t, n, tau, sims, seed=2000 + 10 * n + int(10 * tau))
    assert rate <= LIMIT, f"n={n} tau={tau}: excluded 0 in {rate:.1%} of {sims} null comparisons"


def test_a_true_difference_of_0_6_points_at_5_seeds_is_found_in_most_comparisons():
    rate = exclusion_rate(welch_t, 5, 0.2, 200, seed=77, points=0.6)
    assert rate > 0.5, f"found a +0.6-point difference in only {rate:.0%} of 200 comparisons"  # measured ~85%


def test_the_harness_flags_the_bootstrap_it_replaced():
    """The paired two-level bootstrap excluded 0 in 12-20% of null comparisons at 3 seeds with a seed
    effect (issue 30): the same simulation must see it, or it could not see a liberal interval at all."""
    sims = 200
    rate = exclusion_rate(lambda a, b: stats.paired_bootstrap(a, b, reps=1000)["ci95"], 3, 0.4, sims, seed=5)
    assert rate > allowed(sims), f"the bootstrap excluded 0 in only {rate:.1%}"
