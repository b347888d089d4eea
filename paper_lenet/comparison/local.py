"""Fig. 9's "LeNet-4 / Local" (P98 Sec. III-C-8; Bottou & Vapnik, "Local learning algorithms", Neural
Computation 4(6), 1992): LeNet-4's last layer replaced by a linear classifier retrained for each test
pattern on the training patterns nearest to it, in LeNet-4's 120-unit C5 features (local.features:
the committed fig9-lenet4 run of the same seed).

For a query q with k nearest training features f_1..f_k (Euclidean, knn.neighbours) and targets
t_i = +1 for f_i's class, -1 elsewhere, the local classifier is the weight-decayed least squares

    W, b = argmin (1/k) sum_i ||W'(f_i - q) + b - t_i||^2 + decay ||W'||^2     (the bias b not decayed)

and q's class scores are its outputs there, W'(q - q) + b = b. Centring on q changes nothing but the
conditioning (the bias is free). A large decay leaves b = the mean target of the k neighbours (a
k-NN vote); decay -> 0 a local linear fit. All queries of a chunk are solved at once as a batch of
(d+1) x (d+1) systems in float64 (torch.linalg.solve). Fig. 10's margin: top-two of the scores.

k and decay: local.k = 0 chooses both among K_CHOICES x DECAY_CHOICES on a split of the training set,
the last sixth (10,000 of 60,000) against the first five sixths, as knn.py chooses its k. The 120
features come from a LeNet-4 trained on all 60,000 images, so those 10,000 were among its training
images: the choice sees features of seen images (docs/deviations.md records it).

Cost per recognition (Figs. 11-12): LeNet-4 up to C5, n d for the distances, and the local fit:
k (d+1)^2 / 2 for the symmetric Gram matrix, 10 k (d+1) for the right-hand side, (d+1)^3 / 3 for the
Cholesky-type solve and 10 (d+1)^2 for its two triangular substitutions; memory = n d stored features
+ LeNet-4's parameters (the targets are the n stored labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.registry import bounded, fitted
from ..paper import CLASSES
from .base import FittedModel, train_subset
from .cost import feature_net, from_fit
from .knn import neighbours

K_CHOICES = (10, 25, 50, 100, 200)  # local.k = 0 picks one of these (and a decay) on the validation split
DECAY_CHOICES = (0.001, 0.01, 0.1, 1.0)
CHUNK = 250  # queries solved at once: 250 x 200 x 121 neighbour features, 250 x 121 x 121 systems


def local_outputs(train_x, train_y, q, idx, k: int, decays) -> list[torch.Tensor]:
    """For each decay, (Q, 10) outputs of the local classifiers of the queries q (Q, d), fitted on
    their first k neighbours idx[:, :k] (nearest first) among (train_x, train_y)."""
    outs = [[] for _ in decays]
    d = train_x.shape[1]
    eye = torch.eye(d + 1, dtype=torch.float64)
    eye[d, d] = 0.0  # the bias is not decayed
    for s in range(0, len(q), CHUNK):
        j = idx[s : s + CHUNK, :k]
        f = train_x[j].to(torch.float64) - q[s : s + CHUNK, None].to(torch.float64)  # (B, k, d)
        a = torch.cat([f, torch.ones(*f.shape[:2], 1, dtype=torch.float64)], 2)  # (B, k, d+1)
        t = torch.full((*j.shape, CLASSES), -1.0, dtype=torch.float64).scatter_(
            2, train_y[j].long()[..., None], 1.0
        )
        gram = a.transpose(1, 2) @ a / k
        rhs = a.transpose(1, 2) @ t / k
        for i, decay in enumerate(decays):
            w = torch.linalg.solve(gram + decay * eye, rhs)  # (B, d+1, 10)
            outs[i].append(w[:, d, :].to(torch.float32))  # the bias: the output at q
    return [torch.cat(o) for o in outs]


def local_scores(train_x, train_y, q, k: int, decay: float) -> torch.Tensor:
    """(Q, 10) class scores of the queries q: each one's local classifier's outputs at q."""
    q = q.reshape(len(q), -1)
    _, idx = neighbours(q, train_x, k)
    return local_outputs(train_x, train_y, q, idx, k, [decay])[0]


def choose(fit_x, fit_y, val_x, val_y, log=print) -> tuple[int, float, dict]:
    """(k, decay) of K_CHOICES x DECAY_CHOICES with the lowest error on (val_x, val_y), (fit_x, fit_y)
    the training side; a tie goes to the larger decay, then the smaller k. Also {"k/decay": error}."""
    _, idx = neighbours(val_x, fit_x, max(K_CHOICES))
    errors = {}
    for k in K_CHOICES:
        for decay, out in zip(
            DECAY_CHOICES, local_outputs(fit_x, fit_y, val_x, idx, k, DECAY_CHOICES), strict=False
        ):
            errors[(k, decay)] = float((out.argmax(1) != val_y).double().mean())
            log(
                f"  k={k} decay={decay:g}: validation error {100 * errors[(k, decay)]:.2f}% ({len(val_y)} "
                f"images)"
            )
    k, decay = min(errors, key=lambda kd: (errors[kd], -kd[1], kd[0]))
    return k, decay, {f"{a}/{b:g}": e for (a, b), e in errors.items()}


def local_cost(n: int, d: int, k: int, net: dict) -> dict:
    """Figs. 11-12 (module docstring); net: {"macs", "params"} of the feature network."""
    p = d + 1
    fit = k * p * (p + 1) // 2 + CLASSES * k * p + p**3 // 3 + CLASSES * p * p
    return {"macs": net["macs"] + n * d + fit, "memory": net["params"] + n * d}


@dataclass
class LocalConfig:
    """local: LeNet-4 / Local, a ridge classifier per test pattern on its k nearest."""

    k: int = bounded(200, low=0)  # neighbours the local classifier is fitted on; 0: k and decay chosen
    decay: float = bounded(1.0, low=0)  # weight decay (ridge) of the local linear classifier
    features: str | None = (
        None  # a run directory ({seed} filled in) whose net's last hidden layer is the input
    )


def local_row(cfg):
    return "LeNet-4 / Local" if cfg.local.features else None


class Local(FittedModel):
    """A fitted local-learning classifier: the stored features and labels, k and decay."""

    def __init__(self, x, y, k: int, decay: float, seed: int, metrics: dict, summary: dict):
        self.x, self.y, self.k, self.decay, self.seed = x, y, k, decay, seed
        self.metrics, self.summary = metrics, summary

    @torch.no_grad()
    def scores(self, q):
        return local_scores(self.x, self.y, q, self.k, self.decay)

    def train_index(self, n: int) -> torch.Tensor:
        return train_subset(n, self.seed)


@fitted("local", section=LocalConfig, cost=from_fit, row=local_row, paper_section="III-C-8")
def fit_local(cfg, x, y, log=print) -> Local:
    """local.k and local.decay, or with k = 0 both chosen on the last sixth of the training set
    (module docstring); the summary records them and the cost."""
    sec = cfg.local
    x = x.reshape(len(x), -1).to(torch.float32)
    k, decay, metrics = sec.k, sec.decay, {}
    if k == 0:
        cut = len(x) - len(x) // 6
        k, decay, errors = choose(x[:cut], y[:cut], x[cut:], y[cut:], log=log)
        log(f"  chose k={k}, decay={decay:g} on {len(x) - cut} validation images ({cut} templates)")
        metrics = {"val_errors": errors, "val_n": len(x) - cut, "val_fit_n": cut}
    net = feature_net(cfg, sec.features) if sec.features else {"macs": 0, "params": 0}
    summary = {"k": k, "decay": decay, **local_cost(len(x), x.shape[1], k, net)}
    return Local(x, y, k, decay, cfg.seed, metrics, summary)
