"""schedule.py's small rules worked by hand: the minibatch rates, the thread count, h_kk's picks, which
inputs a pass sees."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from paper_lenet.config import Config
from paper_lenet.data.mnist import preprocess
from paper_lenet.training.device import set_threads
from paper_lenet.training.schedule import hessian_pick, minibatch_lr, pass_inputs, pass_order


def cfg_with(**train) -> Config:
    cfg = Config()
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_minibatch_rates_by_hand():
    cos = cfg_with(schedule="cosine", lr=0.1)
    # lr/2 (1 + cos(pi t/T)): 0.1 at the start, 0.05 half way, 0.1 (1 + cos(pi/4))/2 a quarter in
    assert minibatch_lr(cos, 0, 100) == pytest.approx(0.1, abs=1e-15)
    assert minibatch_lr(cos, 50, 100) == pytest.approx(0.05, abs=1e-15)
    assert minibatch_lr(cos, 25, 100) == pytest.approx(0.1 * (1 + math.sqrt(0.5)) / 2, abs=1e-15)
    step = cfg_with(schedule="step", lr=0.1, gamma=0.5, step_size=2, epochs=6)
    # 600 steps over 6 epochs: epoch = step // 100; the rate halves every 2 epochs
    got = [minibatch_lr(step, s, 600) for s in (0, 199, 200, 399, 400, 599)]
    assert got == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025], abs=1e-15)
    assert minibatch_lr(cfg_with(schedule="constant", lr=0.3), 17, 100) == 0.3


def test_threads_rule():
    before = torch.get_num_threads()
    try:
        assert set_threads(cfg_with(threads=0, batch_size=1)) == 1  # per-sample SDLM: one thread
        assert set_threads(cfg_with(threads=2, batch_size=1)) == 2 and torch.get_num_threads() == 2
        torch.set_num_threads(before)
        assert set_threads(cfg_with(threads=0, batch_size=16)) == before  # minibatches: torch's default
    finally:
        torch.set_num_threads(before)


def test_hessian_picks():
    cfg = Config()
    cfg.train.sdlm.hessian_samples = 30
    cfg.train.sdlm.hessian_pick = "random"
    a, b = hessian_pick(cfg, 1000, 1), hessian_pick(cfg, 1000, 2)
    assert len(a) == 30 and len(set(a.tolist())) == 30 and 0 <= a.min() and a.max() < 1000
    assert not torch.equal(a, b)  # a new draw each pass
    assert torch.equal(a, hessian_pick(cfg, 1000, 1))  # seeded by (seed, pass)
    assert len(hessian_pick(cfg, 20, 1)) == 20  # never more than the training set
    cfg.train.sdlm.hessian_pick = "first"
    assert torch.equal(hessian_pick(cfg, 1000, 5), torch.arange(30))


def test_hessian_picks_are_not_the_start_of_the_pass_order():
    """The h_kk images and the presentation order are separate draws: a shared stream would estimate
    h_kk on exactly the first images the pass then trains on."""
    cfg = Config()
    cfg.train.order, cfg.train.sdlm.hessian_samples, cfg.train.sdlm.hessian_pick = "reshuffle", 30, "random"
    for epoch in (1, 2, 3):
        assert not torch.equal(hessian_pick(cfg, 1000, epoch), pass_order(cfg, 1000, epoch)[:30]), epoch


def test_a_dist_pass_sees_fresh_distortions_and_a_plain_pass_the_originals():
    """[dist] (Sec. III-C): a pass trains on distorted copies, new ones each pass; without
    distortions every pass sees the preprocessed originals themselves."""
    cfg = Config()
    cfg.data.distortions.enabled, cfg.data.distortions.prob = True, 1.0  # every image distorted
    raw = torch.zeros(4, 28, 28, dtype=torch.uint8)
    raw[:, 6:22, 12:16] = 255  # a vertical bar: any scale, squeeze, shear or shift moves its edges
    data = SimpleNamespace(train_raw=raw, train_x=preprocess(raw, cfg.data, 32))
    one, two = pass_inputs(cfg, data, 1), pass_inputs(cfg, data, 2)
    assert (
        one.shape == data.train_x.shape and not torch.equal(one, data.train_x) and not torch.equal(one, two)
    )
    cfg.data.distortions.enabled = False
    assert pass_inputs(cfg, data, 1) is data.train_x
