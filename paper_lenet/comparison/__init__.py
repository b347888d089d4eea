"""Sec. III-C's comparison beyond the networks (Figs. 9-12): the methods fitted in closed form
(least squares, k-NN, RBF), boosting, and their Figs. 11-12 costs. Above LeNet-5's core, which never
imports it: importing this package registers its methods in paper_lenet.registry.

    least_squares.py  linear, pairwise, 40 PCA + quadratic, 1000 RBF + linear (with rbf.py's units)
    knn.py            K-NN Euclidean (pixels or a trained network's features)
    local.py          LeNet-4 / Local (a ridge classifier per test pattern on its nearest features)
    tangent.py        [16x16] Tangent Distance (k-NN after a Euclidean prefilter)
    svm.py            SVM poly 4 (scikit-learn's SVC, an optional extra); virtual.py: [dist] V-SVM poly 9
    ovr.py            svm.machines ovr: CV95's ten one-vs-rest machines (each with its own virtual refit)
    reduced.py        RS-SVM poly 5 (Burges' reduced set of a V-SVM, torch L-BFGS)
    cost.py           Figs. 11-12 for these methods
    fit.py            a fitted method's run
    boost.py          [dist] Boosted LeNet-4 (three trained LeNet-4s)
"""
from __future__ import annotations

from ..registry import Method, fig9_row, preprocess_tag, register
from . import cost
from .knn import fit_knn
from .least_squares import fit_linear, fit_pairwise_units, fit_pca_quadratic, fit_rbf_linear
from .local import fit_local
from .reduced import fit_reduced
from .svm import fit_svm
from .tangent import fit_tangent


def _linear_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Linear")


def _pairwise_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Pairwise")


def _knn_row(cfg):
    return "LeNet-4 / K-NN" if cfg.knn.features else fig9_row(preprocess_tag(cfg) + "K-NN Euclidean")


def _pca_row(cfg):
    return fig9_row(f"{preprocess_tag(cfg)}{cfg.pca_quadratic.components} PCA + quadratic")


def _rbf_row(cfg):
    return fig9_row(f"{preprocess_tag(cfg)}{cfg.rbf_linear.centers} RBF + linear")


register(Method("linear", "fitted", cost.linear, _linear_row, fit=fit_linear))
register(Method("pairwise", "fitted", cost.pairwise, _pairwise_row, fit=fit_pairwise_units))
register(Method("knn", "fitted", cost.knn, _knn_row, fit=fit_knn))
register(Method("pca_quadratic", "fitted", cost.pca_quadratic, _pca_row, fit=fit_pca_quadratic))
register(Method("rbf_linear", "fitted", cost.rbf_linear, _rbf_row, fit=fit_rbf_linear))


def _svm_row(cfg):
    s = cfg.svm
    if s.reduced:  # the reduced set of a (virtual-SV) machine
        return fig9_row(f"RS-SVM poly {s.degree}")
    if s.virtual != "none":
        return fig9_row(f"[dist] V-SVM poly {s.degree}")
    return fig9_row(f"{preprocess_tag(cfg)}SVM poly {s.degree}")


def _fit_svm(cfg, x, y, log=print):
    return (fit_reduced if cfg.svm.reduced else fit_svm)(cfg, x, y, log)


register(Method("svm", "fitted", cost.from_fit, _svm_row, fit=_fit_svm))


def _local_row(cfg):
    return "LeNet-4 / Local" if cfg.local.features else None


register(Method("local", "fitted", cost.from_fit, _local_row, fit=fit_local))


def _tangent_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Tangent Distance")


register(Method("tangent", "fitted", cost.from_fit, _tangent_row, fit=fit_tangent))
