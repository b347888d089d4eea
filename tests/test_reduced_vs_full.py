"""RS-SVM (paper_lenet/comparison/reduced.py): the reduced machine against the machine it approximates
(issue 35): its scores within the feature-space distance of the unreduced ones on held-out points, its
decisions at full size, its biases, the documented start rule (the terms of largest |a_s| sqrt(K(s, s))),
and the search's objective against its bounds. Machines are built by hand: no libsvm needed."""

from __future__ import annotations

import math
import time

import pytest
import torch
from test_reduced import HAS_SKLEARN, cfg_of, phi2

from paper_lenet.comparison import reduced, svm, virtual

# ---------------------------------------------------------------------------------------------
# the reduced machine against the machine it approximates, on held-out points (issue 35). A kernel
# expansion e(x) = Psi . phi(x) + bias and its reduced set e'(x) = Psi' . phi(x) + bias' differ by
# (Psi - Psi') . phi(x) + (bias - bias'), and by Cauchy-Schwarz |(Psi - Psi') . phi(x)| <=
# |Psi - Psi'| sqrt(K(x, x)): with the biases carried over, every score is within that of the unreduced
# one. The machines are built by hand (fit_svm replaced), so no libsvm is needed and the sizes are known.


def constructed(readout: str, seed: int = 0, bias_scale: float = 20.0) -> svm.SVM:
    """A machine on 20 vectors of 5 pixels (2 per class), kernel (0.5 u.v + 1)^3: one-vs-one with libsvm's
    coefficient layout (machine (i, j) has the 4 vectors of classes i and j: pair_coefficients) read out by
    `readout`, or ("classes") ten dense one-vs-rest machines. Biases of the size of the kernel sums."""
    gen = torch.Generator().manual_seed(seed)
    sv = torch.rand(20, 5, generator=gen)
    if readout == "classes":
        coef = torch.randn(20, 10, generator=gen, dtype=torch.float64)
        coef[::3] = coef[::3].sign()  # bounded support vectors: |a| = C = 1 exactly, as libsvm gives them
    else:
        coef = svm.pair_coefficients(torch.randn(9, 20, generator=gen, dtype=torch.float64), [2] * 10)
    intercept = bias_scale * torch.randn(coef.shape[1], generator=gen, dtype=torch.float64)
    return svm.SVM(sv, coef, intercept, 0.5, 1.0, 3, 0, {}, svm.svm_cost(20, 5, 3), readout)


def reduce_by_hand(monkeypatch, full: svm.SVM, m: int, iters: int) -> reduced.ReducedSVM:
    monkeypatch.setattr(reduced, "fit_svm", lambda cfg, x, y, log=print: full)
    readout = "sum" if full.readout == "classes" else full.readout  # svm.readout of a one-vs-one config
    cfg = cfg_of(degree=full.degree, readout=readout, reduced=m, rs_iters=iters)
    return reduced.fit_reduced(
        cfg, torch.zeros(1, full.sv.shape[1]), None, log=lambda s: None
    )  # x: its size only


def unreduced_expansions(full: svm.SVM) -> tuple[torch.Tensor, callable]:
    """(coefficients (n_SV, E), x -> (N, E) values): the expansions the reduced set approximates, from
    the unreduced machine: the 10 class sums S_c = sum_j o_cj (svm.sum_matrix), the 45 one-vs-one
    machines, or the ten one-vs-rest machines."""
    if full.readout == "sum":
        return full.coef @ svm.sum_matrix(), lambda x: svm.ovo_sums(full.decision(x))
    return full.coef, full.decision


def assert_within_the_feature_space_distance(r: reduced.ReducedSVM, q: torch.Tensor) -> torch.Tensor:
    """Checks r.scores against the unreduced machine's on q (the Cauchy-Schwarz bound above); returns
    the gap |e - e'| (N, E) allowed."""
    full = r.full
    a, values = unreduced_expansions(full)

    def kern(p, s):
        return reduced.poly_kernel(p, s, full.gamma, full.coef0, full.degree)

    sv, q64 = full.sv.to(torch.float64), q.to(torch.float64)
    gap = torch.zeros(len(q), a.shape[1], dtype=torch.float64)
    for e in range(a.shape[1]):
        norm2 = a[:, e] @ kern(sv, sv) @ a[:, e]  # float64 throughout: the distance's cancellation is
        dist2 = reduced.rs_distance(r.z[e], r.b[e], sv, a[:, e], kern, norm2)  # ~1e-16 of |Psi|^2
        # unreduced decision values take float32 dot products (svm.decision_values): each kernel value
        # ~1e-6 relative after the cube, so 1e-5 of the sum of the terms' sizes is a safe margin
        gap[:, e] = dist2.clamp(min=0).sqrt() * kern(q64, q64).diagonal().sqrt() + 1e-5 * (
            kern(q64, sv) @ a[:, e].abs()
        )
    want, got = svm.READOUTS[r.readout](values(q)), r.scores(q)
    if r.readout == "min":  # s_i = min_j o_ij moves by at most the largest change of an o_ij
        gap = gap.amax(1, keepdim=True).expand(-1, 10)
    assert (got - want).abs().le(gap).all(), float(((got - want).abs() - gap).max())
    return gap


@pytest.mark.parametrize("readout, m", [("sum", 6), ("min", 2), ("classes", 6)])
def test_reduced_scores_are_within_the_feature_space_distance_of_the_unreduced(monkeypatch, readout, m):
    full = constructed(readout)
    r = reduce_by_hand(monkeypatch, full, m, 5)
    q = torch.rand(200, 5, generator=torch.Generator().manual_seed(9))  # held out: not the vectors
    gap = assert_within_the_feature_space_distance(r, q)
    if readout != "min":  # the check has teeth: without its bias, some class score would be off by
        biases = full.intercept @ svm.sum_matrix() if readout == "sum" else full.intercept  # more than
        assert (biases.abs() > 2 * gap.amax(0)).any()  # |bias| - gap, beyond the gap allowed


@pytest.mark.parametrize("readout, m", [("sum", 20), ("min", 4), ("classes", 20)])
def test_at_full_size_the_reduced_machine_decides_as_the_unreduced(monkeypatch, readout, m):
    """As many reduced vectors as each expansion has support vectors: the start is the expansion itself
    (distance 0), so the reduced machine is the unreduced one up to rounding, and every decision agrees."""
    full = constructed(readout, seed=1)
    r = reduce_by_hand(monkeypatch, full, m, 3)
    # the reported distances divide by |Psi|^2 from float32 dot products (expansion_norm2): ~1e-6 relative
    assert all(before < 1e-5 and after < 1e-5 for before, after in r.summary["rs_relative_distance"])
    q = torch.rand(500, 5, generator=torch.Generator().manual_seed(10))
    gap = assert_within_the_feature_space_distance(r, q)
    want = svm.READOUTS[r.readout](unreduced_expansions(full)[1](q))
    top2 = want.topk(2, dim=1).values
    clear = top2[:, 0] - top2[:, 1] > 2 * gap.amax(1)  # a decision no rounding within the gap can flip
    assert clear.float().mean() > 0.9  # (nearly all: the gap is a small fraction of the score spread)
    assert torch.equal(r.scores(q).argmax(1)[clear], want.argmax(1)[clear])


def test_the_biases_reach_the_reduced_scores(monkeypatch):
    """Moving the 45 one-vs-one biases by delta moves the sum readout's class scores by delta's sums,
    the reduced machine's as the unreduced machine's; the reduced vectors (fitted to the expansions,
    which carry no bias) stay the same."""
    q = torch.rand(50, 5, generator=torch.Generator().manual_seed(11))
    base, moved = constructed("sum", seed=2), constructed("sum", seed=2)
    delta = torch.linspace(-30, 30, 45, dtype=torch.float64)
    moved.intercept = base.intercept + delta
    r0, r1 = reduce_by_hand(monkeypatch, base, 5, 10), reduce_by_hand(monkeypatch, moved, 5, 10)
    assert torch.equal(r0.z, r1.z) and torch.equal(r0.b, r1.b)
    shift = svm.ovo_sums(moved.decision(q)) - svm.ovo_sums(base.decision(q))  # delta's class sums
    assert shift.abs().min() > 1.0  # every class moves
    # the same float64 additions of the same biases on both sides: rounding only
    assert torch.allclose(r1.scores(q) - r0.scores(q), shift, rtol=1e-9, atol=1e-9)


GAMMA2, COEF0 = 0.7, 1.0  # the kernel (0.7 u.v + 1)^2 of phi2, for the start-set tests


def known_terms() -> tuple[torch.Tensor, torch.Tensor]:
    """(sv (6, 4), a (6,)): six terms a_s phi(sv_s) of lengths 4, 3, 2, 1.5, 1.25, 1 in feature space
    (float32 vectors, as svm.SVM keeps them), signs alternating, and norms chosen so that neither |a_s|
    nor K(s, s) alone nor the signed a_s ranks them so: the top 3 by |a_s| sqrt(K(s, s)) are {0, 1, 2},
    by signed a_s sqrt(K(s, s)) {0, 2, 4}, by |a_s| {1, 2, 4}, by K(s, s) {0, 1, 3}."""
    lengths = torch.tensor([4.0, 3.0, 2.0, 1.5, 1.25, 1.0], dtype=torch.float64)
    signs = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    t = torch.tensor(
        [8.0, 1.5, 1.2, 3.0, 1.1, 1.3], dtype=torch.float64
    )  # sqrt K(s, s) = gamma |s|^2 + coef0
    dirs = torch.nn.functional.normalize(
        torch.randn(6, 4, generator=torch.Generator().manual_seed(12), dtype=torch.float64), dim=1
    )
    sv = (dirs * ((t - COEF0) / GAMMA2).sqrt()[:, None]).float().double()
    a = signs * lengths / phi2(sv, GAMMA2, COEF0).norm(dim=1)  # |phi(s)| = sqrt K(s, s), explicitly
    # the terms are as built, to float32's rounding of the vectors
    assert torch.allclose((a[:, None] * phi2(sv, GAMMA2, COEF0)).norm(dim=1), lengths, rtol=1e-12)
    assert torch.allclose(phi2(sv, GAMMA2, COEF0).norm(dim=1), t, rtol=1e-6)
    return sv, a


def kern2(p, q):
    return reduced.poly_kernel(p, q, GAMMA2, COEF0, 2)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_the_search_starts_from_the_largest_terms_of_the_expansion(m):
    """The documented start (module docstring, docs/deviations.md): the m support vectors of largest
    |a_s| sqrt(K(s, s)), each term's length |a_s phi(s)| in feature space (known_terms)."""
    sv, a = known_terms()
    starts = []

    def cross(z):  # K(Z, S) during the search: its first call sees the start set
        starts.append(z.detach().clone())
        return kern2(z, sv)

    norm2 = float(a @ kern2(sv, sv) @ a)
    _, _, before, _ = reduced.reduce_expansion(
        sv, a, m, kern2, 1, norm2, kern2(sv, sv).diagonal(), lambda s: None, cross
    )
    want = list(range(m))  # the m longest terms are the first m vectors, by construction
    assert torch.equal(starts[0].sort(0).values, sv[want].sort(0).values)  # those vectors, unmoved
    # `before` is that start's distance: Psi's least-squares fit by phi(sv_s) of those s, explicitly
    feats = phi2(sv, GAMMA2, COEF0)
    psi = a @ feats
    fit = feats[want].T @ torch.linalg.lstsq(feats[want].T, psi[:, None]).solution[:, 0]
    # the search's solve has a 1e-12 jitter and the kernel form cancels terms of size |Psi|^2: 1e-9
    assert math.isclose(before, float((psi - fit).square().sum()) / norm2, rel_tol=1e-9, abs_tol=1e-9)


def test_fit_reduced_starts_each_expansion_from_its_largest_terms_and_reports_the_fit(monkeypatch):
    """fit_reduced ranks each expansion's vectors by its own |a_s| and K(s, s): ten one-vs-rest machines
    on known_terms' vectors, machine e's coefficients (1 + e) (-1)^e a (the same order of term lengths,
    the signs flipped in every other machine), two vectors each, their start seen through cross()."""
    sv, a = known_terms()
    coef = torch.stack([(1 + e) * (-1) ** e * a for e in range(10)], 1)
    summary = {"support_vectors": 6, "gamma": GAMMA2, **svm.svm_cost(6, 4, 2, coefs=60, biases=10)}
    full = svm.SVM(
        sv, coef, torch.zeros(10, dtype=torch.float64), GAMMA2, COEF0, 2, 0, {}, summary, "classes"
    )
    starts, original = [], reduced.reduce_expansion

    def recording(sv_e, a_e, m, kern, iters, norm2, kdiag, log=print, cross=None):
        seen = []
        out = original(
            sv_e,
            a_e,
            m,
            kern,
            iters,
            norm2,
            kdiag,
            log,
            lambda z: seen.append(z.detach().clone()) or (cross or (lambda q: kern(q, sv_e)))(z),
        )
        starts.append(seen[0])
        return out

    monkeypatch.setattr(reduced, "reduce_expansion", recording)
    t0 = time.time()
    r = reduce_by_hand(monkeypatch, full, 2, 2)  # the top 2 by |a_s| K(s, s)^(1/4) or |a_s| are {1, 2}
    elapsed = time.time() - t0
    assert len(starts) == 10
    for e, z in enumerate(starts):
        assert torch.equal(z.sort(0).values, sv[:2].sort(0).values), e
    # the summary: the unreduced machine's facts kept, the reduced set's added
    assert r.metrics == {"support_vectors": 6, "reduced_vectors": 20} and r.summary["reduced_vectors"] == 20
    assert r.summary["support_vectors"] == 6 and r.summary["gamma"] == GAMMA2
    assert r.summary["unreduced_macs"] == summary["macs"] and r.summary["macs"] == 10 * 2 * (4 + 1 + 1)
    assert 0 <= r.summary["rs_seconds"] <= elapsed + 0.05  # the search's own time, rounded to 0.1 s
    # each expansion's reported relative distance before the search is its start's, and it went down
    for e, (before, after) in enumerate(r.summary["rs_relative_distance"]):
        feats = phi2(sv, GAMMA2, COEF0)
        psi = coef[:, e] @ feats
        fit = feats[:2].T @ torch.linalg.lstsq(feats[:2].T, psi[:, None]).solution[:, 0]
        # rounded to 6 decimals; |Psi|^2 from float32 dot products (expansion_norm2): ~1e-6 relative
        assert math.isclose(before, float((psi - fit).square().sum() / psi.square().sum()), abs_tol=2e-6), e
        assert after <= before


def relative_residual(feats: torch.Tensor, psi: torch.Tensor) -> float:
    """|Psi - P Psi|^2 / |Psi|^2, P the projection onto the span of the rows of feats (explicit features):
    the distance of the best fit of Psi by those vectors (SVD least squares, gelsd)."""
    fit = feats.T @ torch.linalg.lstsq(feats.T, psi[:, None], driver="gelsd").solution[:, 0]
    return float((psi - fit).square().sum() / psi.square().sum())


@pytest.mark.parametrize("gamma", [1e-5, 1.0, 1e5])
def test_the_searchs_distance_does_not_depend_on_the_kernels_scale(gamma):
    """|Psi - Psi'|^2 / |Psi|^2 is a ratio in one feature space: with coef0 0, (gamma u.v)^2 = gamma^2 (u.v)^2
    scales phi, Psi and every fit of Psi by gamma alike, so the start's distance is the same whether the
    kernel's values are about 1e-10, 1 or 1e10 (a small gamma with coef0 0, or large raw pixel values), and
    it is the explicit feature space's. Whatever keeps the search's solve defined has to scale with K."""
    sv, a = known_terms()

    def kern(p, q):
        return reduced.poly_kernel(p, q, gamma, 0.0, 2)

    starts = []

    def cross(z):  # K(Z, S) during the search: its first call sees the start set
        starts.append(z.detach().clone())
        return kern(z, sv)

    k = kern(sv, sv)  # K(s, s) = gamma^2 |s|^4, |s|^2 from 0.14 to 10: about gamma^2 / 50 to 100 gamma^2
    assert 1e-3 < float(k.diagonal().min()) / gamma**2 and float(k.diagonal().max()) / gamma**2 < 1e3
    norm2 = float(a @ k @ a)
    _, _, before, _ = reduced.reduce_expansion(sv, a, 3, kern, 1, norm2, k.diagonal(), lambda s: None, cross)
    want = relative_residual(phi2(starts[0], gamma, 0.0), a @ phi2(sv, gamma, 0.0))
    assert 0.001 < want < 0.1  # a fit that is neither exact nor empty, so the comparison has teeth
    # the solve's 1e-12 regulariser (relative to K's diagonal) moves the distance by about 1e-12 times
    # K(Z, Z)'s condition number (~200 here): 6e-12 measured at every gamma. 1e-9 absolute is far above
    # that and float64 rounding; a regulariser out of scale with K moves it by up to the whole of |Psi|^2
    assert math.isclose(before, want, rel_tol=0, abs_tol=1e-9)


def test_nearly_coinciding_start_vectors_give_a_distance_between_the_two_vector_and_one_vector_fits():
    """Two support vectors that nearly coincide (near-identical digits, or z_j that the search draws
    together) are the two largest terms, so the search starts from both. As they close in, K(Z, Z) goes
    from well conditioned to singular, through the 1e-12 regulariser of the search's solve. Whatever the
    regulariser does, the search's objective must stay a distance from Psi to a point of the span of
    phi(z_1), phi(z_2): no smaller than the exact projection's (the best two-vector fit) and no larger than
    the better one-vector fit's (b = (b_1, 0) is one of the candidates). Else the search could be drawn to
    nearly singular sets by an objective below the true distance, or reject them above it."""
    gen = torch.Generator().manual_seed(13)
    base = torch.rand(5, 4, generator=gen, dtype=torch.float64)  # float64: separations below float32's
    u = torch.nn.functional.normalize(torch.randn(4, generator=gen, dtype=torch.float64), dim=0)
    a = torch.tensor([3.0, -2.0, 0.8, -0.6, 0.5, -0.4], dtype=torch.float64)
    smallest = []
    for k in range(1, 9):
        delta = 10.0**-k
        sv = torch.cat([base[:1], base[:1] + delta * u, base[1:]])  # vectors 0 and 1 are delta apart
        kss = kern2(sv, sv)
        assert sorted((a.abs() * kss.diagonal().sqrt()).topk(2).indices.tolist()) == [0, 1]  # the start
        eig = torch.linalg.eigvalsh(kss[:2, :2])
        smallest.append(float(eig[0] / kss.diagonal()[:2].mean()))
        feats, norm2 = phi2(sv, GAMMA2, COEF0), float(a @ kss @ a)
        psi = a @ feats
        best, one = (
            relative_residual(feats[:2], psi),
            min(relative_residual(feats[i : i + 1], psi) for i in (0, 1)),
        )
        _, _, before, _ = reduced.reduce_expansion(sv, a, 2, kern2, 1, norm2, kss.diagonal(), lambda s: None)
        # rounding: the solve's backward error (~1e-16 of K's entries) against a smallest eigenvalue near
        # the 1e-12 regulariser moves the near-null direction's share of the fit (one - best, 3.4e-3 here)
        # by up to ~1e-4 of itself, 3e-7; 1e-5 allows 30 times that. A regularised matrix that is not
        # positive definite puts the objective 1e-4 to 2e-3 outside these bounds at delta 1e-5 and 1e-6
        assert best - 1e-5 <= before <= one + 1e-5, (delta, best, before, one)
        assert one - best > 1e-3  # the two bounds are apart: the second vector adds to the fit
    assert smallest[0] > 1e-3 and smallest[-1] < 1e-14  # from well conditioned to below the regulariser


@pytest.mark.skipif(not HAS_SKLEARN, reason="needs the svm extra (scikit-learn)")
def test_virtual_and_reduced_fits_on_tiny_images():
    from sklearn.svm import SVC

    gen = torch.Generator().manual_seed(5)
    y = torch.arange(10).repeat_interleave(8)
    x = (torch.rand(10, 36, generator=gen)[y] + 0.3 * torch.randn(80, 36, generator=gen)).clamp(0, 1)  # 6x6
    quiet = lambda s: None  # noqa: E731
    v = svm.fit_svm(cfg_of(degree=3, virtual="shift1"), x, y, quiet)
    first = SVC(kernel="poly", degree=3, gamma=v.gamma, coef0=1.0, C=10.0).fit(x.double().numpy(), y.numpy())
    assert v.summary["first_support_vectors"] == len(first.support_)
    assert v.summary["virtual_training_set"] == 5 * len(first.support_)
    vx, vy = virtual.shift1(torch.from_numpy(first.support_vectors_), y[torch.from_numpy(first.support_)], 6)
    second = SVC(
        kernel="poly", degree=3, gamma=v.gamma, coef0=1.0, C=10.0, decision_function_shape="ovo"
    ).fit(vx.numpy(), vy.numpy())
    assert v.summary["support_vectors"] == len(second.support_)
    q = torch.rand(20, 36, generator=gen)
    # float32 dot products against libsvm's float64 ones
    assert torch.allclose(
        v.decision(q), torch.from_numpy(second.decision_function(q.double().numpy())), rtol=1e-4, atol=1e-4
    )
    r = reduced.fit_reduced(
        cfg_of(degree=3, virtual="shift1", readout="sum", reduced=4, rs_iters=5), x, y, quiet
    )
    assert r.z.shape == (10, 4, 36) and r.summary["reduced_vectors"] == 40
    assert r.summary["macs"] == 40 * (36 + 2 + 1)
    assert set(r.extra_scores) == {"unreduced_min", "unreduced_sum"}
    full = r.extra_scores["unreduced_sum"](q)
    assert torch.allclose(
        full, svm.ovo_sums(v.decision(q)), rtol=1e-6, atol=1e-6
    )  # the same machine refitted
    assert all(after <= before + 1e-12 for before, after in r.summary["rs_relative_distance"])
    assert_within_the_feature_space_distance(r, q)  # libsvm's own machine, reduced (below)
    # readout min: the 45 machines reduced, each over its own two classes' vectors, read out by min
    p = reduced.fit_reduced(
        cfg_of(degree=3, virtual="shift1", readout="min", reduced=2, rs_iters=3), x, y, quiet
    )
    assert p.z.shape == (45, 2, 36) and p.summary["macs"] == 90 * (36 + 2 + 1)
    dec = (reduced.poly_kernel(q, p.z.reshape(90, 36), v.gamma, 1.0, 3).reshape(20, 45, 2) * p.b).sum(
        2
    ) + p.bias
    assert torch.allclose(p.scores(q), svm.ovo_scores(dec))  # the same float64 computation, arranged apart
    assert_within_the_feature_space_distance(p, q)
