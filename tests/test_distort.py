"""The affine distortions: seeded, identity at zero range, prob respected, geometry right."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paper_lenet.config import DataConfig, DistortConfig
from paper_lenet.data import distort as D
from paper_lenet.data.mnist import MNIST, preprocess

ZERO = DistortConfig(enabled=True, prob=1.0, translate=0, scale=0, squeeze=0, shear=0)


def blobs(n=64, seed=0):
    """Soft blobs well inside the frame, at random positions: like digits, mass off-centre."""
    g = torch.Generator().manual_seed(seed)
    cy, cx = torch.rand(2, n, 1, 1, generator=g) * 6 + 11
    r = torch.arange(28.0)
    d2 = (r.view(1, 28, 1) - cy) ** 2 + (r.view(1, 1, 28) - cx) ** 2
    return (255 * torch.exp(-d2 / 8)).round().to(torch.uint8)


def com(x):
    x = x.float()
    r = torch.arange(28.0)
    m = x.sum((1, 2))
    return (x.sum(1) * r).sum(1) / m, (x.sum(2) * r).sum(1) / m  # (x, y)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_deterministic():
    x = blobs()
    cfg = DistortConfig(enabled=True)
    a = D.distort_batch(x, cfg, gen(1))
    assert a.shape == (64, 28, 28) and a.dtype == torch.float32
    assert torch.equal(a, D.distort_batch(x, cfg, gen(1)))
    assert not torch.equal(a, D.distort_batch(x, cfg, gen(2)))
    u = D.distort_batch(x, cfg, gen(1), as_uint8=True)
    assert u.dtype == torch.uint8 and (u.float() - a).abs().max() <= 0.5


def test_zero_ranges_are_identity():
    x = blobs()
    y = D.distort_batch(x, ZERO, gen())
    assert (y - x.float()).abs().max() < 1e-3


def test_prob_zero_untouched():
    x = blobs()
    cfg = DistortConfig(enabled=True, prob=0.0, translate=5, scale=0.5, shear=1)
    assert torch.equal(D.distort_batch(x, cfg, gen()), x.float())


def test_prob_fraction():
    x = blobs(2000)
    y = D.distort_batch(x, DistortConfig(enabled=True, prob=0.9), gen(3))
    changed = (y != x.float()).flatten(1).any(1).float().mean().item()
    assert 0.87 < changed < 0.93


def test_translation_moves_centre_of_mass():
    x = blobs()
    cfg = dataclasses.replace(ZERO, translate=3.0)
    g = gen(7)
    p = D._params(len(x), cfg, gen(7))  # the same draws distort_batch will make
    y = D.distort_batch(x, cfg, g)
    (x0, y0), (x1, y1) = com(x), com(y)
    assert torch.allclose(x1 - x0, p["tx"].float(), atol=0.02)  # +tx moves right
    assert torch.allclose(y1 - y0, p["ty"].float(), atol=0.02)  # +ty moves down
    assert p["tx"].abs().max() > 2  # the range is used


def test_scale_and_squeeze_and_shear_geometry():
    # a centred blob's spread scales with s; a horizontal line is sheared into place
    x = blobs(32)
    cfg = dataclasses.replace(ZERO, scale=0.3)
    p = D._params(32, cfg, gen(4))
    y = D.distort_batch(x, cfg, gen(4))

    def spread(t):
        return t.float().flatten(1).gt(0.5 * 255).sum(1).float()  # area at half height

    ratio = (spread(y) / spread(x)).sqrt()
    assert np.corrcoef(ratio.numpy(), p["s"].numpy())[0, 1] > 0.9
    # shear only: a vertical bar tilts; its top row shifts by -h * 8 pixels relative to bottom
    bar = torch.zeros(1, 28, 28, dtype=torch.uint8)
    bar[0, 6:22, 13:15] = 255
    cfg = dataclasses.replace(ZERO, shear=0.5)
    h = D._params(1, cfg, gen(9))["h"].item()
    z = D.distort_batch(bar, cfg, gen(9))
    r = torch.arange(28.0)

    def cx(row):
        return (z[0, row] * r).sum() / z[0, row].sum()

    assert (cx(20) - cx(8)).item() == pytest.approx(h * 12, abs=0.15)


def test_affine_grid_matches_torch():
    th = torch.randn(50, 2, 3)
    ref = F.affine_grid(th, [50, 1, 28, 28], align_corners=False)
    assert torch.allclose(D._affine_grid(th, 28), ref, atol=1e-5)


def test_distorted_pass():
    raw = blobs(200)
    dcfg = DataConfig(distortions=DistortConfig(enabled=True))
    x = preprocess(raw, dcfg, 32)
    m = MNIST(
        x,
        torch.zeros(200, dtype=torch.int64),
        x[:1],
        torch.zeros(1, dtype=torch.int64),
        raw,
        np.arange(200),
        None,
    )
    a = D.distorted_pass(m, dcfg, 32, epoch=0, seed=0)
    assert a.shape == x.shape and a.dtype == torch.float32
    assert torch.equal(a, D.distorted_pass(m, dcfg, 32, epoch=0, seed=0))
    assert not torch.equal(a, D.distorted_pass(m, dcfg, 32, epoch=1, seed=0))
    assert not torch.equal(a, D.distorted_pass(m, dcfg, 32, epoch=0, seed=1))
    same = (a == x).flatten(1).all(1).float().mean().item()  # kept originals are bit-identical
    assert 0.03 < same < 0.2
    assert a.min().item() >= -0.1 - 1e-6 and a.max().item() <= 1.175 + 1e-6
    assert D.distorted_pass(m, DataConfig(), 32, 0, 0) is x  # disabled: the originals


def test_distortion_grid_rows_and_samples():
    """show-distortions' pictures: the first image of each class, its original on top, then copies
    that are all distorted (prob forced to 1), reproducible from the seed and different across it."""
    x = blobs(12)
    labels = np.array([3, 3, 0, 1, 0, 2, 1, 2, 4, 5, 6, 7])
    idx, rows = D.distortion_grid(x, DistortConfig(prob=0.0), n=4, copies=3, seed=5, labels=labels)
    assert idx == [2, 3, 5, 0]  # the first 0, 1, 2 and 3 in the label list
    assert rows.shape == (4, 4, 28, 28) and rows.dtype == torch.float32
    assert torch.equal(rows[0], x[idx].float())
    for r in range(1, 4):  # prob 0 in the config, yet every copy is distorted
        assert all(not torch.equal(rows[r][c], rows[0][c]) for c in range(4))
    assert not torch.equal(rows[1], rows[2])  # each row a fresh draw
    again = D.distortion_grid(x, DistortConfig(prob=0.0), n=4, copies=3, seed=5, labels=labels)[1]
    assert torch.equal(rows, again)
    assert not torch.equal(
        rows, D.distortion_grid(x, DistortConfig(), n=4, copies=3, seed=6, labels=labels)[1]
    )
    first, plain = D.distortion_grid(x, DistortConfig(), n=20, copies=1)
    assert first == list(range(12)) and plain.shape == (
        2,
        12,
        28,
        28,
    )  # without labels: the first n there are


def test_save_grid(tmp_path):
    pytest.importorskip("matplotlib")
    from paper_lenet.tools.maps import save_distortion_grid

    p = save_distortion_grid(
        blobs(12), DistortConfig(), tmp_path / "sub" / "g.png", n=4, copies=2, labels=np.arange(12) % 10
    )
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [q.name for q in p.parent.iterdir()] == ["g.png"]  # written by rename: no temporary left
