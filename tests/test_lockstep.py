"""Seeds in lockstep (fast/lockstep.c, paper_lenet.training.lockstep): every lane against its own single-model
fast run (FastStepper, itself held to autograd by test_fast.py), and `train --seeds` against `train`."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import torch

from paper_lenet import build_model, load_config
from paper_lenet.core.sdlm import curvature, sdlm_rates
from paper_lenet.data.mnist import load_mnist
from paper_lenet.fast import FastStepper, build
from paper_lenet.fast.lockstep import LockstepStepper, lanes_for
from paper_lenet.runs.stops import KILL_AFTER_CHECKPOINT
from paper_lenet.study.make import train_many
from paper_lenet.training.lockstep import lockstep_supported
from paper_lenet.training.train import train

if build.unavailable(32, "lockstep", 4) is not None:  # test_lockstep_fallback.py covers the fallback
    pytest.skip(
        f"lockstep kernel unavailable: {build.unavailable(32, 'lockstep', 4)}", allow_module_level=True
    )

from test_fast import HORIZON, PAPER, VARIANTS, max_rel, one_thread  # noqa: F401  (one_thread: autouse)
from test_fast_running import RUNNING_VARIANTS, rel_diff

SEEDS = (0, 1, 2)  # three lanes: a library of 4, one lane spare (it steps a copy and is dropped)


def setups(root, extra, eta=5e-4):
    """Per seed: (cfg, data, single-path model, lockstep model: same init, rates from 50 samples)."""
    out = []
    for s in SEEDS:
        cfg = load_config(
            PAPER, [f"data.root={root}", "data.download=false", "data.train_size=600", f"seed={s}", *extra]
        )
        data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
        single = build_model(cfg.model, seed=cfg.seed)
        hess = curvature(single, data.train_x[:50], data.train_y[:50], cfg.train.loss, cfg.train.map_j)
        out.append(
            (cfg, data, single, copy.deepcopy(single), sdlm_rates(single, hess, eta, cfg.train.sdlm.mu), hess)
        )
    return out


def orders(n, k0=0):
    """Each seed its own sample order (seeded by the seed)."""
    return [torch.randperm(600, generator=torch.Generator().manual_seed(100 + s))[k0 : k0 + n] for s in SEEDS]


def run_all(runs, idxs, running=False):
    """FastStepper on each seed alone, and one LockstepStepper on all: ([single], [lockstep]) results."""
    cfg = runs[0][0]
    lock = LockstepStepper([r[3] for r in runs], cfg.train.loss, cfg.train.map_j)
    single = []
    for k, (c, data, m, _, rates, hess) in enumerate(runs):
        s = FastStepper(m, c.train.loss, c.train.map_j)
        s.set_rates(rates)
        lock.set_rates(k, rates)
        if running:
            s.set_running(hess, 5e-4, c.train.sdlm.mu, 0.05)
            lock.set_running(k, hess, 5e-4, c.train.sdlm.mu, 0.05)
        single.append(s.run(data.train_x, data.train_y, idxs[k]))
        if running:
            single[-1] = (single[-1], s.running_hessian())
    res = lock.run(range(len(runs)), [r[1].train_x for r in runs], [r[1].train_y for r in runs], idxs)
    if running:
        res = [(r, lock.running_hessian(k)) for k, r in enumerate(res)]
    return single, res


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_matches_each_seeds_fast_step(synthetic_root, variant):
    runs = setups(synthetic_root, VARIANTS[variant])
    before = [copy.deepcopy(r[2]) for r in runs]
    single, lock = run_all(runs, orders(1))
    assert lock[0] != lock[1]  # the lanes really are different models on different samples
    for k, r in enumerate(runs):
        assert single[k][0] == lock[k][0] and lock[k][1] == pytest.approx(single[k][1], rel=1e-5)
        # one step of float32 in another summation order: ~1e-7 relative, measured <= 1.3e-6; a lane
        # reading another lane's weight, or a term lost, is off by far more
        rel, where = max_rel(r[2], r[3])
        assert rel <= 1e-5, f"{variant} seed {SEEDS[k]}: {where} differs by {rel:.2e} relative"
        for (n, p0), (_, ps), (_, pl) in zip(
            before[k].named_parameters(), r[2].named_parameters(), r[3].named_parameters(), strict=False
        ):
            ds, dl = ps - p0, pl - p0  # the update itself, as test_fast checks it
            assert ds.abs().max() > 0, n
            assert (dl - ds).abs().max() <= 1e-3 * ds.abs().max() + 1e-6 * p0.abs().max(), n


@pytest.mark.parametrize("variant", VARIANTS)
def test_thousand_steps_stay_with_each_seeds_fast_run(synthetic_root, variant):
    """1,000 steps, compared and re-synchronised every HORIZON steps (test_fast.HORIZON: the tanh
    variants forget rounding differences over 1,000 steps; `modern` is chaotic beyond ~400)."""
    runs = setups(synthetic_root, VARIANTS[variant])
    idxs = [torch.cat([o, o[:400]]) for o in orders(600)]
    errs_s, errs_l = [0] * 3, [0] * 3
    h = HORIZON[variant]
    for a in range(0, 1000, h):
        single, lock = run_all(runs, [i[a : a + h] for i in idxs])
        for k, r in enumerate(runs):
            errs_s[k] += single[k][0]
            errs_l[k] += lock[k][0]
            rel, where = max_rel(r[2], r[3])
            # as test_fast's thousand-step bound: rounding stays at ~1e-6..1e-5 within the horizon;
            # 1e-3 leaves room for other CPUs, a wrong update leaves it within a few steps
            assert rel <= 1e-3, f"{variant} seed {SEEDS[k]}: {where} drifted {rel:.2e} within {h} steps"
            r[3].load_state_dict(r[2].state_dict())
    for k in range(3):  # on-the-fly errors: a near-tie may flip once in a while (as test_fast)
        assert abs(errs_s[k] - errs_l[k]) <= 2, (k, errs_s, errs_l)
        assert errs_l[k] < 500  # each lane learned (chance is 900 of 1,000)


@pytest.mark.parametrize("variant", RUNNING_VARIANTS)
def test_running_h_kk_matches_each_seeds_fast_run(synthetic_root, variant):
    """hessian=running: 20 patterns per lane, weights and sigma (test_fast_running's bounds)."""
    runs = setups(synthetic_root, RUNNING_VARIANTS[variant])
    single, lock = run_all(runs, orders(20), running=True)
    for k, r in enumerate(runs):
        (es, ls), sig_s = single[k]
        (el, ll), sig_l = lock[k]
        assert es == el and ll == pytest.approx(ls, rel=1e-5)
        # 20 float32 steps measured <= 2e-6 apart (test_fast_running); a lane's h_p mixed with
        # another's, or sigma averaged wrongly, is off by O(1)
        assert max_rel(r[2], r[3])[0] <= 1e-4
        rel, where = rel_diff(sig_l, sig_s)
        assert rel <= 1e-4, f"{variant} seed {SEEDS[k]}: sigma of {where} differs by {rel:.2e} relative"


def test_lanes_left_out_are_untouched(synthetic_root):
    """A subset of the models steps (a resumed seed catching up): the others keep their weights exactly."""
    runs = setups(synthetic_root, [])
    lock = LockstepStepper([r[3] for r in runs], "mse", 10.0)
    assert lock.K == lanes_for(3) == 4
    for k, r in enumerate(runs):
        lock.set_rates(k, r[4])
    idx = orders(30)
    frozen = [copy.deepcopy(runs[k][3]) for k in (0, 2)]
    ((e, _),) = lock.run([1], [runs[1][1].train_x], [runs[1][1].train_y], [idx[1]])
    for m, r in zip(frozen, (runs[0], runs[2]), strict=False):
        assert all(
            torch.equal(a, b)
            for a, b in zip(m.state_dict().values(), r[3].state_dict().values(), strict=False)
        )
    s = FastStepper(runs[1][2], "mse", 10.0)
    s.set_rates(runs[1][4])
    assert s.run(runs[1][1].train_x, runs[1][1].train_y, idx[1])[0] == e
    assert max_rel(runs[1][2], runs[1][3])[0] <= 1e-5  # 30 steps of a smooth variant: rounding level


def small(root, *extra):
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=2",
        "train.sdlm.hessian_samples=50",
        *extra,
    ]


def test_seeds_in_lockstep_train_as_single_runs(synthetic_root, tmp_path):
    """train --seeds: each seed's run directory holds what `train` of that seed alone writes."""
    cfgs = [load_config(PAPER, small(synthetic_root, f"seed={s}")) for s in SEEDS]
    logs = []
    got = train_many(cfgs, [tmp_path / f"seed{s}" for s in SEEDS], log=logs.append)
    assert not any("notice" in str(entry) for entry in logs)  # no fallback
    alone = train(cfgs[1], tmp_path / "alone", log=lambda *_: None)
    a = torch.load(tmp_path / "alone" / "model.pt")
    b = torch.load(tmp_path / "seed1" / "model.pt")
    # 1,200 steps of the smooth paper variant: rounding stays ~1e-5 (test_fast.HORIZON)
    assert max((a[n] - b[n]).abs().max() / a[n].abs().max().clamp_min(1e-30) for n in a) <= 1e-3
    assert abs(got[1]["test_error"] - alone["test_error"]) <= 2 / 200  # a near-tie may flip (200 test images)
    assert got[0]["seed"] == 0 and got[2]["seed"] == 2 and got[0]["test_error"] < 0.5


def test_killed_lockstep_resumes_as_uninterrupted(synthetic_root, tmp_path):
    """SIGKILL right after the first seed's second checkpoint (seeds 1, 2 are then a checkpoint
    behind): --resume lets them catch up alone, then all three go on together, and every run
    ends exactly as in an uninterrupted lockstep run on this machine (the same lane arithmetic)."""
    cmd = [
        sys.executable,
        "-m",
        "paper_lenet",
        "train",
        str(PAPER),
        *small(synthetic_root),
        "train.checkpoint_every=250",
        "train.threads=1",
        "--seeds",
        "0-2",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    killed = subprocess.run(
        cmd + ["--out", str(tmp_path / "k")],
        env=dict(env, **{KILL_AFTER_CHECKPOINT: "2"}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    pos = [torch.load(tmp_path / "k" / f"seed{s}" / "checkpoint.pt", weights_only=True)["pos"] for s in SEEDS]
    assert pos[0] > pos[1] == pos[2] > 0  # the catch-up path is what resumes
    resumed = subprocess.run(
        cmd + ["--out", str(tmp_path / "k"), "--resume"], env=env, capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = subprocess.run(
        cmd + ["--out", str(tmp_path / "u")], env=env, capture_output=True, text=True, check=False
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    for s in SEEDS:
        a = torch.load(tmp_path / "k" / f"seed{s}" / "model.pt")
        b = torch.load(tmp_path / "u" / f"seed{s}" / "model.pt")
        assert all(torch.equal(a[n], b[n]) for n in a), s
        ma = (tmp_path / "k" / f"seed{s}" / "metrics.jsonl").read_text().splitlines()
        mb = (tmp_path / "u" / f"seed{s}" / "metrics.jsonl").read_text().splitlines()
        assert _sans_time(ma) == _sans_time(mb), s
        assert not (tmp_path / "k" / f"seed{s}" / "checkpoint.pt").exists()


def _sans_time(rows):
    """metrics.jsonl rows without their wall time (every other figure must be the same)."""
    return [{k: v for k, v in json.loads(r).items() if k != "seconds"} for r in rows]


def test_lockstep_supported_reasons(monkeypatch):
    cfg = load_config(PAPER)
    assert lockstep_supported(cfg, 5) is None
    assert "train.fast=off" in lockstep_supported(load_config(PAPER, ["train.fast=off"]))
    assert "per-sample" in lockstep_supported(load_config(PAPER, ["train.batch_size=8"]))
    monkeypatch.setenv("PAPER_LENET_FAST", "off")
    assert "PAPER_LENET_FAST=off" in lockstep_supported(cfg)


def test_portable_build_steps_like_the_native_one(synthetic_root, tmp_path, monkeypatch):
    """PAPER_LENET_FAST=portable (no -march: the lane vectors lowered to SSE2 pieces) stands in for
    another CPU: each lane still meets the one-step bound."""
    monkeypatch.setenv("PAPER_LENET_CACHE", str(tmp_path))
    monkeypatch.setenv("PAPER_LENET_FAST", "portable")
    assert build.build(32, "lockstep", 4) == build.library_path(32, build.PORTABLE, "lockstep", 4)
    runs = setups(synthetic_root, [])
    single, lock = run_all(runs, orders(1))
    for k, r in enumerate(runs):
        assert single[k][0] == lock[k][0] and lock[k][1] == pytest.approx(single[k][1], rel=1e-5)
        assert max_rel(r[2], r[3])[0] <= 1e-5  # as test_one_step_matches_each_seeds_fast_step
