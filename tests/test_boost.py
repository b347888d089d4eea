"""[dist] Boosted LeNet-4 (boost.py): the selection rules, the early exit, and a small run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from paper_lenet import load_config
from paper_lenet.comparison.boost import combine, exit_threshold, select
from paper_lenet.data.mnist import load_mnist
from paper_lenet.errors import UserError
from paper_lenet.study.make import make_run

FIG9 = Path(__file__).resolve().parents[1] / "configs" / "fig9"


class Constant(torch.nn.Module):
    """A stand-in net: predicts `cls` for every image (or the label for classes in `knows`)."""

    def __init__(self, cls: int):
        super().__init__()
        self.cls = cls

    def forward(self, x):
        out = -torch.ones(len(x), 10)
        out[:, self.cls] = 1.0
        return out


def boost_cfg(root, *extra):
    return load_config(
        FIG9 / "boosted-lenet4.yaml",
        [f"data.root={root}", "data.download=false", "data.train_size=600", *extra],
    )


def test_net2_set_is_half_wrong_half_right(synthetic_root):
    cfg = boost_cfg(synthetic_root, "boost.size=400", "boost.max_draws=20000")
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    x, y, counts = select(data, cfg, "net2", [Constant(3)], log=lambda *_: None)
    assert len(y) == 400 and x.shape == (400, 1, 32, 32)
    assert int((y != 3).sum()) == 200  # net 1 (always 3) is wrong on exactly half
    assert counts["drawn"] == 10000  # one chunk had enough of both


def test_net3_set_is_where_nets_1_and_2_disagree(synthetic_root):
    cfg = boost_cfg(synthetic_root, "boost.size=300", "boost.max_draws=20000")
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    _, y, _ = select(data, cfg, "net3", [Constant(3), Constant(3)], log=lambda *_: None)
    assert len(y) == 0  # two nets that always agree leave nothing, after max_draws at most
    _, y, _ = select(data, cfg, "net3", [Constant(3), Constant(5)], log=lambda *_: None)
    assert len(y) == 300


def test_selection_is_seeded(synthetic_root):
    cfg = boost_cfg(synthetic_root, "boost.size=100", "boost.max_draws=20000")
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    a = select(data, cfg, "net2", [Constant(1)], log=lambda *_: None)
    b = select(data, cfg, "net2", [Constant(1)], log=lambda *_: None)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # a resumed run selects the same set


def test_early_exit_threshold_and_combination():
    # net 1 sure (margin 2) on pattern 0, unsure (margin 0.2) on pattern 1, where nets 2 and 3 overrule it
    o1 = torch.tensor([[2.0, 0, 0], [0.2, 0, 0]])
    o2 = torch.tensor([[0.0, 1, 0], [0.0, 1, 0]])
    o3 = torch.tensor([[0.0, 1, 0], [0.0, 1, 0]])
    # exiting on pattern 1 changes its decision: the full agreement needs theta above 0.2
    assert exit_threshold([o1, o2, o3], agree=1.0) == pytest.approx(2.0)
    assert exit_threshold([o1, o2, o3], agree=0.5) == pytest.approx(0.2)
    scores, exited = combine([o1, o2, o3], theta=1.0)
    assert exited.tolist() == [True, False]
    assert scores.argmax(1).tolist() == [0, 1]  # 3 x net 1 on the sure one; the sum on the other
    assert torch.allclose(scores[0], 3 * o1[0]) and torch.allclose(scores[1], o1[1] + o2[1] + o3[1])


def test_boosted_run_end_to_end(synthetic_root, tmp_path):
    torch.set_num_threads(1)
    small = [
        f"data.root={synthetic_root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=1",
        "train.sdlm.hessian_samples=100",
    ]
    make_run(load_config(FIG9 / "lenet4.yaml", small), tmp_path / "net1", log=lambda *_: None)
    cfg = load_config(
        FIG9 / "boosted-lenet4.yaml",
        small
        + [
            f"boost.net1={tmp_path / 'net1'}",
            "boost.size=200",
            "boost.max_draws=30000",
            "boost.exit_sample=2000",
        ],
    )
    s = make_run(cfg, tmp_path / "b", log=lambda *_: None)
    assert s["memory"] == 3 * 17098 and 1.0 <= s["cost_in_nets"] <= 3.0
    pred = (tmp_path / "b" / "test_predictions.txt").read_text().strip()
    margins = np.load(tmp_path / "b" / "test_margins.npy")
    assert len(pred) == len(margins) == s["n_test"] and (margins >= 0).all()
    for net in ("net2", "net3"):  # nets 2 and 3 are ordinary (resumable) runs
        sub = json.loads((tmp_path / "b" / net / "summary.json").read_text())
        assert sub["name"] == f"fig9-boosted-lenet4-{net}" and sub["n_train"] <= 200
    assert make_run(cfg, tmp_path / "b", resume=True, log=lambda *_: None) == s  # finished: read back
    # eval --write-margins (older runs' margins): the same margins as the run wrote, checked first
    from paper_lenet.training.evaluate import eval_run

    saved = np.load(tmp_path / "net1" / "test_margins.npy")
    (tmp_path / "net1" / "test_margins.npy").unlink()
    eval_run(str(tmp_path / "net1"), as_json=True, root=str(synthetic_root), write_margins=True)
    assert np.array_equal(np.load(tmp_path / "net1" / "test_margins.npy"), saved)  # same maths, same batches
    p = tmp_path / "net1" / "test_predictions.txt"
    p.write_text(p.read_text()[::-1])
    with pytest.raises(UserError, match="not what model.pt predicts"):
        eval_run(str(tmp_path / "net1"), as_json=True, root=str(synthetic_root), write_margins=True)
    bad = load_config(FIG9 / "boosted-lenet4.yaml", small + [f"boost.net1={tmp_path / 'missing'}"])
    with pytest.raises(UserError, match="boost.net1"):
        make_run(bad, tmp_path / "c", log=lambda *_: None)
