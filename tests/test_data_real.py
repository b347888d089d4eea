"""Checks on the real MNIST files (root: $PAPER_LENET_DATA or the default cache).

Skipped when the files are absent; CI runs `paper-lenet download` first."""

import numpy as np
import pytest
import torch

from paper_lenet.config import DataConfig
from paper_lenet.data import download as dl
from paper_lenet.data import mnist as M
from paper_lenet.data.idx import find_file

ROOT = dl.resolve_root(None)
pytestmark = pytest.mark.skipif(
    not all(find_file(ROOT, n) for n in dl.SHA256),
    reason=f"real MNIST not in {ROOT}; run `paper-lenet download` (or set PAPER_LENET_DATA)",
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return M.load_mnist(DataConfig(download=False))


def test_files_verify_offline(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("network source used")

    monkeypatch.setattr(dl, "_open_url", boom)
    monkeypatch.setattr(dl, "_npm_pack", boom)
    assert dl.ensure_mnist(None, log=lambda s: None) == ROOT


def test_class_counts(mnist):
    assert np.bincount(mnist.train_y.numpy(), minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test_y.numpy(), minlength=10).tolist() == TEST_COUNTS


def test_lecun98_scaling(mnist):
    for x in (mnist.train_x, mnist.test_x):
        assert x.shape[1:] == (1, 32, 32)
        assert x.min().item() == pytest.approx(-0.1) and x.max().item() == pytest.approx(1.175)
    assert torch.allclose(mnist.train_x[:, :, :2, :], torch.tensor(-0.1))  # padding = background


def test_standardize_constants(mnist):
    assert len(mnist.train_raw) == 60000  # train_size default: the full set
    hist = torch.bincount(mnist.train_raw.flatten(), minlength=256).numpy()  # exact, and fast
    v = np.arange(256) / 255
    mean = (hist * v).sum() / hist.sum()
    std = np.sqrt((hist * (v - mean) ** 2).sum() / hist.sum())
    assert mean == pytest.approx(M.MNIST_MEAN, abs=1e-4)
    assert std == pytest.approx(M.MNIST_STD, abs=1e-4)


def test_stratified_subset_real():
    m = M.load_mnist(DataConfig(download=False, train_size=6000), seed=0)
    counts = np.bincount(m.train_y.numpy(), minlength=10)
    assert counts.sum() == 6000
    assert np.all(np.abs(counts - np.array(TRAIN_COUNTS) / 10) <= 1)


REPO = __import__("pathlib").Path(__file__).resolve().parents[1]
HEADLINE_RUNS = sorted(
    p.parent
    for p in (REPO / "results" / "runs").glob("lenet5_*/seed*/model.pt")
    if p.parent.parent.name in ("lenet5_1998", "lenet5_lush")
)


@pytest.mark.parametrize("run", HEADLINE_RUNS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_weights_give_their_recorded_test_error(run):
    """The committed headline weights evaluate to exactly the misses their summary records."""
    import json

    from paper_lenet.training.evaluate import evaluate, load_trained

    cfg, model = load_trained(run)
    data = M.load_mnist(cfg.data, cfg.model.input_size, cfg.seed, download=False, log=lambda *_: None)
    res = evaluate(model, data.test_x, data.test_y, cfg.train.loss, cfg.train.map_j)
    summary = json.loads((run / "summary.json").read_text())
    # the same weights on the same images: only an image whose two best classes score within
    # float32 rounding of each other can flip on another CPU's kernels (allow one such image)
    assert abs(res["misses"] - summary["test_misses"]) <= 1
