"""`sweep` with seeds in lockstep: how seeds are grouped into processes, and that a lockstep sweep, a
killed one resumed one process per seed, and `--lockstep off` give each seed the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from paper_lenet import load_config
from paper_lenet.fast import build
from paper_lenet.runs.stops import KILL_AFTER_CHECKPOINT
from paper_lenet.study import sweep as S
from paper_lenet.training.lockstep import groups

PAPER = Path(__file__).resolve().parents[1] / "configs" / "lenet5_1998.yaml"
RELU = PAPER.parent / "ablations" / "paper-relu.yaml"
needs_kernel = pytest.mark.skipif(
    build.unavailable(32, "lockstep", 4) is not None,
    reason="lockstep kernel unavailable (test_lockstep_fallback covers that)",
)


def load(path, seed):
    return load_config(path, [f"seed={seed}"])


@needs_kernel
def test_seeds_split_evenly_over_jobs_and_lanes(monkeypatch):
    def seeds(n):
        return [(PAPER, s) for s in range(n)]

    monkeypatch.setenv("PAPER_LENET_LANES", "8")
    assert [s for _, s in groups([PAPER], seeds(10), 2, load)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [s for _, s in groups([PAPER], seeds(5), 1, load)] == [[0, 1, 2, 3, 4]]
    # parts under MIN_GROUP seeds (5): one process per seed, lockstep would not pay (benchmarks/README.md)
    assert [s for _, s in groups([PAPER], seeds(5), 2, load)] == [[0], [1], [2], [3], [4]]
    assert [s for _, s in groups([PAPER], seeds(1), 2, load)] == [[0]]
    assert [s for _, s in groups([PAPER], seeds(17), 2, load)] == [
        list(range(6)),
        list(range(6, 12)),
        list(range(12, 17)),
    ]  # at most 8 a process
    # two configs of 5 seeds on 2 jobs: each config's seeds stay in one lockstep process, side by side
    two = [(PAPER, s) for s in range(5)] + [(RELU, s) for s in range(5)]
    assert [(c, s) for c, s in groups([PAPER, RELU], two, 2, load)] == [
        (PAPER, [0, 1, 2, 3, 4]),
        (RELU, [0, 1, 2, 3, 4]),
    ]
    # ... but one config of 5 next to a config of 2 seeds still splits (its seeds alone fill no core)
    assert [s for _, s in groups([PAPER, RELU], seeds(5) + [(RELU, 0), (RELU, 1)], 2, load)] == [
        [0],
        [1],
        [2],
        [3],
        [4],
        [0],
        [1],
    ]


def test_without_the_fast_path_one_process_per_seed_said_once(monkeypatch):
    monkeypatch.setenv("PAPER_LENET_FAST", "off")
    notes = []
    g = groups([PAPER], [(PAPER, s) for s in range(5)], 1, load, log=notes.append)
    assert [s for _, s in g] == [[0], [1], [2], [3], [4]]
    assert len(notes) == 1 and "not in lockstep" in notes[0] and "PAPER_LENET_FAST=off" in notes[0]


def small(root):
    return (
        f"data.root={root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=2",
        "train.sdlm.hessian_samples=50",
        "train.checkpoint_every=250",
    )


def same_run(a: Path, b: Path):
    """Two runs of one seed by different paths (lockstep lane, FastStepper): 1,200 steps of the smooth
    paper variant keep rounding differences ~1e-5 (test_fast.HORIZON), far inside 1e-3."""
    wa, wb = torch.load(a / "model.pt"), torch.load(b / "model.pt")
    assert max(((wa[n] - wb[n]).abs().max() / wa[n].abs().max().clamp_min(1e-30)).item() for n in wa) <= 1e-3
    ea = json.loads((a / "summary.json").read_text())["test_error"]
    eb = json.loads((b / "summary.json").read_text())["test_error"]
    assert abs(ea - eb) <= 2 / 200  # a near-tie may flip (200 synthetic test images)


@pytest.mark.slow  # 15 two-pass runs in 11 processes (~1.5 min on 2 busy cores); test_lockstep's kill test
# is the fast one
@needs_kernel
def test_lockstep_sweep_killed_resumes_alone_and_matches_lockstep_off(synthetic_root, tmp_path, capsys):
    on, off = tmp_path / "on", tmp_path / "off"
    # one process for seeds 0-4, SIGKILLed right after its first seed's second checkpoint
    assert (
        S.sweep([str(PAPER)], small(synthetic_root), "0-4", on, jobs=1, env={KILL_AFTER_CHECKPOINT: "2"}) == 5
    )
    assert (on / "lenet5_1998" / "seeds0+1+2+3+4.log").exists()
    assert all((on / "lenet5_1998" / f"seed{s}" / "checkpoint.pt").exists() for s in range(5))
    # each seed resumes alone, in its own process, from its own checkpoint
    assert S.sweep([str(PAPER)], small(synthetic_root), "0-4", on, jobs=2, lockstep=False) == 0
    assert all((on / "lenet5_1998" / f"seed{s}.log").exists() for s in range(5))
    assert S.sweep([str(PAPER)], small(synthetic_root), "0-4", off, jobs=2, lockstep=False) == 0
    assert "runs: 5/5 done" in capsys.readouterr().out
    for s in range(5):
        same_run(on / "lenet5_1998" / f"seed{s}", off / "lenet5_1998" / f"seed{s}")


@needs_kernel
def test_sweep_runs_five_seeds_in_one_lockstep_process(synthetic_root, tmp_path, capsys):
    """--jobs 1, 5 seeds: one `train --seeds` process; every seed gets its own finished run directory."""
    over = (
        f"data.root={synthetic_root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=1",
        "train.sdlm.hessian_samples=20",
    )
    assert S.sweep([str(PAPER)], over, "0-4", tmp_path, jobs=1) == 0
    text = capsys.readouterr().out
    assert "lenet5_1998/seeds 0,1,2,3,4: done" in text and "runs: 5/5 done" in text
    assert (tmp_path / "lenet5_1998" / "seeds0+1+2+3+4.log").exists()
    for s in range(5):
        assert json.loads((tmp_path / "lenet5_1998" / f"seed{s}" / "summary.json").read_text())["seed"] == s
