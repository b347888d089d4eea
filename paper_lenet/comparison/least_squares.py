"""The least-squares classifiers of the paper's comparison (Sec. III-C, Fig. 9), fitted in closed form.

    linear         Fig. 9 "Linear": 10 units, each a weighted sum of the pixels plus a bias; class =
                   the largest sum. The paper does not say how it trained it: we solve the
                   regularised least squares (pseudo-inverse) of [x, 1] onto +1 for the class, -1
                   elsewhere.
    pairwise       "Pairwise linear classifier": 45 units, unit (i, j) "trained to separate class i
                   from class j" by the same least squares on the samples of classes i and j only
                   (+1 for i, -1 for j). The paper gives no combination rule; ours (pairwise_scores):
                   each unit votes for the class its output's sign points to, class = most votes,
                   ties to the larger sum of the units' outputs clipped to [-1, 1] (pairwise.rule: votes);
                   or the plain sum of signed outputs s_i = sum_j o_ij (pairwise.rule: sum). Chosen
                   on the validation split (experiments/configs/validation/fig9/val-pairwise-*).
    pca_quadratic  "40 PCA + quadratic": centred PCA (eigenvectors of the training covariance) to
                   pca_quadratic.components, features [1, z_i, z_i z_j (i <= j)] (861 for 40), the same
                   least squares onto +-1.
    rbf_linear     "1000 RBF + linear": rbf_linear.centers / 10 Gaussian units per class, centres by
                   k-means on that class's training images (Lloyd's algorithm from a seeded k-means++
                   start, rbf.KMEANS_ITERS iterations; the paper's "adaptive K-means" is not specified),
                   width sigma_j = the RMS distance of centre j's members to it, output
                   exp(-d^2 / (2 sigma_j^2)); then the least squares (+ bias) onto +-1.

The least squares ("regularised pseudo-inverse"): W = argmin (1/n) ||[phi, 1] W - T||^2 + ridge ||W'||^2,
W' every weight but the biases, ridge = the method section's ridge (each configs/fig9 file's value chosen on
the validation split); the normal equations are accumulated over chunks in float64. fit.py makes the
run; the four `@fitted` functions at the end declare the methods (their config sections, costs and
Fig. 9 rows) in the registry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import torch

from ..core.model import in_batches
from ..core.registry import bounded, fig9_row, fitted, preprocess_tag
from ..errors import UserError
from ..paper import CLASSES
from .base import FittedModel
from .cost import pixels
from .rbf import rbf_units

CHUNK = 5000  # rows per feature / score chunk (5,000 x 1,000 RBF distances: 20 MB)


class Machine(FittedModel):
    """A fitted least-squares classifier: scores = [phi(x), 1] W (then `combine`: pairwise_scores)."""

    def __init__(self, phi, w: torch.Tensor, combine=None):
        self.phi, self.w, self.combine = phi, w.to(torch.float32), combine

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return in_batches(self._scores, x, CHUNK)

    def _scores(self, x):
        o = self.phi(x) @ self.w[:-1] + self.w[-1]
        return self.combine(o) if self.combine is not None else o


def identity(x):
    return x


def class_moments(phi, x, y, classes: int = CLASSES):
    """Per class c: G_c = sum a a^T and s_c = sum a over its samples, a = [phi(x), 1]; float64."""
    grams, sums, counts = [], [], []
    for c in range(classes):
        xc = x[y == c]
        g, s = 0.0, 0.0
        for i in range(0, len(xc), CHUNK):
            f = phi(xc[i : i + CHUNK]).to(torch.float64)
            a = torch.cat([f, torch.ones(len(f), 1, dtype=torch.float64)], 1)
            g, s = g + a.T @ a, s + a.sum(0)
        grams.append(g), sums.append(s), counts.append(len(xc))
    if any(n == 0 for n in counts):
        raise UserError(f"every class needs a training sample (counts {counts})")
    return torch.stack(grams), torch.stack(sums), torch.tensor(counts, dtype=torch.float64)


def ridge_solve(gram: torch.Tensor, rhs: torch.Tensor, n: float, ridge: float) -> torch.Tensor:
    """W = (G/n + ridge I')^-1 rhs/n, I' the identity with a 0 for the bias (the last row)."""
    a = gram / n
    idx = torch.arange(len(a) - 1)
    a[idx, idx] += ridge
    return torch.linalg.solve(a, rhs / n)


def fit_ridge(phi, x, y, ridge: float) -> Machine:
    """One unit per class, +1 for the class and -1 elsewhere: A^T T's column c is 2 s_c - sum s."""
    g, s, n = class_moments(phi, x, y)
    rhs = (2 * s - s.sum(0)).T  # (D+1, 10)
    return Machine(phi, ridge_solve(g.sum(0), rhs, float(n.sum()), ridge))


def fit_pairwise(x, y, ridge: float, rule: str = "votes") -> Machine:
    """45 units on the pixels; unit (i, j) sees classes i (+1) and j (-1) only: (G_i + G_j, s_i - s_j)."""
    g, s, n = class_moments(identity, x, y)
    w = torch.stack(
        [ridge_solve(g[i] + g[j], s[i] - s[j], float(n[i] + n[j]), ridge) for i, j in PAIRS.tolist()], 1
    )
    return Machine(identity, w, functools.partial(pairwise_scores, rule=rule))


PAIRS = torch.tensor([(i, j) for i in range(CLASSES) for j in range(i + 1, CLASSES)])  # unit u: (i, j)


def pairwise_scores(o: torch.Tensor, rule: str = "votes") -> torch.Tensor:
    """(N, 10) class scores from the 45 unit outputs o (N, 45), unit (i, j) positive for i.
    votes: s_i = wins_i + (sum_j clip(o_ij, -1, 1)) / 20; the second term is within +-0.45, so argmax
    is the most-voted class (ties to the larger clipped sum) and the top-two difference ranks by the
    vote difference first. sum: s_i = sum_j o_ij (o_ji = -o_ij)."""
    signed = torch.cat([o, -o], 1)  # toward i, then toward j
    owner = torch.cat([PAIRS[:, 0], PAIRS[:, 1]])
    zeros = torch.zeros(len(o), CLASSES, dtype=o.dtype)
    if rule == "sum":
        return zeros.index_add_(1, owner, signed)
    wins = zeros.index_add(1, owner, (signed > 0).to(o.dtype))
    return wins + zeros.index_add_(1, owner, signed.clamp(-1, 1)) / (2 * (CLASSES - 1) + 2)


class QuadraticPCA:
    """x -> [z_i, z_i z_j (i <= j)], z = (x - mean) V, V the top eigenvectors of the covariance."""

    def __init__(self, x: torch.Tensor, components: int):
        self.mean = x.sum(0, dtype=torch.float64) / len(x)
        cov = 0.0
        for i in range(0, len(x), CHUNK):  # float64 chunk by chunk: no float64 copy of x
            c = x[i : i + CHUNK].to(torch.float64) - self.mean
            cov = cov + c.T @ c
        vals, vecs = torch.linalg.eigh(cov / len(x))  # ascending
        self.v = vecs[:, -components:].flip(1).to(torch.float32)
        self.mean = self.mean.to(torch.float32)
        self.iu = torch.triu_indices(components, components)

    def __call__(self, x):
        z = (x - self.mean) @ self.v
        return torch.cat([z, z[:, self.iu[0]] * z[:, self.iu[1]]], 1)


def quadratic_features(components: int) -> int:
    """Features of the quadratic classifier with the bias: 1 + m + m(m+1)/2 (861 for 40)."""
    return 1 + components + components * (components + 1) // 2


# ---- the four methods: config sections, costs (Figs. 11-12), Fig. 9 rows, fits ------------------


@dataclass
class LinearConfig:
    """linear: least squares onto +-1."""

    ridge: float = bounded(1e-3, low=0)  # pseudo-inverse regulariser


@dataclass
class PairwiseConfig:
    """pairwise: 45 least-squares units, one per pair of classes."""

    ridge: float = bounded(1e-3, low=0)
    rule: Literal["votes", "sum"] = "votes"  # how the 45 outputs make class scores (pairwise_scores)


@dataclass
class PCAQuadraticConfig:
    components: int = bounded(40, low=1)  # principal components
    ridge: float = bounded(1e-3, low=0)


@dataclass
class RBFLinearConfig:
    centers: int = bounded(1000, low=10)  # Gaussian units (centers/10 per class, k-means)
    ridge: float = bounded(1e-3, low=0)
    width_scale: float = 1.0  # sigma_j = width_scale x the RMS distance of centre j's members to it


def linear_cost(cfg) -> dict:
    """memory 10 (d+1), MACs 10 d (d = model.input_size^2)."""
    d = pixels(cfg)
    return {"macs": CLASSES * d, "memory": CLASSES * (d + 1)}


def pairwise_cost(cfg) -> dict:
    """memory 45 (d+1), MACs 45 d."""
    d = pixels(cfg)
    return {"macs": 45 * d, "memory": 45 * (d + 1)}


def pca_quadratic_cost(cfg) -> dict:
    """memory = MACs = m d + 10 (1 + m + m(m+1)/2): the projection and the quadratic weights (the
    m(m+1)/2 pair products are not counted as MACs)."""
    m = cfg.pca_quadratic.components
    n = m * pixels(cfg) + CLASSES * quadratic_features(m)
    return {"macs": n, "memory": n}


def rbf_linear_cost(cfg) -> dict:
    """memory c d + 10 (c+1), MACs c d + 10 c (the c widths are not counted)."""
    c, d = cfg.rbf_linear.centers, pixels(cfg)
    return {"macs": c * d + CLASSES * c, "memory": c * d + CLASSES * (c + 1)}


def linear_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Linear")


def pairwise_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Pairwise")


def pca_row(cfg):
    return fig9_row(f"{preprocess_tag(cfg)}{cfg.pca_quadratic.components} PCA + quadratic")


def rbf_row(cfg):
    return fig9_row(f"{preprocess_tag(cfg)}{cfg.rbf_linear.centers} RBF + linear")


@fitted("linear", section=LinearConfig, cost=linear_cost, row=linear_row, paper_section="III-C-1")
def fit_linear(cfg, x, y, log=print) -> Machine:
    return fit_ridge(identity, x, y, cfg.linear.ridge)


@fitted("pairwise", section=PairwiseConfig, cost=pairwise_cost, row=pairwise_row, paper_section="III-C-2")
def fit_pairwise_units(cfg, x, y, log=print) -> Machine:
    return fit_pairwise(x, y, cfg.pairwise.ridge, cfg.pairwise.rule)


@fitted(
    "pca_quadratic", section=PCAQuadraticConfig, cost=pca_quadratic_cost, row=pca_row, paper_section="III-C-4"
)
def fit_pca_quadratic(cfg, x, y, log=print) -> Machine:
    sec = cfg.pca_quadratic
    return fit_ridge(QuadraticPCA(x, sec.components), x, y, sec.ridge)


@fitted("rbf_linear", section=RBFLinearConfig, cost=rbf_linear_cost, row=rbf_row, paper_section="III-C-5")
def fit_rbf_linear(cfg, x, y, log=print) -> Machine:
    sec = cfg.rbf_linear
    return fit_ridge(rbf_units(x, y, sec.centers, cfg.seed, log, sec.width_scale), x, y, sec.ridge)
