"""svm.machines: ovr (paper_lenet/comparison/ovr.py), CV95's ten one-vs-rest machines, against
scikit-learn's own OneVsRestClassifier and against hand loops on tiny inputs. The libsvm parts skip
without the svm extra (pip install -e '.[svm]')."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from paper_lenet.comparison import ovr, reduced, svm, virtual
from paper_lenet.comparison.svm import SVMConfig
from paper_lenet.config import Config, DataConfig, ModelConfig, load_config
from paper_lenet.errors import ConfigError

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
needs_sklearn = pytest.mark.skipif(not HAS_SKLEARN, reason="needs the svm extra (scikit-learn)")
quiet = lambda s: None  # noqa: E731


def cfg_of(**keys):
    return Config(
        name="t",
        model=ModelConfig(arch="svm", input_size=28),
        data=DataConfig(download=False, pad=False, scaling="unit"),
        svm=SVMConfig(machines="ovr", **keys),
    )


@pytest.fixture(scope="module")
def digits6():
    """10 classes of 8 noisy 6x6 images each, pixels in [0, 1]."""
    gen = torch.Generator().manual_seed(5)
    y = torch.arange(10).repeat_interleave(8)
    x = (torch.rand(10, 36, generator=gen)[y] + 0.3 * torch.randn(80, 36, generator=gen)).clamp(0, 1)
    return x, y, torch.rand(20, 36, generator=gen)


def test_merge_by_hand():
    # machine 0 has vectors p, q; machine 1 has q (again) and r: the union is {p, q, r}, q with both
    # coefficients
    p, q, r = [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]
    fits = [
        {"sv": np.array([p, q]), "a": np.array([2.0, -3.0]), "b": 0.5},
        {"sv": np.array([q, r]), "a": np.array([4.0, 5.0]), "b": -1.0},
    ]
    sv, coef, intercept = ovr.merge(fits)
    rows = {tuple(v): c.tolist() for v, c in zip(sv.tolist(), coef, strict=False)}
    assert rows == {tuple(p): [2.0, 0.0], tuple(q): [-3.0, 4.0], tuple(r): [0.0, 5.0]}
    assert intercept.tolist() == [0.5, -1.0]


def test_cost_counts_each_distinct_vector_once():
    # 3 distinct vectors, 4 nonzero coefficients, 10 biases; u^4 by 2 squarings
    assert svm.svm_cost(3, 784, 4, coefs=4, biases=10) == {
        "macs": 3 * (784 + 2) + 4,
        "memory": 3 * 784 + 4 + 10,
    }
    assert svm.svm_cost(3, 784, 4) == svm.svm_cost(3, 784, 4, coefs=27, biases=45)  # one-vs-one: 9 per vector


def test_bad_keys():
    with pytest.raises(ConfigError, match="svm.readout: sum reads one-vs-one"):
        load_config(
            "fig9/rsvm-poly5", ["svm.readout=sum"]
        )  # rsvm-poly5 is one-vs-rest: no one-vs-one readout
    with pytest.raises(ConfigError, match="svm.jobs must be >= 1"):
        load_config("fig9/svm-poly4", ["svm.machines=ovr", "svm.jobs=0"])
    with pytest.raises(ConfigError, match="svm.machines"):
        load_config("fig9/svm-poly4", ["svm.machines=ova"])


@needs_sklearn
def test_machines_match_sklearns_one_vs_rest(digits6):
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import SVC

    x, y, q = digits6
    fitted = svm.fit_svm(cfg_of(degree=3), x, y, quiet)
    ref = OneVsRestClassifier(SVC(kernel="poly", degree=3, gamma=fitted.gamma, coef0=1.0, C=10.0)).fit(
        x.double().numpy(), y.numpy()
    )
    # float32 dot products against libsvm's float64 ones, outputs of order 1
    assert torch.allclose(
        fitted.scores(q), torch.from_numpy(ref.decision_function(q.double().numpy())), rtol=1e-4, atol=1e-4
    )
    per = [len(e.support_) for e in ref.estimators_]
    assert fitted.summary["support_per_machine"] == per and fitted.summary["support_per_machine_sum"] == sum(
        per
    )
    distinct = len(np.unique(np.concatenate([e.support_ for e in ref.estimators_])))
    assert fitted.summary["support_vectors"] == distinct  # training images are distinct: the union's size
    nnz = int((fitted.coef != 0).sum())
    assert nnz == sum(per) and fitted.summary["macs"] == distinct * (36 + 2) + nnz


@needs_sklearn
def test_virtual_refit_is_per_machine(digits6):
    from sklearn.svm import SVC

    x, y, q = digits6
    fitted = svm.fit_svm(cfg_of(degree=3, virtual="shift1", jobs=2), x, y, quiet)
    for c in (0, 7):  # two machines by hand: fit, shift its own support vectors, refit
        t = np.where(y.numpy() == c, 1.0, -1.0)
        first = SVC(kernel="poly", degree=3, gamma=fitted.gamma, coef0=1.0, C=10.0).fit(x.double().numpy(), t)
        assert fitted.summary["first_support_per_class"][c] == len(first.support_)
        vx, vt = virtual.shift1(
            torch.from_numpy(first.support_vectors_), torch.from_numpy(t[first.support_]), 6
        )
        second = SVC(kernel="poly", degree=3, gamma=fitted.gamma, coef0=1.0, C=10.0).fit(
            vx.numpy(), vt.numpy()
        )
        assert fitted.summary["support_per_machine"][c] == len(second.support_)
        want = torch.from_numpy(second.decision_function(q.double().numpy()))
        assert torch.allclose(fitted.scores(q)[:, c], want, rtol=1e-4, atol=1e-4)  # float32 dot products


@needs_sklearn
def test_reduced_set_reduces_the_ten_machines(digits6):
    x, y, q = digits6
    r = reduced.fit_reduced(cfg_of(degree=3, virtual="shift1", reduced=3, rs_iters=4), x, y, quiet)
    assert r.z.shape == (10, 3, 36) and r.readout == "classes" and set(r.extra_scores) == {"unreduced"}
    assert torch.allclose(r.extra_scores["unreduced"](q), r.full.scores(q))
    # the reduced machines by hand: 10 expansions of 3 vectors, no one-vs-one readout after them
    k = reduced.poly_kernel(q, r.z.reshape(30, 36), r.full.gamma, 1.0, 3).reshape(20, 10, 3)
    assert torch.allclose(r.scores(q), (k * r.b).sum(2) + r.bias)
    assert all(after <= before + 1e-12 for before, after in r.summary["rs_relative_distance"])
