"""Fig. 9's "RS-SVM poly 5" (Burges & Schölkopf, NIPS 9, 1997; Burges, ICML 1996): the reduced-set
approximation of a (virtual-support-vector) SVM. A kernel expansion Psi = sum_s a_s phi(sv_s) in the
kernel's feature space is replaced by Psi' = sum_j b_j phi(z_j) with far fewer vectors z_j, chosen to
minimise the feature-space distance, which expands through kernel evaluations only:

    |Psi - Psi'|^2 = a' K(S, S) a - 2 b' K(Z, S) a + b' K(Z, Z) b.

For fixed z the best b solves K(Z, Z) b = K(Z, S) a, so the distance is a function of z alone:
a' K(S, S) a - v' K(Z, Z)^-1 v with v = K(Z, S) a. That function is minimised over the z_j (all
jointly, m x d numbers) by torch's L-BFGS with autograd through the kernel and the solve, from the m
support vectors of largest |a_s| sqrt(K(sv_s, sv_s)) (their share of Psi's length), svm.rs_iters
iterations. (Burges added the z_j one at a time, each by its own unconstrained search, then polished
them jointly; the joint search from the largest terms is our shortcut: docs/deviations.md.)

What is reduced: with svm.machines ovr (ovr.py), CV95's and Burges & Schölkopf's setting, each of the
ten one-vs-rest machines f_c, the class scores themselves. libsvm's own machine is one-vs-one (45
expansions o_ij), and there svm.readout picks the
expansions: `sum` reduces the 10 class scores S_c = sum_j o_cj, each itself one kernel expansion over
the support vectors (coefficients coef @ svm.sum_matrix(), plus a bias), and classifies by their
argmax; `min` reduces each of the 45 machines over its own two classes' vectors and reads the reduced
decision values out as svm.py does (s_i = min_j o_ij). Which is better was measured on the validation
split (experiments/configs/validation/fig9/val-rsvm-poly5*.yaml). The unreduced machine's errors with
both readouts are recorded beside the reduced one (`extra_scores`), so the reduction's own loss is
visible. Cost: per reduced vector one d-MAC dot product, the power's multiplies and one MAC for its
coefficient; memory its d pixels and coefficient, plus one bias per expansion.
"""

from __future__ import annotations

import time

import torch

from ..core.model import in_batches
from ..core.registry import fitted
from ..paper import CLASSES
from .base import FittedModel, train_subset
from .cost import from_fit
from .svm import CHUNK, READOUTS, SVMConfig, fit_svm, sum_matrix, svm_check, svm_cost, svm_row


def poly_kernel(a, b, gamma: float, coef0: float, degree: int, dots=torch.float64) -> torch.Tensor:
    """(len(a), len(b)) (gamma a.b + coef0)^degree in float64 (differentiable), the dot products in `dots`."""
    return (a.to(dots) @ b.to(dots).T).to(torch.float64).mul(gamma).add(coef0).pow(degree)


def expansion_norm2(sv, a, gamma: float, coef0: float, degree: int) -> torch.Tensor:
    """|Psi|^2 = a' K(S, S) a for the expansions in the columns of a (n_SV, k), in row blocks of K. The
    n_SV^2 d dot products (5 x 10^11 for 25,000 vectors) are float32, as svm.decision_values' are; the
    powers and sums float64. Only reported (the relative distance): the search does not depend on it."""
    s32 = sv.to(torch.float32)

    def block(i):
        k = (s32[i : i + CHUNK] @ s32.T).to(torch.float64).mul_(gamma).add_(coef0).pow_(degree)
        return ((k @ a) * a[i : i + CHUNK]).sum(0)

    return sum(block(i) for i in range(0, len(sv), CHUNK))


def rs_distance(z, b, sv, a, kern, norm2) -> torch.Tensor:
    """|Psi - Psi'|^2 = norm2 - 2 b' K(Z, S) a + b' K(Z, Z) b, Psi = sum a_s phi(sv_s), Psi' = sum b_j
    phi(z_j)."""
    return norm2 - 2 * b @ (kern(z, sv) @ a) + b @ kern(z, z) @ b


def best_b(z, sv, a, kern) -> torch.Tensor:
    """The b that minimises rs_distance for these z: K(Z, Z) b = K(Z, S) a (least squares, so that
    coinciding z_j still have a solution)."""
    return torch.linalg.lstsq(kern(z, z), (kern(z, sv) @ a).unsqueeze(1), driver="gelsd").solution[:, 0]


def reduce_expansion(sv, a, m: int, kern, iters: int, norm2: float, kdiag, log=print, cross=None):
    """(z (m, d), b (m,), relative distance before, after): the module docstring's search; kdiag (n_SV,)
    = K(sv_s, sv_s), which ranks the starting vectors; cross(z) = K(Z, S) during the search (default
    kern(z, sv); the final b and distance always use kern)."""
    cross = cross or (lambda q: kern(q, sv))
    size = a.abs() * kdiag.sqrt()
    z = sv[size.topk(m).indices].to(torch.float64).clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [z],
        max_iter=iters,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-12,
        tolerance_change=1e-14,
    )

    def distance():
        kz = kern(z, z)
        v = cross(z) @ a
        jitter = 1e-12 * kz.diagonal().mean() * torch.eye(m, dtype=kz.dtype)  # keeps the solve defined
        return (norm2 - v @ torch.linalg.solve(kz + jitter, v)) / norm2

    def closure():
        opt.zero_grad()
        loss = distance()
        loss.backward()
        return loss

    with torch.no_grad():
        before = float(distance())
    opt.step(closure)
    z = z.detach()
    b = best_b(z, sv, a, kern)
    after = float(rs_distance(z, b, sv, a, kern, norm2) / norm2)
    log(f"    {m} vectors: |Psi - Psi'|^2 / |Psi|^2 {before:.4g} -> {after:.4g}")
    return z, b, before, after


class ReducedSVM(FittedModel):
    """E reduced expansions e(x) = sum_j b[e, j] K(z[e, j], x) + bias[e]: with readout "classes" the 10 class
    scores (one-vs-one's class sums, or the one-vs-rest machines), with readout min the 45 one-vs-one
    decision values (then svm.ovo_scores); `extra_scores` scores the unreduced machine with each of its
    readouts (fit.py records their errors)."""

    def __init__(self, z, b, bias, full, summary, readout):
        self.z, self.b, self.bias, self.full, self.summary, self.readout = z, b, bias, full, summary, readout
        self.metrics = {"support_vectors": len(full.sv), "reduced_vectors": int(z.shape[0] * z.shape[1])}
        if full.readout == "classes":  # one-vs-rest: one readout, the machines' outputs
            self.extra_scores = {"unreduced": full.scores}
        else:
            self.extra_scores = {"unreduced_min": self._full("min"), "unreduced_sum": self._full("sum")}

    def _full(self, readout):
        return lambda x: in_batches(lambda q: READOUTS[readout](self.full.decision(q)), x, CHUNK)

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        e, m, d = self.z.shape
        f = self.full

        def block(q):
            k = poly_kernel(q.reshape(len(q), -1), self.z.reshape(e * m, d), f.gamma, f.coef0, f.degree)
            out = (k.reshape(len(q), e, m) * self.b).sum(2) + self.bias
            return READOUTS[self.readout](out)

        return in_batches(block, x, CHUNK)

    def train_index(self, n: int) -> torch.Tensor:
        return train_subset(n, self.full.seed)


def reduced_cost(m: int, d: int, degree: int, expansions: int = CLASSES) -> dict:
    """Figs. 11-12 of `expansions` expansions (10 class sums, or 45 one-vs-one machines) of m reduced
    vectors each (module docstring)."""
    per = svm_cost(1, d, degree, coefs=1)["macs"]  # the dot product and power, one coefficient
    return {"macs": expansions * m * per, "memory": expansions * m * (d + 1) + expansions}


def fit_reduced(cfg, x, y, log=print) -> ReducedSVM:
    """fit_svm's machine, then each expansion reduced to svm.reduced vectors: readout sum, the 10 class
    sums (coef @ svm.sum_matrix()); readout min, the 45 one-vs-one machines, each over its own vectors."""
    sec = cfg.svm
    full = fit_svm(cfg, x, y, log)
    if full.readout == "classes":  # the ten one-vs-rest machines are the class scores (ovr.py)
        a, bias, what, readout = full.coef, full.intercept, "class machine", "classes"
    elif sec.readout == "sum":
        a, bias, what, readout = full.coef @ sum_matrix(), full.intercept @ sum_matrix(), "class", "classes"
    else:
        a, bias, what, readout = full.coef, full.intercept, "machine", "min"

    def kern(p, q):
        return poly_kernel(p, q, full.gamma, full.coef0, full.degree)

    sv = full.sv.to(torch.float64)
    t0 = time.time()
    with torch.no_grad():
        norm2 = expansion_norm2(sv, a, full.gamma, full.coef0, full.degree)
        kdiag = (full.gamma * (sv * sv).sum(1) + full.coef0) ** full.degree
    zs, bs, rel = [], [], []
    for e in range(a.shape[1]):
        rows = a[:, e] != 0  # a one-vs-one machine's own two classes' vectors
        sv32 = full.sv[rows].to(torch.float32)

        def cross(
            z, sv32=sv32
        ):  # K(Z, S): m x n_SV x d dot products per step, float32 as svm.decision_values' (0.55 s, not 0.78)
            return poly_kernel(z, sv32, full.gamma, full.coef0, full.degree, torch.float32)

        log(f"  reduced set, {what} {e}:")
        z, b, before, after = reduce_expansion(
            sv[rows], a[rows, e], sec.reduced, kern, sec.rs_iters, float(norm2[e]), kdiag[rows], log, cross
        )
        zs.append(z)
        bs.append(b)
        rel.append([round(before, 6), round(after, 6)])
    seconds = time.time() - t0
    summary = {k: v for k, v in full.summary.items() if k not in ("macs", "memory")}
    summary.update(
        {
            "reduced_vectors": a.shape[1] * sec.reduced,
            "rs_seconds": round(seconds, 1),
            "rs_relative_distance": rel,
            "unreduced_macs": full.summary["macs"],
            **reduced_cost(sec.reduced, x[0].numel(), sec.degree, a.shape[1]),
        }
    )
    return ReducedSVM(torch.stack(zs), torch.stack(bs), bias, full, summary, readout)


@fitted("svm", section=SVMConfig, cost=from_fit, row=svm_row, paper_section="III-C", check=svm_check)
def fit_svm_method(cfg, x, y, log=print):
    """model.arch svm: the machine (svm.py), or with svm.reduced its reduced set (above)."""
    return (fit_reduced if cfg.svm.reduced else fit_svm)(cfg, x, y, log)
