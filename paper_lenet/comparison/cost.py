"""Figs. 11-12 for the fitted methods: multiply-accumulates per recognition and memory in variables,
from each method's definition. Each method's own cost function sits next to its fit and is carried by
its registration (`@fitted(..., cost=...)`); this module holds what they share: d = input pixels
(model.input_size^2: 784, or 400 deslanted), a features run's network, and `from_fit` for the methods
whose cost the fit decides (svm, local, tangent: the run's summary carries it).

Against the paper (Fig. 11 / Fig. 12, thousands): linear [deslant] 4 / 4 (ours 4.0 / 4.01; 28x28:
7.84 / 7.85); pairwise 36 / 35 (ours 35.28 / 35.33); K-NN [deslant] 24,000 / 24,000 (ours the same);
40 PCA + quadratic 39 / 40 (ours 39.97 / 39.97); 1000 RBF 794 / 794 (ours 794.0 / 794.01). The paper
does not give its counting rules.
"""

from __future__ import annotations

from ..core.accounting import count
from ..core.model import build_model
from ..runs.rundir import load_run_config
from ..runs.runpaths import seed_path


def pixels(cfg) -> int:
    return cfg.model.input_size**2


def feature_net(cfg, features: str) -> dict:
    """{"macs", "params", "width"} of the network of a features run ({seed} filled in): its own
    MACs and parameters, and the width of the layer before its output (the features)."""
    net = count(
        build_model(load_run_config(seed_path(features, cfg.seed, f"{cfg.model.arch}.features")).model)
    )
    return {
        "macs": net["total"]["macs"],
        "params": net["total"]["params"],
        "width": net["layers"][-2]["output_shape"][0],
    }


def from_fit(cfg) -> dict:
    """svm, local, tangent: the cost depends on what the fit found (support vectors; the chosen k), so
    the run's summary carries macs and memory (Fitted.cost); the config alone gives none."""
    return {}
