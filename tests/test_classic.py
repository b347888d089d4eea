"""The classical classifiers of Fig. 9 (paper_lenet/comparison/) on small synthetic
data, their cost formulas, and one real fit on a 2,000-image MNIST subset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from paper_lenet.comparison import knn
from paper_lenet.comparison import least_squares as classic
from paper_lenet.comparison.fit import fit_run, load_inputs
from paper_lenet.comparison.rbf import rbf_units
from paper_lenet.config import Config, DataConfig, ModelConfig
from paper_lenet.core.registry import method_sections
from paper_lenet.data import download as dl
from paper_lenet.data.idx import find_file
from paper_lenet.errors import UserError
from paper_lenet.study.make import cost, make_run

REAL = dl.resolve_root(None)
HAVE_REAL = all(find_file(REAL, n) for n in dl.SHA256)


@pytest.fixture(scope="module")
def clusters():
    """10 well separated Gaussian clusters in 20 dimensions, 40 points each (float32)."""
    gen = torch.Generator().manual_seed(0)
    means = 8.0 * torch.randn(10, 20, generator=gen)
    y = torch.arange(10).repeat_interleave(40)
    x = means[y] + torch.randn(len(y), 20, generator=gen)
    return x, y


def cfg_of(arch, size=28, train_size=60000, **method):
    # built directly (no YAML): the values under test, nothing else; method: the arch's own section's keys
    return Config(
        name=f"test-{arch}",
        model=ModelConfig(arch=arch, input_size=size),
        data=DataConfig(train_size=train_size, download=False),
        **{arch: method_sections()[arch](**method)},
    )


@pytest.mark.parametrize(
    "fit",
    [
        lambda x, y: classic.fit_ridge(classic.identity, x, y, 1e-3),
        lambda x, y: classic.fit_pairwise(x, y, 1e-3),
        lambda x, y: classic.fit_ridge(classic.QuadraticPCA(x, 8), x, y, 1e-3),
        lambda x, y: classic.fit_ridge(rbf_units(x, y, 30, 0, log=lambda s: None), x, y, 1e-3),
    ],
    ids=["linear", "pairwise", "pca_quadratic", "rbf_linear"],
)
def test_separable_clusters_reach_zero_training_error(clusters, fit):
    x, y = clusters
    assert (fit(x, y).scores(x).argmax(1) == y).all()


def test_chunked_distances_match_cdist():
    gen = torch.Generator().manual_seed(1)
    a, b = 3 + torch.randn(23, 50, generator=gen), torch.randn(31, 50, generator=gen)
    d, j = knn.neighbours(a, b, k=len(b), chunk=7)  # every template, in chunks of 7 queries
    ref = torch.cdist(a.double(), b.double()) ** 2
    got = torch.empty_like(ref).scatter_(1, j, (d**2).double())
    # ||a||^2 - 2 a.b + ||b||^2 in float32 is exact only to a few float32 epsilons (1.2e-7) of the
    # squared norms it subtracts (here up to ~650: measured error 1e-4); 16 eps covers the 50-term dot
    # product and the sqrt/square round trip, and stays far below the gaps between neighbours (~1)
    scale = float((a**2).sum(1).max() + (b**2).sum(1).max())
    assert torch.allclose(got, ref, rtol=0, atol=16 * torch.finfo(torch.float32).eps * scale)
    assert (j[:, 0] == ref.argmin(1)).all()


def test_knn_k1_reproduces_training_labels(clusters):
    x, y = clusters
    assert (knn.knn_scores(x, y, x, k=1, chunk=50).argmax(1) == y).all()


def test_vote_tie_break_and_scores():
    labels = torch.tensor([[3, 5, 9, 9], [5, 3, 9, 9], [7, 2, 2, 7], [4, 4, 1, 1]])
    dists = torch.tensor(
        [[1.0, 2.0, 9.0, 9.5], [1.0, 2.0, 9.0, 9.5], [1.0, 2.0, 3.0, 5.0], [5.0, 6.0, 0.1, 0.2]]
    )
    s = knn.vote_scores(labels[:2, :2], dists[:2, :2])
    assert s.argmax(1).tolist() == [3, 5]  # one vote each: the nearer wins
    s = knn.vote_scores(labels, dists)
    # row 0: 9 has 2 votes; row 2: 7 and 2 tie at 2 votes, 7's nearest (1) beats 2's (2); row 3: 1 (0.1)
    assert s.argmax(1).tolist() == [9, 9, 7, 1]
    votes = torch.zeros(4, 10).scatter_add_(1, labels, torch.ones(4, 4)).double()
    term = s - votes
    assert ((term > 0) & (term <= 0.5)).all()  # the term is in (0, 1/2]: votes decide first
    # votes from the first k only; the rest of the list still grades confidence
    s3 = knn.vote_scores(labels, dists, k=1)
    assert s3.argmax(1).tolist() == [3, 5, 7, 4]  # row 3: the one vote (listed first) outweighs nearness


def test_unanimous_votes_keep_a_graded_margin():
    # two queries, both 3 votes of 3 for class 4; the runner-up class 6 is far for one, close for the other
    labels = torch.tensor([[4, 4, 4, 6], [4, 4, 4, 6]])
    dists = torch.tensor([[1.0, 1.1, 1.2, 4.0], [1.0, 1.1, 1.2, 1.3]])
    s = knn.vote_scores(labels, dists, k=3)
    top = s.topk(2, dim=1).values
    margin = top[:, 0] - top[:, 1]
    assert (s.argmax(1) == 4).all()
    assert margin[0] > margin[1]  # the far runner-up is the surer decision
    assert margin.tolist() == pytest.approx([3 + 0.5 - 0.5 / 4.0, 3 + 0.5 - 0.5 / 1.3])  # k + 1/2 - 1/2 D1/D2


def test_quadratic_feature_count():
    assert classic.quadratic_features(40) == 861
    x = torch.randn(200, 60, generator=torch.Generator().manual_seed(2))
    assert classic.QuadraticPCA(x, 40)(x).shape == (200, 860)  # + the bias column = 861


def test_cost_paper_sizes():
    # paper Fig. 11 / Fig. 12, thousands of MACs / of variables: linear [deslant] 4 / 4, pairwise 36 / 35,
    # K-NN [deslant] 24,000 / 24,000, 40 PCA + quadratic 39 / 40, 1000 RBF + linear 794 / 794
    assert cost(cfg_of("linear")) == {"macs": 7840, "memory": 7850}  # 10 x 784, 10 x 785
    assert cost(cfg_of("linear", 20)) == {"macs": 4000, "memory": 4010}  # the paper's 4,010 parameters
    assert cost(cfg_of("pairwise")) == {"macs": 35280, "memory": 35325}  # 45 x 784, 45 x 785
    assert cost(cfg_of("knn", 20)) == {"macs": 24_000_000, "memory": 24_000_000}  # 60,000 x 400
    assert cost(cfg_of("knn")) == {"macs": 47_040_000, "memory": 47_040_000}  # 60,000 x 784
    assert cost(cfg_of("pca_quadratic")) == {"macs": 39970, "memory": 39970}  # 40 x 784 + 10 x 861
    assert cost(cfg_of("rbf_linear")) == {"macs": 794000, "memory": 794010}  # 1000 x 784 + 10 x 1000(+10)


def test_bad_features_path_names_the_key(tmp_path):
    cfg = cfg_of("knn", features=str(tmp_path / "no-such-run" / "seed{seed}"))
    with pytest.raises(UserError, match=r"^knn\.features: .*seed0") as e:
        fit_run(cfg, tmp_path / "out", log=lambda s: None)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()  # checked before the run directory is made


@pytest.mark.skipif(not HAVE_REAL, reason=f"real MNIST not in {REAL}")
@pytest.mark.parametrize("arch", ["linear", "knn"])
def test_fit_classic_end_to_end(tmp_path, arch):
    cfg = cfg_of(
        arch, train_size=2000, **({"k": 0} if arch == "knn" else {})
    )  # knn: k chosen on the last 333
    out = tmp_path / "run"
    summary = make_run(cfg, out, log=lambda s: None)  # through make.py's dispatch
    for name in (
        "config.yaml",
        "env.json",
        "metrics.jsonl",
        "test_predictions.txt",
        "test_margins.npy",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["n_test"] == 10000 and summary["epochs"] == 0 and summary["n_train"] == 2000
    pred = np.array(list((out / "test_predictions.txt").read_text().strip()), dtype=int)
    margins = np.load(out / "test_margins.npy")
    assert len(pred) == len(margins) == 10000 and (margins >= 0).all()
    # the files hold argmax and top-two margin of the classifier's scores: refit (deterministic) and compare
    x, y, tx, ty, split = load_inputs(cfg, None, log=lambda s: None)
    scores = (
        knn.knn_scores(x, y, tx, summary["k"])
        if arch == "knn"
        else classic.fit_ridge(classic.identity, x, y, cfg.linear.ridge).scores(tx)
    )
    assert split == "test" and (pred == scores.argmax(1).numpy()).all()
    top = scores.topk(2, 1).values
    # float32 margins of float32/float64 scores: 1e-5 is float32 rounding of values of order 1-10
    assert np.allclose(margins, (top[:, 0] - top[:, 1]).numpy(), rtol=0, atol=1e-5)
    assert summary["test_misses"] == int((pred != ty.numpy()).sum())
    # a 2,000-image fit: linear least squares ~15%, 1-NN ~9% on MNIST; 25% only says "it learned"
    assert summary["test_error"] < 0.25
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and "fit_seconds" in rows[0]
    if arch == "knn":
        assert set(rows[0]["val_errors"]) == {"1", "3", "5", "7", "9"} and summary["k"] in (1, 3, 5, 7, 9)
    # a rerun of a finished run returns the same summary without fitting
    assert make_run(cfg, out, resume=True, log=lambda s: None) == summary


@pytest.mark.skipif(not HAVE_REAL, reason=f"real MNIST not in {REAL}")
def test_validation_split_never_scores_the_test_set(tmp_path):
    cfg = cfg_of("linear", train_size=2000)
    cfg.data.validation = 1000
    summary = fit_run(cfg, tmp_path / "run", log=lambda s: None)
    assert summary["n_val"] == 1000 and "val_error" in summary and "test_error" not in summary
    assert (tmp_path / "run" / "val_predictions.txt").is_file() and (
        tmp_path / "run" / "val_margins.npy"
    ).is_file()
    assert not list((tmp_path / "run").glob("test_*"))


def test_pairwise_votes_then_clipped_sum():
    o = torch.zeros(2, 45)
    units = classic.PAIRS.tolist()
    for u, (i, j) in enumerate(units):
        if 2 in (i, j):
            o[0, u] = 0.1 if i == 2 else -0.1  # row 0: class 2 wins its 9 units by a hair
        if (i, j) == (0, 1):
            o[0, u] = 50.0  # one huge output: a sum of raw outputs would pick 0, the votes do not
        if (i, j) == (3, 4):
            o[1, u] = -0.5  # row 1: every other unit 0 (no vote): 4 wins its one vote
    s = classic.pairwise_scores(o)
    assert s.argmax(1).tolist() == [2, 4]
    wins = torch.tensor([9.0, 1.0])
    assert ((s.max(1).values - wins).abs() < 0.45 + 1e-6).all()  # the clipped-sum term stays within 0.45
