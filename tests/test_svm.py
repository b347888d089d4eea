"""SVM poly 4 (paper_lenet/comparison/svm.py) against scikit-learn's own computation on small inputs.
Skipped without the svm extra (pip install -e '.[svm]')."""

from __future__ import annotations

import json
import math

import pytest
import torch

from paper_lenet.comparison import svm
from paper_lenet.comparison.least_squares import PAIRS
from paper_lenet.comparison.svm import SVMConfig
from paper_lenet.config import Config, DataConfig, ModelConfig
from paper_lenet.core.registry import method
from paper_lenet.study.make import make_run

sklearn_svm = pytest.importorskip("sklearn.svm")


@pytest.fixture(scope="module")
def blobs():
    """10 overlapping Gaussian clusters in 30 dimensions, 30 points each, pixels-like in [0, 1]."""
    gen = torch.Generator().manual_seed(1)
    means = torch.rand(10, 30, generator=gen)
    y = torch.arange(10).repeat_interleave(30)
    x = (means[y] + 0.3 * torch.randn(len(y), 30, generator=gen)).clamp(0, 1)
    return x, y


def cfg_of(**svm_keys):
    return Config(
        name="test-svm",
        model=ModelConfig(arch="svm", input_size=28),
        data=DataConfig(download=False, pad=False, scaling="unit"),
        svm=SVMConfig(**svm_keys),
    )


def test_decision_values_match_sklearn(blobs):
    x, y = blobs
    fitted = svm.fit_svm(cfg_of(C=1.0), x, y, log=lambda s: None)
    ref = sklearn_svm.SVC(
        kernel="poly", degree=4, coef0=1.0, gamma="scale", C=1.0, decision_function_shape="ovo"
    ).fit(x.double().numpy(), y.numpy())
    assert fitted.gamma == pytest.approx(ref._gamma, rel=1e-9)  # gamma 0 = sklearn's "scale"
    q = torch.rand(50, 30, generator=torch.Generator().manual_seed(2))
    ours = fitted.decision(q)
    theirs = torch.from_numpy(ref.decision_function(q.double().numpy()))
    assert ours.shape == (50, 45)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-4)  # float32 dot products
    assert fitted.summary["support_vectors"] == int(ref.n_support_.sum())
    # class scores: each class's weakest pairwise decision value, by loops over sklearn's own values
    scores = fitted.scores(q)
    for n in range(len(q)):
        for i in range(10):
            o_i = [
                float(theirs[n, u]) if a == i else -float(theirs[n, u])
                for u, (a, b) in enumerate(PAIRS.tolist())
                if i in (a, b)
            ]
            assert math.isclose(float(scores[n, i]), min(o_i), abs_tol=1e-4)
    # argmax = sklearn's OvO vote wherever one class wins all 9 of its machines
    condorcet = scores.max(1).values > 0
    assert condorcet.sum() > 25
    assert (scores.argmax(1)[condorcet].numpy() == ref.predict(q.double().numpy())[condorcet.numpy()]).all()


def test_pair_coefficients_by_hand():
    # 3 classes padded to 10 would need every class: check the layout on a hand-made dual_coef_ instead
    n_support = [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    dual = torch.arange(1, 9 * 11 + 1, dtype=torch.float64).reshape(9, 11)  # no zero
    c = svm.pair_coefficients(dual, n_support)
    u01 = PAIRS.tolist().index([0, 1])
    u12 = PAIRS.tolist().index([1, 2])
    assert c[0, u01] == dual[0, 0] and c[1, u01] == dual[0, 1] and c[2, u01] == dual[0, 2]
    assert c[2, u12] == dual[1, 2] and c[3, u12] == dual[1, 3]
    assert (c[:, u01] != 0).sum() == 3 and (c[4:, u01] == 0).all()  # only classes 0 and 1's vectors


def test_cost_and_row():
    assert svm.svm_cost(18162, 784, 4) == {"macs": 18162 * (784 + 2 + 9), "memory": 18162 * (784 + 9) + 45}
    assert method("svm").row(cfg_of()) == "SVM poly 4"
    assert method("svm").cost(cfg_of()) == {}


def test_svm_run_end_to_end(tmp_path, synthetic_root):
    cfg = cfg_of(C=10.0)
    cfg.data.root, cfg.data.train_size = str(synthetic_root), 600
    summary = make_run(cfg, tmp_path / "run", log=lambda s: None)
    assert summary["test_error"] < 0.2 and summary["support_vectors"] == sum(summary["support_per_class"])
    assert summary["macs"] == summary["support_vectors"] * (784 + 2 + 9)
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary
