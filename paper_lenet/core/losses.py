"""Losses (Sec. II-C) and their exact diagonal second derivatives for SDLM's curvature pass.

mse (eq. 8):  E = y_D, the correct class's RBF output.
map (eq. 9):  E = y_D + log(e^-j + sum_i e^-y_i), j > 0 the "rubbish class" constant.
cross_entropy: softmax over the linear head's logits (modern).
edist: 1/2 sum_i (x_i - t_i)^2 over the squashed head's 10 outputs, t = +1 for the class and -1
       elsewhere (the authors' Lush code, `edist-cost`; its class is the largest output).
Each is a mean over the samples of a batch (a batch of 1 in the paper's per-sample training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def per_sample_loss(kind: str, out: torch.Tensor, target: torch.Tensor, map_j: float = 10.0):
    """(N,) loss of each sample; `out` is F7's output: RBF distances y (N,10) or logits."""
    if kind == "cross_entropy":
        return F.cross_entropy(out, target, reduction="none")
    if kind == "edist":
        t = F.one_hot(target, out.shape[1]).to(out.dtype) * 2 - 1  # +1 for the class, -1 elsewhere
        return 0.5 * ((out - t) ** 2).sum(1)
    y_d = out.gather(1, target[:, None])[:, 0]
    if kind == "mse":
        return y_d
    if kind == "map":
        rubbish = torch.full_like(out[:, :1], -map_j)
        return y_d + torch.logsumexp(torch.cat([rubbish, -out], 1), 1)
    raise ValueError(kind)


def loss_fn(kind: str, out, target, map_j: float = 10.0):
    return per_sample_loss(kind, out, target, map_j).mean()


def output_curvature(kind: str, x: torch.Tensor, centers_or_none, out, target, map_j: float = 10.0):
    """Exact diagonal of d2E_p/d(input of the loss)^2 per sample, the start of the Gauss-Newton pass.

    For the RBF head the loss is taken as a function of F6's outputs x (N,84), with F7 and the loss
    together (F7 is fixed): mse gives 2 everywhere; map adds the log-sum-exp term's diagonal.
    For the linear head it is w.r.t. the logits: softmax cross-entropy gives p_i (1 - p_i); for
    the squashed head w.r.t. its outputs: 1/2 squared error gives 1.
    """
    if kind == "edist":
        return torch.ones_like(out)
    if kind == "cross_entropy":
        p = torch.softmax(out, 1)
        return p * (1 - p)
    if kind == "mse":
        return torch.full_like(x, 2.0)
    # map: E = y_D + log Z, Z = e^-j + sum_i e^-y_i, y_i = |x - w_i|^2, p_i = e^-y_i / Z.
    # d2E/dx_j^2 = 2 - 2 sum_i p_i + sum_i p_i u_ij^2 - (sum_i p_i u_ij)^2 with u_ij = 2 (x_j - w_ij).
    rubbish = torch.full_like(out[:, :1], -map_j)
    p = torch.softmax(torch.cat([rubbish, -out], 1), 1)[:, 1:]  # (N,10)
    u = 2 * (x[:, None, :] - centers_or_none[None])  # (N,10,84)
    pu = (p[:, :, None] * u).sum(1)
    pu2 = (p[:, :, None] * u * u).sum(1)
    return 2 - 2 * p.sum(1, keepdim=True) + pu2 - pu * pu
