"""K-nearest neighbours, Euclidean (Fig. 9's "K-NN Euclidean" rows), chunked so that memory stays bounded.

Distances come from ||a||^2 - 2 a.b + ||b||^2 with one matrix product per chunk of queries (a chunk
of ~560 test images against 60,000 templates is a 128 MB float32 block); both sides are first
centred on the templates' mean, which leaves every distance unchanged and shrinks the norms whose
difference float32 has to resolve.

The vote: each of the k nearest templates gives one vote to its class; a tie in votes goes to the
class with the nearest template. As per-class scores (for the rejection margin of Fig. 10) we return

    s_c = votes_c + 1/2 D_1 / D_c     (D_c: distance to class c's nearest template among the CONFIDENCE
                                       nearest; a class not among them gets the farthest of those;
                                       D_1 = min_c D_c)

The added term lies in (0, 1/2], so a class with more votes always scores higher, among classes with
equal votes the nearer one does, argmax is the prediction, and the top-two difference ranks
confidence by the vote difference first, then by how much farther the runner-up's nearest template
is. A unanimous vote thus still has a graded margin, k + 1/2 - 1/2 D_1 / D_runner-up (a score from
the k voters alone would give every unanimous vote the same margin, and Fig. 10's rejection could
not rank them). This score is our choice: the paper gives none for its k-NN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.registry import bounded, fig9_row, fitted, preprocess_tag
from ..paper import CLASSES
from .base import FittedModel, train_subset
from .cost import feature_net, pixels

CHOICES = (1, 3, 5, 7, 9)  # knn.k: 0 picks one of these on the validation split
CONFIDENCE = 50  # neighbours searched for the classes' nearest templates (the score's second term)
BLOCK_BYTES = 128 * 2**20  # one chunk's float32 distance block


def _chunk(n_templates: int) -> int:
    return max(1, min(1000, BLOCK_BYTES // (4 * max(1, n_templates))))  # 559 queries against 60,000


def sq_distances(a: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor | None = None) -> torch.Tensor:
    """(len(a), len(b)) squared Euclidean distances ||a||^2 - 2 a.b + ||b||^2 (clamped at 0: rounding
    can make a tiny distance negative). One matrix product; the caller chunks a."""
    if b_sq is None:
        b_sq = (b * b).sum(1)
    d = (a @ b.T).mul_(-2.0).add_((a * a).sum(1, keepdim=True)).add_(b_sq.unsqueeze(0))  # in place: one block
    return d.clamp_min_(0.0)


def neighbours(queries: torch.Tensor, templates: torch.Tensor, k: int, chunk: int | None = None):
    """(distances (Q, k), indices (Q, k)) of each query's k nearest templates, nearest first.
    Distances are Euclidean (the square root of sq_distances)."""
    t = templates.reshape(len(templates), -1).to(torch.float32)
    q = queries.reshape(len(queries), -1).to(torch.float32)
    if not 1 <= k <= len(t):
        raise ValueError(f"k={k} needs 1..{len(t)} templates")
    mean = t.mean(0, keepdim=True)
    t = t - mean
    t_sq = (t * t).sum(1)
    chunk = chunk or _chunk(len(t))
    dists, idx = [], []
    for i in range(0, len(q), chunk):
        d = sq_distances(q[i : i + chunk] - mean, t, t_sq)
        v, j = d.topk(k, dim=1, largest=False, sorted=True)
        dists.append(v.sqrt_())
        idx.append(j)
    return torch.cat(dists), torch.cat(idx)


def vote_scores(
    labels: torch.Tensor, dists: torch.Tensor, k: int | None = None, classes: int = CLASSES
) -> torch.Tensor:
    """(Q, classes) scores votes_c + 1/2 D_1 / D_c (module docstring) from the labels and distances
    (Q, K) of each query's K nearest templates (nearest first): votes from the first k (default K),
    D_c from all K. argmax = majority vote, ties to the class with the nearest template."""
    labels, dists = labels.long(), dists.to(torch.float64)
    k = labels.shape[1] if k is None else k
    votes = torch.zeros(len(labels), classes, dtype=torch.float64).scatter_add_(
        1, labels[:, :k], torch.ones_like(dists[:, :k])
    )
    far = (
        dists.amax(1, keepdim=True).expand(-1, classes).clone()
    )  # classes not among the K: the farthest listed
    nearest = far.scatter_reduce(1, labels, dists, reduce="amin", include_self=True)
    d1 = dists.amin(1, keepdim=True)
    term = torch.where(nearest > 0, 0.5 * d1 / nearest.clamp_min(1e-300), torch.full_like(nearest, 0.5))
    return votes + term


def knn_scores(train_x, train_y, x, k: int, chunk: int | None = None) -> torch.Tensor:
    """(N, 10) vote scores of x against the templates (train_x, train_y)."""
    d, j = neighbours(x, train_x, min(len(train_x), max(k, CONFIDENCE)), chunk)
    return vote_scores(train_y[j], d, k)


def choose_k(fit_x, fit_y, val_x, val_y, choices=CHOICES, log=print) -> tuple[int, dict]:
    """The k of `choices` with the lowest error on (val_x, val_y) using (fit_x, fit_y) as templates
    (a tie goes to the smaller k); also {k: validation error}. One neighbour search for all k."""
    d, j = neighbours(val_x, fit_x, max(choices))
    lab = fit_y[j]
    errors = {}
    for k in choices:
        pred = vote_scores(lab, d, k).argmax(1)
        errors[k] = float((pred != val_y).double().mean())
        log(f"  k={k}: validation error {100 * errors[k]:.2f}% ({len(val_y)} images)")
    best = min(choices, key=lambda k: (errors[k], k))
    return best, errors


@dataclass
class KNNConfig:
    """knn: (Sec. III-C-3) the k nearest training images vote."""

    k: int = bounded(3, low=0)  # neighbours; 0: chosen on a validation split (CHOICES)
    features: str | None = (
        None  # a run directory ({seed} filled in) whose net's last hidden layer is the input
    )


def knn_cost(cfg) -> dict:
    """memory = MACs = n d: every template, one MAC per pixel (d = model.input_size^2, n = data.train_size).
    On a network's features (knn.features) d is the width of the net's last hidden layer, and the
    network's own MACs and parameters are added."""
    n = cfg.data.train_size
    if not cfg.knn.features:
        return {"macs": n * pixels(cfg), "memory": n * pixels(cfg)}
    net = feature_net(cfg, cfg.knn.features)
    d = net["width"]
    return {"macs": n * d + net["macs"], "memory": n * d + net["params"]}


def knn_row(cfg):
    return "LeNet-4 / K-NN" if cfg.knn.features else fig9_row(preprocess_tag(cfg) + "K-NN Euclidean")


class KNN(FittedModel):
    """A fitted k-NN (what fit.py scores): every training image a template, k fixed or chosen."""

    def __init__(self, x, y, k: int, seed: int, metrics: dict):
        self.x, self.y, self.k, self.seed = x, y, k, seed
        self.metrics, self.summary = metrics, {"k": k}

    def scores(self, q):
        return knn_scores(self.x, self.y, q, self.k)

    def train_index(self, n: int) -> torch.Tensor:
        return train_subset(n, self.seed)


@fitted("knn", section=KNNConfig, cost=knn_cost, row=knn_row, paper_section="III-C-3")
def fit_knn(cfg, x, y, log=print) -> KNN:
    """knn.k, or with k = 0 the k of CHOICES best on a validation split: the last sixth of the training
    set in file order as queries, the rest as templates (all 60,000: the last 10,000 against the first
    50,000); the metrics row records that choice."""
    k = cfg.knn.k
    if k > 0:
        return KNN(x, y, k, cfg.seed, {})
    cut = len(x) - len(x) // 6
    k, errors = choose_k(x[:cut], y[:cut], x[cut:], y[cut:], log=log)
    log(f"  chose k={k} on {len(x) - cut} validation images ({cut} templates)")
    return KNN(
        x,
        y,
        k,
        cfg.seed,
        {"val_errors": {str(c): e for c, e in errors.items()}, "k_val_n": len(x) - cut, "k_fit_n": cut},
    )
