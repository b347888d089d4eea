"""[dist] V-SVM poly 9 and RS-SVM poly 5 (paper_lenet/comparison/virtual.py, reduced.py) against
independent computations on tiny inputs: the one-pixel shifts by hand, the reduced-set distance against
an explicit degree-2 feature map, the costs by hand. The libsvm parts skip without the svm extra."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from paper_lenet.comparison import reduced, svm, virtual
from paper_lenet.comparison.least_squares import PAIRS
from paper_lenet.comparison.svm import SVMConfig
from paper_lenet.config import Config, DataConfig, ModelConfig, load_config
from paper_lenet.core.registry import method
from paper_lenet.errors import ConfigError

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None


def test_shift_by_hand():
    img = torch.arange(1.0, 10.0).reshape(1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    up = [[4, 5, 6], [7, 8, 9], [0, 0, 0]]
    down = [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    left = [[2, 3, 0], [5, 6, 0], [8, 9, 0]]
    right = [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    x, y = virtual.shift1(img.reshape(1, 9), torch.tensor([7]), 3)
    assert x.shape == (5, 9) and y.tolist() == [7] * 5
    for got, want in zip(x.reshape(5, 3, 3), [img[0].tolist(), up, down, left, right], strict=False):
        assert got.tolist() == want  # exact: shifts copy values
    assert virtual.shift(img, 1, 0, background=-0.5)[0, 0].tolist() == [-0.5] * 3  # the row let in


def test_shift1_keeps_each_image_with_its_label():
    x = torch.rand(4, 16, generator=torch.Generator().manual_seed(0))
    vx, vy = virtual.shift1(x, torch.tensor([0, 1, 2, 3]), 4)
    assert vx.shape == (20, 16) and vy.tolist() == [0, 1, 2, 3] * 5
    # copy k of image n (block k) is image n moved: compare one pixel per shift against the original
    img, v = x.reshape(4, 4, 4), vx.reshape(5, 4, 4, 4)
    for k, (dy, dx) in enumerate(virtual.SHIFTS, start=1):
        assert torch.equal(v[k, :, 1 + dy, 1 + dx], img[:, 1, 1])


def phi2(u, gamma, coef0):
    """Explicit feature map of (gamma u.v + coef0)^2: [gamma u_i u_j (all i, j), sqrt(2 gamma coef0) u_i,
    coef0]."""
    outer = gamma * (u[:, :, None] * u[:, None, :]).reshape(len(u), -1)
    return torch.cat(
        [outer, math.sqrt(2 * gamma * coef0) * u, torch.full((len(u), 1), coef0, dtype=u.dtype)], 1
    )


@pytest.fixture
def tiny():
    gen = torch.Generator().manual_seed(3)
    sv = torch.rand(7, 4, generator=gen, dtype=torch.float64)
    a = torch.randn(7, generator=gen, dtype=torch.float64)
    z = torch.rand(3, 4, generator=gen, dtype=torch.float64)
    b = torch.randn(3, generator=gen, dtype=torch.float64)

    def kern(p, q):
        return reduced.poly_kernel(p, q, 0.7, 1.0, 2)

    return sv, a, z, b, kern


def test_kernel_is_the_feature_space_dot_product(tiny):
    sv, _, z, _, kern = tiny
    # float64 sums of <= 21 terms of size ~1: 1e-12 is far above rounding, far below any formula slip
    assert torch.allclose(kern(sv, z), phi2(sv, 0.7, 1.0) @ phi2(z, 0.7, 1.0).T, rtol=1e-12, atol=1e-12)


def test_rs_distance_against_the_explicit_feature_space(tiny):
    sv, a, z, b, kern = tiny
    psi, psi_r = a @ phi2(sv, 0.7, 1.0), b @ phi2(z, 0.7, 1.0)
    norm2 = float(a @ kern(sv, sv) @ a)
    assert math.isclose(norm2, float(psi @ psi), rel_tol=1e-12)  # float64, ~50 terms
    # expansion_norm2's dot products are float32 (relative ~1e-7 each, ~1e-6 after the square and sums)
    assert math.isclose(float(reduced.expansion_norm2(sv, a[:, None], 0.7, 1.0, 2)[0]), norm2, rel_tol=1e-5)
    brute = float(((psi - psi_r) ** 2).sum())
    ours = float(reduced.rs_distance(z, b, sv, a, kern, norm2))
    # the kernel form subtracts terms of size |Psi|^2: allow 1e-10 of that, far above float64 rounding
    assert math.isclose(ours, brute, rel_tol=1e-9, abs_tol=1e-10 * norm2)
    # the closed-form b is the least-squares fit of Psi by the phi(z_j): compare with the explicit one
    b_star = reduced.best_b(z, sv, a, kern)
    ref = torch.linalg.lstsq(phi2(z, 0.7, 1.0).T, psi[:, None]).solution[:, 0]
    assert torch.allclose(b_star, ref, rtol=1e-8, atol=1e-8)  # normal equations vs QR on ~10-term sums


def test_rs_distance_zero_at_the_expansion_itself(tiny):
    sv, a, _, _, kern = tiny
    norm2 = float(a @ kern(sv, sv) @ a)  # float64 (expansion_norm2's float32 would blur the zero)
    assert norm2 > 0.1  # a nontrivial expansion, so the 1e-10 below is relative to something
    assert abs(float(reduced.rs_distance(sv, a, sv, a, kern, norm2))) < 1e-10 * norm2  # cancellation only
    assert (
        abs(float(reduced.rs_distance(sv, reduced.best_b(sv, sv, a, kern), sv, a, kern, norm2)))
        < 1e-9 * norm2
    )


def test_reduce_expansion_lowers_the_distance_and_reports_it_truly(tiny):
    sv, a, _, _, kern = tiny
    norm2 = float(a @ kern(sv, sv) @ a)  # float64 (expansion_norm2's float32 would blur the zero)
    kdiag = kern(sv, sv).diagonal()
    z, b, before, after = reduced.reduce_expansion(sv, a, 2, kern, 30, norm2, kdiag, log=lambda s: None)
    assert z.shape == (2, 4) and b.shape == (2,)
    brute = float(((a @ phi2(sv, 0.7, 1.0) - b @ phi2(z, 0.7, 1.0)) ** 2).sum()) / norm2
    assert math.isclose(after, brute, rel_tol=1e-6, abs_tol=1e-9)  # its report is the true distance
    assert after < before  # L-BFGS from the two largest terms improved on them


def test_sum_readout_by_loops():
    o = torch.randn(5, 45, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    s = svm.ovo_sums(o)
    for n in range(5):
        for c in range(10):
            want = sum(
                float(o[n, u]) if i == c else -float(o[n, u])
                for u, (i, j) in enumerate(PAIRS.tolist())
                if c in (i, j)
            )
            assert math.isclose(float(s[n, c]), want, rel_tol=1e-12, abs_tol=1e-12)  # 9-term float64 sums


def test_costs_by_hand():
    # u^d by repeated squaring: u^3 = u u u (2), u^5 = (u^2)^2 u (3), u^9 = ((u^2)^2)^2 u (4)
    for degree, mults in ((3, 2), (4, 2), (5, 3), (9, 4)):
        assert svm.svm_cost(10, 784, degree)["macs"] == 10 * (784 + mults + 9)
    assert reduced.reduced_cost(83, 784, 5) == {"macs": 10 * 83 * (784 + 3 + 1), "memory": 10 * 83 * 785 + 10}
    assert reduced.reduced_cost(18, 784, 5, 45) == {
        "macs": 45 * 18 * (784 + 3 + 1),
        "memory": 45 * 18 * 785 + 45,
    }


def cfg_of(**keys):
    return Config(
        name="t",
        model=ModelConfig(arch="svm", input_size=28),
        data=DataConfig(download=False, pad=False, scaling="unit"),
        svm=SVMConfig(**keys),
    )


def test_rows_and_bad_keys():
    assert method("svm").row(cfg_of(degree=9, virtual="shift1")) == "[dist] V-SVM poly 9"
    assert method("svm").row(cfg_of(degree=5, virtual="shift1", readout="sum", reduced=83)) == "RS-SVM poly 5"
    assert load_config("fig9/rsvm-poly5").svm.reduced == 83
    with pytest.raises(ConfigError, match="svm.rs_iters must be >= 1"):
        load_config("fig9/rsvm-poly5", ["svm.rs_iters=0"])
    with pytest.raises(ConfigError, match="svm.virtual"):
        load_config("fig9/vsvm-poly9", ["svm.virtual=shift2"])
    with pytest.raises(ConfigError, match="svm.reduced must be >= 0"):
        load_config("fig9/rsvm-poly5", ["svm.reduced=-1"])


def test_image_side_needs_a_square():
    from paper_lenet.errors import UserError

    assert virtual.image_side(784) == 28 and virtual.image_side(36) == 6
    with pytest.raises(UserError, match="shift1 needs square images \\(got 785 inputs\\)"):
        virtual.image_side(785)
