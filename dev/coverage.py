"""The coverage table of docs/own-ablation.md: how often compare's 95% difference interval excludes 0
when there is no true difference (false positives, nominal 5%), and how often it finds a true
difference of 0.6 points (power), on the synthetic runs of tests/coverage_sim.py.

    python dev/coverage.py [--sims 1000] [--bootstrap]

--bootstrap adds the earlier paired two-level bootstrap (stats.paired_bootstrap, 2,000 replicates)
beside it, for the record of why it was replaced (slow: about 20 minutes at 1,000 simulations).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from coverage_sim import exclusion_rate  # noqa: E402

from paper_lenet.tools import stats  # noqa: E402

NS, TAUS = (2, 3, 5, 10), (0.0, 0.2, 0.4)


def welch_t(a, b):
    return stats.difference(a, b)["ci95"]


def bootstrap(a, b):
    return stats.paired_bootstrap(a, b, reps=2000)["ci95"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--bootstrap", action="store_true")
    a = p.parse_args()
    methods = {"Welch-t + test part (compare)": welch_t}
    if a.bootstrap:
        methods["paired bootstrap (before)"] = bootstrap
    print(
        "| interval | seeds per arm | tau 0 (flips only) | tau 0.2 | tau 0.4 | power, +0.6 points, tau 0.2 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in methods.items():
        for n in NS:
            null = [exclusion_rate(f, n, tau, a.sims, seed=100 * n + int(10 * tau)) for tau in TAUS]
            power = exclusion_rate(f, n, 0.2, a.sims, seed=7 + n, points=0.6)
            print(
                f"| {name} | {n} | "
                + " | ".join(f"{100 * r:.1f}%" for r in null)
                + f" | {100 * power:.0f}% |"
            )
    print(
        f"\n{a.sims} simulations per cell (python dev/coverage.py --sims {a.sims}"
        f"{' --bootstrap' if a.bootstrap else ''})."
    )


if __name__ == "__main__":
    main()
