"""Figs. 11-12 for the fitted methods: multiply-accumulates per recognition and memory in variables,
from each method's definition, d = input pixels (model.input_size^2: 784, or 400 deslanted),
n = data.train_size:

    linear         memory 10 (d+1), MACs 10 d
    pairwise       memory 45 (d+1), MACs 45 d
    knn            memory = MACs = n d (every template, one MAC per pixel)
    pca_quadratic  memory = MACs = m d + 10 (1 + m + m(m+1)/2) (the projection and the quadratic
                   weights; the m(m+1)/2 pair products are not counted as MACs)
    rbf_linear     memory c d + 10 (c+1), MACs c d + 10 c (the c widths are not counted)

k-NN on a network's features (knn.features) takes d = the width of the net's last hidden layer and
adds the network's own MACs and parameters. svm.py and local.py count their own (from_fit: the run's
summary carries them). Against the paper (Fig. 11 / Fig. 12, thousands):
linear [deslant] 4 / 4 (ours 4.0 / 4.01; 28x28: 7.84 / 7.85); pairwise 36 / 35 (ours 35.28 /
35.33); K-NN [deslant] 24,000 / 24,000 (ours the same); 40 PCA + quadratic 39 / 40 (ours 39.97 /
39.97); 1000 RBF 794 / 794 (ours 794.0 / 794.01). The paper does not give its counting rules.
"""
from __future__ import annotations

from pathlib import Path

from ..accounting import count
from ..registry import build_model
from ..rundir import load_run_config
from .least_squares import CLASSES, quadratic_features


def _pixels(cfg) -> int:
    return cfg.model.input_size ** 2


def linear(cfg) -> dict:
    d = _pixels(cfg)
    return {"macs": CLASSES * d, "memory": CLASSES * (d + 1)}


def pairwise(cfg) -> dict:
    d = _pixels(cfg)
    return {"macs": 45 * d, "memory": 45 * (d + 1)}


def pca_quadratic(cfg) -> dict:
    m = cfg.pca_quadratic.components
    n = m * _pixels(cfg) + CLASSES * quadratic_features(m)
    return {"macs": n, "memory": n}


def rbf_linear(cfg) -> dict:
    c, d = cfg.rbf_linear.centers, _pixels(cfg)
    return {"macs": c * d + CLASSES * c, "memory": c * d + CLASSES * (c + 1)}


def knn(cfg) -> dict:
    n = cfg.data.train_size
    if not cfg.knn.features:
        return {"macs": n * _pixels(cfg), "memory": n * _pixels(cfg)}
    net = feature_net(cfg, cfg.knn.features)
    d = net["width"]
    return {"macs": n * d + net["macs"], "memory": n * d + net["params"]}


def feature_net(cfg, features: str) -> dict:
    """{"macs", "params", "width"} of the network of a features run ({seed} filled in): its own
    MACs and parameters, and the width of the layer before its output (the features)."""
    net = count(build_model(load_run_config(Path(features.format(seed=cfg.seed))).model))
    return {"macs": net["total"]["macs"], "params": net["total"]["params"],
            "width": net["layers"][-2]["output_shape"][0]}


def from_fit(cfg) -> dict:
    """svm, local: the cost depends on what the fit found (support vectors; the chosen k), so the run's
    summary carries macs and memory; the config alone gives none."""
    return {}
