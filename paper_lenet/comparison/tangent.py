"""Fig. 9's "[16x16] Tangent Distance" (P98 Sec. III-C-10; Simard, LeCun & Denker, NIPS 5, 1993): a
nearest-neighbour classifier whose distance ignores small translations, rotation, scaling, the two
hyperbolic deformations (skew / squeeze) and line thickness, on 16x16 images.

    images    data.preprocess 16x16 (the ink box scaled to 16 pixels, centred in 28x28), the central
              16x16 window of it (CROP: every pixel of the box).
    tangents  of the image smoothed by a Gaussian (tangent.sigma pixels), derivatives gx, gy by
              central differences [1, 0, -1] / 2, coordinates x, y centred on the image centre:
              x-shift gx, y-shift gy, rotation y gx - x gy, scaling x gx + y gy, hyperbolic
              x gx - y gy and y gx + x gy, thickness gx^2 + gy^2 (Keysers' td.c; Simard et al. 1998).
    distance  one-sided (tangent.sided: one): |d|^2 - |T_q^T d|^2, d = template - query, T_q the
              orthonormalised tangents of the query (QR; a zero tangent spans nothing); two-sided:
              the squared distance between the two 7-dimensional tangent planes (no bound on the
              coefficients), from the two orthonormal bases (tangent_sq_distances).
    prefilter the tangent.prefilter nearest templates by Euclidean distance on the 16x16 images
              (knn.neighbours), then the tangent distance on those only.
    decision  knn.vote_scores on the tangent distances of the tangent.k nearest, its Fig. 10 margin.

tangent.sided and tangent.k are chosen on the validation split
(experiments/configs/validation/fig9/val-tangent-*.yaml). Cost (Figs. 11-12) per recognition, n
templates of P = 256 pixels, K prefiltered: the prefilter n P; the query's tangents ~ 12 P and
their orthonormalisation 2 P 7^2; per candidate |d|^2 and b_q^T d, 8 P; two-sided also b_c^T d and
M = b_q^T b_c, 56 P, and the 14 x 14 solve, 14^3 / 3 + 14^2. Memory: the n P template pixels, and
two-sided their 7 orthonormalised tangents too, precomputed (8 n P).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..core.registry import bounded, fig9_row, fitted, preprocess_tag
from .base import TRAIN_ERROR_N, FittedModel, train_subset
from .cost import from_fit
from .knn import neighbours, vote_scores

SIDE = 16
CROP = slice(6, 22)  # [16x16]'s box in the 28x28 field: rows and columns 6..21
TANGENTS = ("x-shift", "y-shift", "rotation", "scaling", "hyperbolic +", "hyperbolic x", "thickness")
CHUNK = 100  # queries per batch of candidate distances


def crop16(x: torch.Tensor) -> torch.Tensor:
    """(N, 256) central 16x16 of [16x16]'s 28x28 images (N, 784) or (N, 28, 28); already 16x16 passes."""
    if x.shape[-1] == SIDE * SIDE or x.shape[-1] == SIDE:
        return x.reshape(len(x), -1)
    return x.reshape(len(x), 28, 28)[:, CROP, CROP].reshape(len(x), -1)


def smooth(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, S, S) images blurred by a Gaussian of sigma pixels (zero padding), separable."""
    if sigma <= 0:
        return img
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=img.dtype)
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    x = img[:, None]
    x = F.conv2d(x, g.view(1, 1, 1, -1), padding=(0, r))
    return F.conv2d(x, g.view(1, 1, -1, 1), padding=(r, 0))[:, 0]


def tangent_vectors(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, 7, S*S) tangent vectors (TANGENTS' order) of the images x (N, S*S)."""
    side = int(round(math.sqrt(x.shape[1])))
    s = smooth(x.reshape(len(x), side, side), sigma)
    p = F.pad(s, (1, 1, 1, 1))
    gx = (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]) / 2  # d/dx: along columns
    gy = (p[:, 2:, 1:-1] - p[:, :-2, 1:-1]) / 2  # d/dy: along rows (y grows downward)
    c = torch.arange(side, dtype=x.dtype) - (side - 1) / 2
    yy, xx = c.view(-1, 1), c.view(1, -1)
    t = torch.stack(
        [
            gx,
            gy,
            yy * gx - xx * gy,
            xx * gx + yy * gy,
            xx * gx - yy * gy,
            yy * gx + xx * gy,
            gx * gx + gy * gy,
        ],
        1,
    )
    return t.reshape(len(x), 7, side * side)


def orthonormal(t: torch.Tensor) -> torch.Tensor:
    """(B, P, V) orthonormal basis (columns) of the span of the V vectors t (B, V, P); a vector that
    adds nothing to the span (zero, or dependent) gets a zero column."""
    q, r = torch.linalg.qr(t.transpose(1, 2).to(torch.float64))
    diag = r.diagonal(dim1=1, dim2=2).abs()
    scale = t.to(torch.float64).norm(dim=2).amax(1, keepdim=True).clamp_min(1e-300)
    return q * (diag > 1e-6 * scale).unsqueeze(1)


def bases(x: torch.Tensor, sigma: float, chunk: int = 2000) -> torch.Tensor:
    """(N, P, 7) float32 orthonormalised tangents of the images x (N, P), chunk by chunk."""
    return torch.cat(
        [
            orthonormal(tangent_vectors(x[i : i + chunk], sigma)).to(torch.float32)
            for i in range(0, len(x), chunk)
        ]
    )


def tangent_sq_distances(q, b_q, cand, b_c, sided: str) -> torch.Tensor:
    """(Q, K) squared tangent distances of queries q (Q, P), their tangent bases b_q (Q, P, 7), to
    their candidates cand (Q, K, P) with bases b_c (Q, K, P, 7). One-sided: |d|^2 - |b_q^T d|^2.
    Two-sided: |d|^2 - h^T G^-1 h, h = [b_q, b_c]^T d and G = [b_q, b_c]^T [b_q, b_c] = [[I, M], [M^T, I]],
    M = b_q^T b_c: the residual of d's least-squares projection on both tangent planes (a zero column
    of a basis has zero h and M entries, and its unit diagonal keeps G invertible)."""
    d = cand - q[:, None]  # (Q, K, P)
    h_q = d @ b_q  # (Q, K, 7)
    if sided == "one":
        fit = (h_q.double() ** 2).sum(2)
    else:
        h_c = (d.unsqueeze(2) @ b_c).squeeze(2)  # (Q, K, 7)
        m = torch.einsum("qpv,qkpw->qkvw", b_q, b_c).double()
        eye = torch.eye(7, dtype=torch.float64).expand_as(m)
        g = torch.cat([torch.cat([eye, m], 3), torch.cat([m.transpose(2, 3), eye], 3)], 2)
        g = g + 1e-9 * torch.eye(14, dtype=torch.float64)
        h = torch.cat([h_q, h_c], 2).double().unsqueeze(3)
        fit = (h * torch.linalg.solve(g, h)).sum((2, 3))
    return ((d.double() ** 2).sum(2) - fit).clamp_min(0.0)


def tangent_neighbours(train_x, train_b, q, prefilter: int, sided_list, sigma: float):
    """{sided: (distances (Q, K), template indices (Q, K))} sorted by tangent distance, K = prefilter,
    the candidates being the prefilter Euclidean-nearest templates of each query; train_b: the
    templates' bases (`bases`)."""
    _, idx = neighbours(q, train_x, min(prefilter, len(train_x)))
    out = {s: ([], []) for s in sided_list}
    for i in range(0, len(q), CHUNK):
        qi, ji = q[i : i + CHUNK], idx[i : i + CHUNK]
        b_q = bases(qi, sigma)
        for s in sided_list:
            dist, order = (
                tangent_sq_distances(qi, b_q, train_x[ji], None if train_b is None else train_b[ji], s)
                .sqrt()
                .sort(1)
            )
            out[s][0].append(dist)
            out[s][1].append(ji.gather(1, order))
    return {s: (torch.cat(d), torch.cat(j)) for s, (d, j) in out.items()}


def td_cost(n: int, prefilter: int, sided: str, p: int = SIDE * SIDE) -> dict:
    """Figs. 11-12 (module docstring)."""
    per = 8 * p if sided == "one" else 64 * p + 14**3 // 3 + 14**2
    return {
        "macs": n * p + 12 * p + 2 * p * 49 + prefilter * per,
        "memory": n * p * (1 if sided == "one" else 8),
    }


@dataclass
class TangentConfig:
    """tangent: [16x16] tangent distance, k-NN on a Euclidean prefilter."""

    k: int = bounded(
        0, low=0
    )  # neighbours voting; 0: k in (1, 3, 5) and `sided` chosen on a validation split
    sided: Literal["one", "two"] = "two"  # the query's tangents only, or both images'
    prefilter: int = bounded(100, low=1)  # Euclidean-nearest templates the tangent distance is computed on
    sigma: float = bounded(1.0, low=0)  # Gaussian smoothing (pixels) before the derivatives


def tangent_row(cfg):
    return fig9_row(preprocess_tag(cfg) + "Tangent Distance")


class TangentKNN(FittedModel):
    """Templates (the 16x16 training images), their labels, and the settings."""

    def __init__(self, x, y, k, sided, prefilter, sigma, seed, metrics):
        self.b = bases(x, sigma) if sided == "two" else None
        self.x, self.y, self.k, self.sided, self.prefilter, self.sigma = x, y, k, sided, prefilter, sigma
        self.seed, self.metrics = seed, metrics
        self.summary = {"k": k, "sided": sided, **td_cost(len(x), prefilter, sided)}

    @torch.no_grad()
    def scores(self, q):
        d, j = tangent_neighbours(self.x, self.b, crop16(q), self.prefilter, [self.sided], self.sigma)[
            self.sided
        ]
        return vote_scores(self.y[j], d, self.k)

    def train_index(self, n: int) -> torch.Tensor:
        return train_subset(n, self.seed, TRAIN_ERROR_N // 10)  # 1,000: the tangent distance is the slow part


@fitted("tangent", section=TangentConfig, cost=from_fit, row=tangent_row, paper_section="III-C-10")
def fit_tangent(cfg, x, y, log=print) -> TangentKNN:
    """Stores the 16x16 templates; with tangent.k = 0, k in (1, 3, 5) and one- or two-sided are chosen
    on the last sixth of the training set against the rest (as knn.py chooses its k)."""
    sec = cfg.tangent
    x = crop16(x).to(torch.float32)
    k, sided, metrics = sec.k, sec.sided, {}
    if k == 0:
        cut = len(x) - len(x) // 6
        found = tangent_neighbours(
            x[:cut], bases(x[:cut], sec.sigma), x[cut:], sec.prefilter, ["one", "two"], sec.sigma
        )
        errors = {}
        for s, (d, j) in found.items():
            for kk in (1, 3, 5):
                errors[f"{s}/{kk}"] = float(
                    (vote_scores(y[:cut][j], d, kk).argmax(1) != y[cut:]).double().mean()
                )
                log(
                    f"  {s}-sided k={kk}: validation error {100 * errors[f'{s}/{kk}']:.2f}% ({len(x) - cut} "
                    f"images)"
                )
        sided, k = min(
            errors, key=lambda key: (errors[key], key.startswith("two"), int(key.split("/")[1]))
        ).split("/")
        k = int(k)
        log(f"  chose {sided}-sided, k={k}")
        metrics = {"val_errors": errors, "val_n": len(x) - cut, "val_fit_n": cut}
    return TangentKNN(x, y, k, sided, sec.prefilter, sec.sigma, cfg.seed, metrics)


def tangent_tiles(images: torch.Tensor, sigma: float = 1.0) -> list[list[np.ndarray]]:
    """`show-tangents`' rows (pictures.save_tangent_picture draws them): per 16x16 image of images (N, 256),
    the image, its smoothed version, then its 7 tangent vectors (TANGENTS' order), each scaled to its own
    largest magnitude, in [0, 1]: 0.5 is 0 for the tangents."""
    rows = []
    for img in images.reshape(len(images), -1):
        t = tangent_vectors(img[None], sigma)[0]
        sm = smooth(img.reshape(1, SIDE, SIDE), sigma).reshape(-1)
        tiles = [img / img.abs().max().clamp_min(1e-12), sm / sm.abs().max().clamp_min(1e-12)]
        tiles += [v / v.abs().max().clamp_min(1e-12) / 2 + 0.5 for v in t]  # tangents: 0 -> mid grey
        rows.append([tile.reshape(SIDE, SIDE).clamp(0, 1).numpy() for tile in tiles])
    return rows
