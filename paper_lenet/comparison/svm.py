"""Fig. 9's "SVM poly 4" (CV95: Cortes & Vapnik 1995, Sec. 6.2): a support-vector machine with the
polynomial kernel K(u, v) = (gamma u.v + coef0)^degree on the 784 pixels, fitted by scikit-learn's SVC
(libsvm), an optional dependency (`pip install -e '.[svm]'`), imported here only, when a fit is made.

    kernel   (gamma u.v + 1)^4 on pixels in [0, 1] (data.scaling: unit). CV95 writes (u.v + 1)^4 and
             does not give its input scaling; gamma = svm.gamma, or with 0 the value 1 / (d var(x))
             of the training pixels (scikit-learn's gamma="scale": 1/(784 x 0.0952) = 0.0134 on MNIST),
             which puts a typical digit's gamma u.u near 1, where the four powers of the kernel all
             matter. The value used is recorded in the summary (gamma).
    classes  libsvm's one-vs-one: 45 machines, machine (i, j) trained on classes i and j only, its
             decision value o_ij positive for i. CV95 trained ten one-vs-rest machines
             (docs/deviations.md). Class scores: s_i = min_j o_ij (o_ji = -o_ij), each class's
             weakest pairwise decision. A class that wins all 9 of its machines (libsvm's vote then
             picks it with 9 votes) is the only one with s_i > 0, so argmax is the vote whenever a
             class beats every other; without such a class (a cycle) argmax is the class whose worst
             defeat is mildest (libsvm's predict takes the most votes, ties to the lower class).
             svm.machines: ovr trains CV95's ten one-vs-rest machines instead (ovr.py), whose outputs
             are the class scores.
             Fig. 10's top-two margin is then how clearly the winner beats its closest rival. (Vote
             counts make a poor margin: the gap between the top two vote counts grows when the
             other classes are confused among themselves, and the clipped or squashed sums of
             decision values added to them saturate: our first two scores rejected 93% and 99.8%
             of the test set to reach 0.5% error.)
    C        svm.C, chosen on the validation split (experiments/configs/validation/fig9/val-svm-*).
    virtual  svm.virtual: shift1 is Fig. 9's "[dist] V-SVM": a second fit on the first machine's
             support vectors and their 4 one-pixel shifts (virtual.py), with the first fit's gamma.
    readout  svm.readout: sum scores class i by S_i = sum_j o_ij instead (ovo_sums): one kernel
             expansion per class, the form reduced.py's reduced set ("RS-SVM") approximates.

Scoring does not go through libsvm: decision values are computed here from the support vectors and
libsvm's dual coefficients (one matrix product per chunk; `decision_values`), which a test checks
against scikit-learn's own decision_function. Cost (Figs. 11-12), counted from the fitted machine:
each support vector is one 784-MAC dot product, 2 multiplies for the 4th power and one MAC in each of
the 9 machines it belongs to; memory = its 784 pixels and 9 coefficients, plus 45 biases. One-vs-rest
counts each distinct support vector's dot product and power once, one MAC per nonzero coefficient
(a vector shared by several machines has one in each) and 10 biases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch

from ..core.model import in_batches
from ..core.registry import bounded, fig9_row, preprocess_tag
from ..errors import ConfigError, UserError
from ..paper import CLASSES
from .base import FittedModel, train_subset
from .least_squares import PAIRS
from .ovr import ovr_fit
from .virtual import image_side, shift1

CHUNK = 2000  # test images per kernel block (2,000 x 20,000 support vectors: 160 MB in float32)


@dataclass
class SVMConfig:
    """svm: libsvm's SVC with the kernel (gamma u.v + coef0)^degree, one-vs-one or one-vs-rest. Registered
    with its reduced set in reduced.py (model.arch svm: SVM poly 4, [dist] V-SVM poly 9, RS-SVM poly 5)."""

    degree: int = bounded(4, low=1)  # CV95's (u.v + 1)^4
    coef0: float = 1.0
    gamma: float = 0.0  # 0: 1 / (d var(x)) of the training pixels (scikit-learn's "scale")
    C: float = 10.0  # chosen on the validation split
    tol: float = 1e-3  # libsvm's stopping tolerance (its default)
    cache_mb: int = 1000  # libsvm's kernel cache
    virtual: Literal["none", "shift1"] = (
        "none"  # shift1: refit on the support vectors + their 4 one-pixel shifts (virtual.py)
    )
    machines: Literal["ovo", "ovr"] = "ovo"  # libsvm's 45 one-vs-one, or CV95's 10 one-vs-rest (ovr.py)
    jobs: int = bounded(1, low=1)  # machines: ovr: machines fitted side by side (processes)
    readout: Literal["min", "sum"] = (
        "min"  # one-vs-one's class score from the 45 machines: min_j o_ij or sum_j o_ij
    )
    reduced: int = bounded(0, low=0)  # > 0: Burges' reduced set, this many vectors per expansion (reduced.py)
    rs_iters: int = bounded(100, low=1)  # L-BFGS iterations of the reduced-set optimisation, per expansion


def svm_check(sec, where: str = "") -> None:
    if sec.machines == "ovr" and sec.readout != "min":
        raise ConfigError(
            f"{where}svm.readout: {sec.readout} reads one-vs-one machines; with svm.machines: ovr "
            "the ten machines' outputs are the class scores (leave svm.readout out)"
        )


def svm_row(cfg):
    s = cfg.svm
    if s.reduced:  # the reduced set of a (virtual-SV) machine
        return fig9_row(f"RS-SVM poly {s.degree}")
    if s.virtual != "none":
        return fig9_row(f"[dist] V-SVM poly {s.degree}")
    return fig9_row(f"{preprocess_tag(cfg)}SVM poly {s.degree}")


def gamma_of(x: torch.Tensor, gamma: float) -> float:
    """svm.gamma, or with 0 scikit-learn's "scale": 1 / (d var(x)) over every pixel of x."""
    if gamma > 0:
        return float(gamma)
    return float(1.0 / (x.shape[1] * x.to(torch.float64).var(unbiased=False)))


def pair_coefficients(dual: torch.Tensor, n_support: list[int]) -> torch.Tensor:
    """(n_SV, 45) coefficient of each support vector in each one-vs-one machine, from libsvm's
    dual_coef_ (classes-1, n_SV): support vectors are grouped by class; for machine (i, j) a vector of
    class i has coefficient dual[j-1, sv] and one of class j has dual[i, sv]; the rest are 0."""
    start = [0]
    for n in n_support:
        start.append(start[-1] + n)
    out = torch.zeros(dual.shape[1], len(PAIRS), dtype=dual.dtype)
    for u, (i, j) in enumerate(PAIRS.tolist()):
        out[start[i] : start[i + 1], u] = dual[j - 1, start[i] : start[i + 1]]
        out[start[j] : start[j + 1], u] = dual[i, start[j] : start[j + 1]]
    return out


def decision_values(x, sv, coef, intercept, gamma: float, coef0: float, degree: int) -> torch.Tensor:
    """(N, 45) o_ij = sum_s coef[s, ij] (gamma x.sv_s + coef0)^degree + intercept_ij (float64 sums)."""
    k = (x.to(torch.float32) @ sv.T).mul_(gamma).add_(coef0).to(torch.float64).pow_(degree)
    return k @ coef + intercept


def ovo_scores(o: torch.Tensor) -> torch.Tensor:
    """(N, 10) s_i = min_j o_ij from the 45 decision values o (N, 45), o_ij positive for i (module
    docstring)."""
    full = torch.zeros(len(o), CLASSES, CLASSES, dtype=o.dtype)
    full[:, PAIRS[:, 0], PAIRS[:, 1]] = o
    full[:, PAIRS[:, 1], PAIRS[:, 0]] = -o
    full[:, torch.arange(CLASSES), torch.arange(CLASSES)] = float("inf")  # a class does not face itself
    return full.amin(2)


def sum_matrix() -> torch.Tensor:
    """(45, 10) M with o @ M = the summed readout S_c = sum_j o_cj (o_ji = -o_ij): +1 at (ij, i), -1 at (ij,
    j)."""
    m = torch.zeros(len(PAIRS), CLASSES, dtype=torch.float64)
    m[torch.arange(len(PAIRS)), PAIRS[:, 0]] = 1.0
    m[torch.arange(len(PAIRS)), PAIRS[:, 1]] = -1.0
    return m


def ovo_sums(o: torch.Tensor) -> torch.Tensor:
    """(N, 10) S_c = sum_j o_cj from the 45 decision values (readout sum: each class score is then one
    kernel expansion over the support vectors, the form the reduced set approximates: reduced.py)."""
    return o @ sum_matrix().to(o.dtype)


# class scores (N, 10) from a machine's decision values: one-vs-one's 45 read by min or sum, or the ten
# one-vs-rest machines' own outputs (svm.machines ovr, whose SVM has readout "classes")
READOUTS = {"min": ovo_scores, "sum": ovo_sums, "classes": lambda o: o}


class SVM(FittedModel):
    """A fitted SVM: support vectors, their coefficients in each machine (45 one-vs-one, or 10 one-vs-rest:
    ovr.py) and the machines' biases."""

    def __init__(self, sv, coef, intercept, gamma, coef0, degree, seed, metrics, summary, readout="min"):
        self.sv, self.coef, self.intercept, self.readout = sv.to(torch.float32), coef, intercept, readout
        self.gamma, self.coef0, self.degree, self.seed = gamma, coef0, degree, seed
        self.metrics, self.summary = metrics, summary

    def decision(self, x: torch.Tensor) -> torch.Tensor:
        return decision_values(
            x.reshape(len(x), -1), self.sv, self.coef, self.intercept, self.gamma, self.coef0, self.degree
        )

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return in_batches(lambda b: READOUTS[self.readout](self.decision(b)), x, CHUNK)

    def train_index(self, n: int) -> torch.Tensor:
        return train_subset(n, self.seed)


def svm_cost(n_sv: int, d: int, degree: int, coefs: int | None = None, biases: int = len(PAIRS)) -> dict:
    """Figs. 11-12 for n_sv support vectors of d pixels (module docstring); one-vs-rest (ovr.py) passes its
    nonzero coefficients (`coefs`, default 9 per vector) and its 10 biases."""
    powers = max(
        1, degree.bit_length() + bin(degree).count("1") - 2
    )  # u^degree by squaring: 4: 2, 5: 3, 9: 4
    coefs = n_sv * (CLASSES - 1) if coefs is None else coefs
    return {"macs": n_sv * (d + powers) + coefs, "memory": n_sv * d + coefs + biases}


def libsvm_fit(sec, x, y, gamma: float, log=print) -> dict:
    """libsvm's SVC with the svm: section's kernel on (x (N, d) float, y): {"sv", "coef" (n_SV, 45),
    "intercept" (45,), "n_support" (per class), "labels" (of the support vectors), "seconds"}."""
    try:
        from sklearn.svm import SVC  # optional: pip install -e '.[svm]'
    except ImportError:
        raise UserError("model.arch svm needs scikit-learn: pip install -e '.[svm]'") from None
    log(
        f"  SVC poly {sec.degree} on {len(x)}: gamma {gamma:.6g}, coef0 {sec.coef0}, C {sec.C}, cache "
        f"{sec.cache_mb} MB"
    )
    t0 = time.time()
    m = SVC(
        kernel="poly",
        degree=sec.degree,
        gamma=gamma,
        coef0=sec.coef0,
        C=sec.C,
        cache_size=sec.cache_mb,
        decision_function_shape="ovo",
        tol=sec.tol,
    ).fit(x.to(torch.float64).numpy(), y.numpy())
    seconds = time.time() - t0
    if list(m.classes_) != list(range(CLASSES)):
        raise UserError(f"svm: every class 0..9 needs a training sample (got {list(m.classes_)})")
    n_support = [int(n) for n in m.n_support_]
    log(f"  {sum(n_support)} support vectors {n_support} in {seconds:.0f}s")
    return {
        "sv": torch.from_numpy(m.support_vectors_),
        "n_support": n_support,
        "seconds": seconds,
        "coef": pair_coefficients(torch.from_numpy(m.dual_coef_), n_support),
        "intercept": torch.from_numpy(m.intercept_),
        "labels": y[torch.from_numpy(m.support_)],
    }


def fit_svm(cfg, x, y, log=print) -> SVM:
    """libsvm's SVC on (x, y) with the config's svm: section (with virtual: shift1, a second fit on the
    first one's support vectors and their 4 one-pixel shifts: virtual.py); the summary records the
    support vectors (per class and in all, beside CV95's 18,162), gamma, each fit's time and the cost."""
    sec = cfg.svm
    x = x.reshape(len(x), -1)
    gamma = gamma_of(x, sec.gamma)  # of the training pixels, kept for the second fit
    extra, ovr = {}, sec.machines == "ovr"
    if ovr:  # CV95's ten one-vs-rest machines, each with its own virtual refit (ovr.py)
        fit = ovr_fit(sec, x, y, gamma, log)
        extra = fit["extra"]
    else:
        fit = libsvm_fit(sec, x, y, gamma, log)
    if sec.virtual == "shift1" and not ovr:
        vx, vy = shift1(fit["sv"].to(x.dtype), fit["labels"], image_side(x.shape[1]))
        extra = {
            "first_support_vectors": len(fit["sv"]),
            "first_support_per_class": fit["n_support"],
            "first_fit_seconds": round(fit["seconds"], 1),
            "virtual_training_set": len(vx),
        }
        log(f"  virtual support vectors: {len(fit['sv'])} and their 4 one-pixel shifts, {len(vx)} images")
        fit = libsvm_fit(sec, vx, vy, gamma, log)
        extra["svc_fit_seconds_total"] = round(extra["first_fit_seconds"] + fit["seconds"], 1)
    sv = fit["sv"]
    if ovr:  # each distinct vector's dot product once, one MAC per nonzero coefficient, 10 biases
        cost = svm_cost(len(sv), x.shape[1], sec.degree, int((fit["coef"] != 0).sum()), CLASSES)
    else:
        cost = svm_cost(len(sv), x.shape[1], sec.degree)
    summary = {
        "support_vectors": len(sv),
        ("support_per_machine" if ovr else "support_per_class"): fit["n_support"],
        "gamma": gamma,
        "svc_fit_seconds": round(fit["seconds"], 1),
        **extra,
        **cost,
    }
    return SVM(
        sv,
        fit["coef"],
        fit["intercept"],
        gamma,
        sec.coef0,
        sec.degree,
        cfg.seed,
        {"support_vectors": len(sv), "gamma": gamma},
        summary,
        "classes" if ovr else sec.readout,
    )
