"""Stochastic diagonal Levenberg-Marquardt (Sec. III-B, App. B-C).

    w_k <- w_k - eps_k dE/dw_k,   eps_k = eta / (mu + h_kk)

h_kk is the Gauss-Newton estimate of d2E/dw_k^2: second derivatives are back-propagated with
squared weights and squared f' (eq. 25, 27), the loss's own second derivative kept exactly,
summed over every connection that shares w_k (eq. 23-24), averaged over `hessian_samples`
training patterns drawn before each pass and held fixed for the pass.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def curvature(model, x: torch.Tensor, y: torch.Tensor, loss: str, map_j: float = 10.0) -> dict:
    """Mean over the batch of the per-sample Gauss-Newton diagonal h_kk, keyed like named_parameters."""
    cache, feats = model.trace(x)  # each layer's input and pre-activation; F6's output (N, 84)
    names = {id(m): n for n, m in model.named_modules()}
    hess = {}

    def store(layer, hs):
        for pname, v in hs.items():
            hess[f"{names[id(layer)]}.{pname}"] = v / len(x)

    # the head's own term: a trainable F7's h (linear, squashed), and d2E/dx^2 at F6's output
    hs, g2 = model.head.curvature(model.F7, feats, loss, y, map_j)
    store(model.F7, hs)
    for _, layer, inp, a in reversed(cache):
        if g2.shape != a.shape:  # F6 -> C5: un-flatten
            g2 = g2.view(a.shape)
        hs, g2 = layer.curvature(inp, a, g2)
        store(layer, hs)
    return hess


def sdlm_rates(model, hess: dict, eta: float, mu: float) -> dict:
    """eps_k = eta / (mu + h_kk) for every trainable parameter."""
    return {n: eta / (mu + hess[n]) for n, _ in model.named_parameters()}


@torch.no_grad()
def sdlm_update(params, grads, rates) -> None:
    """w_k <- w_k - eps_k dE/dw_k: the one SDLM step in Python (lenet5.c has the compiled one)."""
    for p, g, r in zip(params, grads, rates, strict=False):
        p.addcmul_(r, g, value=-1.0)


def eta_for_epoch(table, epoch: int) -> float:
    """The global rate for pass `epoch` (1-based) from [[last_pass, eta], ...] (paper's schedule by
    default); passes past the table keep its last rate."""
    for last, eta in table:
        if epoch <= last:
            return float(eta)
    return float(table[-1][1])


def rate_stats(rates: dict) -> tuple[float, float, float]:
    """min, median, max of eps_k over every trainable parameter (C3 holds only its connected kernels)."""
    v = torch.cat([r.flatten() for r in rates.values()])
    return v.min().item(), v.median().item(), v.max().item()
