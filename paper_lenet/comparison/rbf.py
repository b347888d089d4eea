"""The first layer of Fig. 9's "1000 RBF + linear" (least_squares.py fits the second): Gaussian units whose
centres are found by k-means on each class's training images.

The paper: "The RBF units were divided into 10 groups of 100. Each group of units was trained on all
the training examples of one of the 10 classes using the adaptive K-means algorithm." It does not
specify the algorithm or the widths. Ours: Lloyd's k-means from a k-means++ start drawn from a
generator seeded by (seed, class), at most KMEANS_ITERS iterations (it stops early only when no
assignment changes, which gives the same centres); width sigma_j = the RMS distance of centre j's
members to it (a single-member centre takes its class's median width); unit output
exp(-||x - c_j||^2 / (2 sigma_j^2)).
"""

from __future__ import annotations

import torch

from ..paper import CLASSES
from . import knn

CHUNK = 5000  # rows per assignment / feature chunk (5,000 x 1,000 distances: 20 MB)
KMEANS_ITERS = 20


def kmeans(x: torch.Tensor, k: int, gen: torch.Generator, iters: int = KMEANS_ITERS):
    """Lloyd's k-means from a k-means++ start: (centres (k, d), assignment (n,), squared distance of
    each point to its centre (n,)). An emptied cluster restarts at the point farthest from its centre."""
    n = len(x)
    k = min(k, n)
    first = int(torch.randint(n, (1,), generator=gen))
    centres = [x[first]]
    best = knn.sq_distances(x, x[first : first + 1]).squeeze(1)
    for _ in range(1, k):  # k-means++: the next centre with probability ~ squared distance
        p = best.double()
        j = int(
            torch.multinomial(p / p.sum(), 1, generator=gen)
            if p.sum() > 0
            else torch.randint(n, (1,), generator=gen)
        )
        centres.append(x[j])
        best = torch.minimum(best, knn.sq_distances(x, x[j : j + 1]).squeeze(1))
    c = torch.stack(centres)

    def assign(c):
        d = torch.cat([knn.sq_distances(x[i : i + CHUNK], c) for i in range(0, n, CHUNK)])
        v, a = d.min(1)
        return a, v

    a, d2 = assign(c)
    for _ in range(iters):
        sums = torch.zeros_like(c).index_add_(0, a, x)
        counts = torch.bincount(a, minlength=k)
        c = torch.where(counts.unsqueeze(1) > 0, sums / counts.clamp_min(1).unsqueeze(1), c)
        for e in torch.nonzero(counts == 0).flatten().tolist():
            far = int(d2.argmax())
            c[e], d2[far] = x[far], 0.0
        new, d2 = assign(c)
        if torch.equal(new, a):
            break
        a = new
    return c, a, d2


class GaussianRBF:
    """x -> exp(-||x - c_j||^2 / (2 sigma_j^2)) for every centre j."""

    def __init__(self, centres: torch.Tensor, sigmas: torch.Tensor):
        self.c, self.inv = centres, 1.0 / (2.0 * sigmas**2)
        self.c_sq = (centres * centres).sum(1)

    def __call__(self, x):
        return torch.exp(-knn.sq_distances(x, self.c, self.c_sq) * self.inv)


def rbf_units(x, y, centers: int, seed: int, log=print, width_scale: float = 1.0) -> GaussianRBF:
    """centers // 10 centres per class by k-means on that class's images; sigma_j = width_scale x the RMS
    member distance (a centre with a single member, sigma 0, takes the median width of its class)."""
    per = max(1, centers // CLASSES)
    cs, ss = [], []
    for cls in range(CLASSES):
        xc = x[y == cls]
        gen = torch.Generator().manual_seed(seed * 1000 + cls)
        c, a, d2 = kmeans(xc, per, gen)
        counts = torch.bincount(a, minlength=len(c))
        sigma = (torch.zeros(len(c)).index_add_(0, a, d2) / counts.clamp_min(1)).sqrt()
        ok = (counts > 1) & (sigma > 0)
        sigma[~ok] = sigma[ok].median() if ok.any() else 1.0
        cs.append(c), ss.append(sigma)
        log(f"  class {cls}: {len(c)} centres on {len(xc)} images, sigma median {float(sigma.median()):.3f}")
    return GaussianRBF(torch.cat(cs), width_scale * torch.cat(ss))
