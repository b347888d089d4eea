"""The config sections of the comparison's methods (Sec. III-C): each fitted method's own keys, in the
section named by its model.arch (`knn: {k: 3}`), and boosting's `boost:`. Schema only: config.py
loads them; a run of another method carries none of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional


@dataclass
class LinearConfig:
    """linear: least squares onto +-1 (comparison/least_squares.py)."""
    ridge: float = 1e-3  # pseudo-inverse regulariser


@dataclass
class PairwiseConfig:
    """pairwise: 45 least-squares units, one per pair of classes (comparison/least_squares.py)."""
    ridge: float = 1e-3
    rule: Literal["votes", "sum"] = "votes"  # how the 45 outputs make class scores (pairwise_scores)


@dataclass
class KNNConfig:
    k: int = 3  # neighbours; 0: chosen on a validation split (comparison/knn.py)
    features: Optional[str] = None  # a run directory ({seed} filled in) whose net's last hidden layer is the input


@dataclass
class PCAQuadraticConfig:
    components: int = 40  # principal components
    ridge: float = 1e-3


@dataclass
class RBFLinearConfig:
    centers: int = 1000  # Gaussian units (centers/10 per class, k-means)
    ridge: float = 1e-3
    width_scale: float = 1.0  # sigma_j = width_scale x the RMS distance of centre j's members to it


@dataclass
class BoostConfig:
    """[dist] Boosted LeNet-4 (Sec. III-C): nets 2 and 3 trained on patterns that net 1 (and 2) select."""
    net1: str = ""  # net 1's run directory ({seed} filled in)
    size: int = 60000  # patterns in net 2's and net 3's training sets
    max_draws: int = 3000000  # distorted training patterns examined at most to find them
    exit_agree: float = 0.999  # net 1 alone when its top-two margin >= the smallest threshold that keeps
    exit_sample: int = 20000  # this share of decisions equal to all three nets', on these distorted training patterns


@dataclass
class SVMConfig:
    """svm: libsvm's SVC with the kernel (gamma u.v + coef0)^degree, one-vs-one or one-vs-rest (comparison/svm.py)."""
    degree: int = 4  # CV95's (u.v + 1)^4
    coef0: float = 1.0
    gamma: float = 0.0  # 0: 1 / (d var(x)) of the training pixels (scikit-learn's "scale")
    C: float = 10.0  # chosen on the validation split
    tol: float = 1e-3  # libsvm's stopping tolerance (its default)
    cache_mb: int = 1000  # libsvm's kernel cache
    virtual: Literal["none", "shift1"] = "none"  # shift1: refit on the support vectors + their 4 one-pixel shifts (virtual.py)
    machines: Literal["ovo", "ovr"] = "ovo"  # libsvm's 45 one-vs-one, or CV95's 10 one-vs-rest (ovr.py)
    jobs: int = 1  # machines: ovr: machines fitted side by side (processes)
    readout: Literal["min", "sum"] = "min"  # one-vs-one's class score from the 45 machines: min_j o_ij or sum_j o_ij (svm.py)
    reduced: int = 0  # > 0: Burges' reduced set, this many vectors per expansion (10 class sums or 45 machines: reduced.py)
    rs_iters: int = 100  # L-BFGS iterations of the reduced-set optimisation, per expansion (fig9-rsvm-poly5: 200)


@dataclass
class LocalConfig:
    """local: LeNet-4 / Local, a ridge classifier per test pattern on its k nearest (comparison/local.py)."""
    k: int = 200  # neighbours the local classifier is fitted on
    decay: float = 1.0  # weight decay (ridge) of the local linear classifier
    features: Optional[str] = None  # a run directory ({seed} filled in) whose net's last hidden layer is the input


@dataclass
class TangentConfig:
    """tangent: [16x16] tangent distance, k-NN on a Euclidean prefilter (comparison/tangent.py)."""
    k: int = 0  # neighbours voting; 0: k in (1, 3, 5) and `sided` chosen on a validation split
    sided: Literal["one", "two"] = "two"  # the query's tangents only, or both images'
    prefilter: int = 100  # Euclidean-nearest templates the tangent distance is computed on
    sigma: float = 1.0  # Gaussian smoothing (pixels) before the derivatives


METHOD_SECTIONS = {"linear": LinearConfig, "pairwise": PairwiseConfig, "knn": KNNConfig,
                   "pca_quadratic": PCAQuadraticConfig, "rbf_linear": RBFLinearConfig, "svm": SVMConfig,
                   "local": LocalConfig, "tangent": TangentConfig}
OPTIONAL_SECTIONS = (*METHOD_SECTIONS, "boost")
