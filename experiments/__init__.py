"""The study: this repository's own runs of the library (configs/ under experiments/configs for the
study's own choices), its RESULTS.md and plots. Run its parts as modules from the repository root:

    python -m experiments.reproduce headline
    python -m experiments.report results/runs --out results

The library (paper_lenet/) never imports this package.
"""
