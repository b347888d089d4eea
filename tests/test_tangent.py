"""[16x16] tangent distance (paper_lenet/comparison/tangent.py) against independent computations on
small inputs: finite-difference transformations of an analytic image, and least squares on the raw
tangent vectors."""

from __future__ import annotations

import math

import torch

from paper_lenet.cli import main
from paper_lenet.comparison import tangent as td
from paper_lenet.comparison.tangent import TangentConfig
from paper_lenet.config import Config, DataConfig, ModelConfig
from paper_lenet.core.registry import method

C = torch.arange(16, dtype=torch.float64) - 7.5


def blob(dx=0.0, dy=0.0, angle=0.0, scale=1.0):
    """(256,) an anisotropic Gaussian blob (sigmas 3 and 1.6), moved, turned and scaled exactly."""
    y, x = C.view(-1, 1) - dy, C.view(1, -1) - dx
    ca, sa = math.cos(angle), math.sin(angle)
    u, v = (ca * x + sa * y) / scale, (-sa * x + ca * y) / scale
    return torch.exp(-((u / 3.0) ** 2) / 2 - (v / 1.6) ** 2 / 2).reshape(-1)


def lstsq_distance(d, vectors):
    """|d - V c|^2 minimised over c by torch.linalg.lstsq on the raw (not orthonormalised) vectors."""
    v = vectors.T
    c = torch.linalg.lstsq(v, d[:, None]).solution
    return float(((d[:, None] - v @ c) ** 2).sum())


def test_tangents_match_finite_differences():
    img = blob()[None]
    t = td.tangent_vectors(img, 0.0)[0]  # the blob is smooth already: no smoothing
    eps = 1e-3
    moves = {0: blob(dx=eps), 1: blob(dy=eps), 2: blob(angle=eps), 3: blob(scale=1 + eps)}
    for i, moved in moves.items():
        fd = (moved - img[0]) / eps
        cos = float((fd @ t[i]) / (fd.norm() * t[i].norm()))
        assert abs(cos) > 0.98, (td.TANGENTS[i], cos)  # central differences on a 16x16 grid: ~1%


def test_distance_to_a_moved_copy_is_small():
    a = blob()
    for moved in (blob(dx=0.4), blob(dy=-0.4), blob(angle=0.08), blob(scale=1.06)):
        q, c = a[None].float(), moved[None, None].float()
        b_q = td.bases(q, 0.0)
        b_c = td.bases(c[0], 0.0)[None]
        euclid = float(((moved - a) ** 2).sum())
        for sided in ("one", "two"):
            d = float(td.tangent_sq_distances(q, b_q, c, b_c, sided))
            assert d < 0.05 * euclid, (sided, d, euclid)


def test_distances_equal_least_squares_on_raw_tangents():
    gen = torch.Generator().manual_seed(0)
    q = torch.rand(3, 256, generator=gen, dtype=torch.float64)
    cand = torch.rand(3, 4, 256, generator=gen, dtype=torch.float64)
    t_q = td.tangent_vectors(q, 1.0)
    t_c = td.tangent_vectors(cand.reshape(12, 256), 1.0).reshape(3, 4, 7, 256)
    b_q, b_c = td.bases(q, 1.0).double(), td.bases(cand.reshape(12, 256), 1.0).reshape(3, 4, 256, 7).double()
    one = td.tangent_sq_distances(q, b_q, cand, b_c, "one")
    two = td.tangent_sq_distances(q, b_q, cand, b_c, "two")
    for i in range(3):
        for j in range(4):
            d = cand[i, j] - q[i]
            assert math.isclose(one[i, j], lstsq_distance(d, t_q[i]), rel_tol=1e-4)
            assert math.isclose(two[i, j], lstsq_distance(d, torch.cat([t_q[i], t_c[i, j]])), rel_tol=1e-4)
            assert two[i, j] <= one[i, j] + 1e-9 <= float((d * d).sum()) + 1e-9


def test_zero_image_has_no_tangent_directions():
    b = td.bases(torch.zeros(1, 256), 1.0)
    assert b.abs().sum() == 0


def test_prefilter_then_vote_and_the_choice():
    gen = torch.Generator().manual_seed(3)
    means = torch.rand(10, 256, generator=gen)
    y = torch.arange(10).repeat(30)
    x = means[y] + 0.05 * torch.randn(300, 256, generator=gen)
    cfg = Config(
        name="t",
        model=ModelConfig(arch="tangent", input_size=28),
        data=DataConfig(download=False),
        tangent=TangentConfig(k=0, prefilter=10),
    )
    fitted = td.fit_tangent(cfg, x, y, log=lambda s: None)
    assert set(fitted.metrics["val_errors"]) == {f"{s}/{k}" for s in ("one", "two") for k in (1, 3, 5)}
    assert (fitted.scores(x[:40]).argmax(1) == y[:40]).all()
    assert fitted.summary["memory"] == 300 * 256 * (1 if fitted.sided == "one" else 8)


def test_cost_and_row():
    c = td.td_cost(60000, 100, "two")
    assert c["macs"] == 60000 * 256 + 12 * 256 + 2 * 256 * 49 + 100 * (64 * 256 + 14**3 // 3 + 196)
    cfg = Config(
        name="t",
        model=ModelConfig(arch="tangent", input_size=28),
        data=DataConfig(preprocess="16x16"),
        tangent=TangentConfig(),
    )
    assert method("tangent").row(cfg) == "[16x16] Tangent Distance"


def test_show_tangents_command(tmp_path, synthetic_root):
    out = tmp_path / "t.png"
    assert main(
        [
            "show-tangents",
            "--out",
            str(out),
            f"data.root={synthetic_root}",
            "data.download=false",
            "data.train_size=600",
        ]
    ) in (0, None)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
