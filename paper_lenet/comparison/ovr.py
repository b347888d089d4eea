"""svm.machines: ovr, CV95's own multi-class scheme (Sec. 6.2): ten one-vs-rest machines, machine c
trained on every image with target +1 for class c and -1 for the nine others; the class is the
largest output f_c(x) = sum_s a_cs K(sv_s, x) + b_c. Each f_c is then one kernel expansion, the form
Burges' reduced set approximates (reduced.py reduces the ten machines directly).

    virtual  with svm.virtual: shift1 each machine is refitted on its own support vectors and their 4
             one-pixel shifts (Schölkopf, Burges & Vapnik 1996 did this per binary machine), each
             keeping its +-1 target; a machine's support vectors are then virtual images.
    sharing  an image that is a support vector of several machines is stored and multiplied once:
             the union of the machines' support vectors (exact duplicates merged) carries a (n, 10)
             coefficient matrix, zero where a vector is not one of that machine's.
    counts   support_per_machine is CV95's count (its 18,162 is the sum over the ten machines, with
             repeats); support_vectors is the union's size, which the cost counts (svm.svm_cost).
    jobs     svm.jobs machines are fitted side by side in separate processes (joblib, which comes
             with scikit-learn), the issue's "parallelism across the machines".
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..errors import UserError
from ..paper import CLASSES
from .virtual import image_side, shift1


def binary_fit(x: np.ndarray, t: np.ndarray, sec_kw: dict, gamma: float, side: int) -> dict:
    """One machine: libsvm's SVC on (x, t) with t in {-1, +1}, refitted on its support vectors and their
    one-pixel shifts when side > 0. Returns {"sv" (n, d), "a" (n,), "b", "first", "seconds"}:
    f(x) = a . K(sv, x) + b, positive for t = +1 (scikit-learn's sign for classes_[1])."""
    from sklearn.svm import SVC  # optional extra; svm.py checked it can be imported

    def fit(px, pt):
        m = SVC(kernel="poly", gamma=gamma, **sec_kw).fit(px, pt)
        return m, px[m.support_], pt[m.support_]

    t0 = time.time()
    m, sv, st = fit(x, t)
    first = len(sv)
    if side:
        vx, vt = shift1(torch.from_numpy(sv), torch.from_numpy(st), side)
        m, sv, st = fit(vx.numpy(), vt.numpy())
    return {
        "sv": sv,
        "a": m.dual_coef_[0].copy(),
        "b": float(m.intercept_[0]),
        "first": first,
        "seconds": time.time() - t0,
    }


def merge(fits: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sv (n, d), coef (n, K), intercept (K,)) for K machines' fits: the union of their support vectors,
    exact duplicates merged, each machine's coefficients in its own column."""
    allsv = torch.from_numpy(np.concatenate([f["sv"] for f in fits]))
    sv, inverse = torch.unique(allsv, dim=0, return_inverse=True)
    coef = torch.zeros(len(sv), len(fits), dtype=torch.float64)
    col = torch.cat([torch.full((len(f["sv"]),), c) for c, f in enumerate(fits)])
    coef.index_put_((inverse, col), torch.from_numpy(np.concatenate([f["a"] for f in fits])), accumulate=True)
    return sv, coef, torch.tensor([f["b"] for f in fits], dtype=torch.float64)


def ovr_fit(sec, x: torch.Tensor, y: torch.Tensor, gamma: float, log=print) -> dict:
    """The ten one-vs-rest machines (module docstring): {"sv", "coef" (n, 10), "intercept" (10,),
    "n_support" (per machine), "seconds", "extra"} in svm.libsvm_fit's form."""
    try:
        from joblib import Parallel, delayed  # comes with scikit-learn
    except ImportError:
        raise UserError("model.arch svm needs scikit-learn: pip install -e '.[svm]'") from None
    missing = sorted(set(range(CLASSES)) - set(y.tolist()))
    if missing:
        raise UserError(f"svm: every class 0..9 needs a training sample (missing {missing})")
    side = image_side(x.shape[1]) if sec.virtual == "shift1" else 0
    kw = {"degree": sec.degree, "coef0": sec.coef0, "C": sec.C, "cache_size": sec.cache_mb, "tol": sec.tol}
    log(
        f"  10 one-vs-rest SVCs poly {sec.degree} on {len(x)}: gamma {gamma:.6g}, coef0 {sec.coef0}, C "
        f"{sec.C}, "
        f"{sec.jobs} side by side" + (", each refitted on its virtual support vectors" if side else "")
    )
    xs = x.to(torch.float64).numpy()
    t0 = time.time()
    fits = Parallel(n_jobs=sec.jobs)(
        delayed(binary_fit)(xs, np.where(y.numpy() == c, 1.0, -1.0), kw, gamma, side) for c in range(CLASSES)
    )
    seconds = time.time() - t0
    sv, coef, intercept = merge(fits)
    per = [len(f["sv"]) for f in fits]
    log(f"  support vectors per machine {per} ({sum(per)} in all, {len(sv)} distinct) in {seconds:.0f}s")
    extra = {
        "support_per_machine_sum": sum(per),
        "machine_fit_seconds": [round(f["seconds"], 1) for f in fits],
    }
    if side:
        extra["first_support_per_class"] = [f["first"] for f in fits]
        extra["first_support_vectors"] = sum(f["first"] for f in fits)
    return {
        "sv": sv,
        "coef": coef,
        "intercept": intercept,
        "n_support": per,
        "seconds": seconds,
        "extra": extra,
    }
