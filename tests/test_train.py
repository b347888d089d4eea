"""Training runs on synthetic MNIST: run directory, determinism, resume after SIGKILL, eval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from paper_lenet import load_config
from paper_lenet.runs.stops import KILL_AFTER_CHECKPOINT
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "configs" / "lenet5_1998.yaml"


def small(root, *extra):
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=600",
        "train.epochs=2",
        "train.sdlm.hessian_samples=50",
        "train.checkpoint_every=100",
        "train.sdlm.eta=[[1, 5.0e-4], [2, 2.0e-4]]",
        *extra,
    ]


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "paper_lenet", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_run_directory_contents(synthetic_root, tmp_path):
    cfg = load_config(PAPER, small(synthetic_root))
    summary = train(cfg, tmp_path / "run", log=lambda *_: None)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {
        "config.yaml",
        "env.json",
        "metrics.jsonl",
        "summary.json",
        "model.pt",
    }
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in (
        "train_error",
        "test_error",
        "train_loss",
        "test_loss",
        "lr",
        "eff_lr_min",
        "eff_lr_median",
        "eff_lr_max",
        "seconds",
    ):
        assert all(key in r for r in rows), key
    assert (
        rows[0]["lr"] == 5e-4 and rows[0]["eff_lr_min"] <= rows[0]["eff_lr_median"] <= rows[0]["eff_lr_max"]
    )
    assert rows[0]["eff_lr_max"] <= 5e-4 / 0.02 + 1e-9
    for key in (
        "test_error",
        "test_misses",
        "train_error",
        "best_test_error",
        "epochs",
        "seed",
        "n_train",
        "wall_seconds",
    ):
        assert key in summary
    assert summary["test_error"] == rows[-1]["test_error"] and summary["n_train"] == 600
    assert summary["test_error"] < 0.3  # the synthetic classes are easy: it must learn
    weights = torch.load(run / "model.pt", weights_only=True)
    assert "C1.weight" in weights
    assert "root: null" in (run / "config.yaml").read_text()  # no machine path pinned
    env = json.loads((run / "env.json").read_text())
    assert env["torch"] == torch.__version__ and env["threads"] == 1


def test_same_seed_same_metrics_different_seed_differs(synthetic_root, tmp_path):
    a = train(load_config(PAPER, small(synthetic_root)), tmp_path / "a", log=lambda *_: None)
    b = train(load_config(PAPER, small(synthetic_root)), tmp_path / "b", log=lambda *_: None)
    train(load_config(PAPER, small(synthetic_root, "seed=1")), tmp_path / "c", log=lambda *_: None)
    ma, mb = (tmp_path / "a" / "metrics.jsonl").read_text(), (tmp_path / "b" / "metrics.jsonl").read_text()

    def strip(t):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in t.splitlines()]

    assert strip(ma) == strip(mb) and a["test_error"] == b["test_error"]
    assert strip(ma) != strip((tmp_path / "c" / "metrics.jsonl").read_text())


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["train.sdlm.hessian=running"],
        [
            "train.optimizer=adam",
            "train.batch_size=32",
            "train.loss=cross_entropy",
            "model.head=linear",
            "model.pooling=max",
            "model.activation=relu",
        ],
    ],
)
def test_sigkill_mid_pass_then_resume_is_bit_identical(synthetic_root, tmp_path, extra):
    """The run SIGKILLs itself after its 15th checkpoint (a test-only trigger, so the kill lands at
    the same point on any machine, however fast or loaded): mid-way through pass 2 of 3."""
    args = small(synthetic_root, "train.epochs=3", "train.checkpoint_every=50", *extra)
    ref = tmp_path / "ref"
    assert cli("train", str(PAPER), *args, "--out", str(ref)).returncode == 0
    run = tmp_path / "run"
    killed = cli(
        "train", str(PAPER), *args, "--out", str(run), env=dict(os.environ, **{KILL_AFTER_CHECKPOINT: "15"})
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (run / "summary.json").exists() and not (run / "model.pt").exists()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 2 and 0 < state["pos"] < 600  # mid-pass: the hard case for exact resume
    assert cli("train", str(PAPER), *args, "--out", str(run)).returncode == 2  # exists, no --resume
    r = cli("train", str(PAPER), *args, "--out", str(run), "--resume")
    assert r.returncode == 0, r.stderr

    def strip(p):
        return [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (p / "metrics.jsonl").read_text().splitlines()
        ]

    assert strip(run) == strip(ref)
    wa, wb = torch.load(run / "model.pt", weights_only=True), torch.load(ref / "model.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    r = cli("train", str(PAPER), *args, "--out", str(run), "--resume")
    assert r.returncode == 0 and "already finished" in r.stdout + r.stderr


def test_invalid_config_creates_no_run_directory(tmp_path):
    out = tmp_path / "never"
    r = cli("train", str(PAPER), "train.optimzer=adam", "--out", str(out))
    assert r.returncode == 2 and "did you mean train.optimizer" in r.stderr and not out.exists()


def test_resume_with_other_config_refused(synthetic_root, tmp_path):
    args = small(synthetic_root, "train.epochs=1")
    assert cli("train", str(PAPER), *args, "--out", str(tmp_path / "r")).returncode == 0
    r = cli("train", str(PAPER), *args, "train.sdlm.mu=0.5", "--out", str(tmp_path / "r"), "--resume")
    assert r.returncode == 2 and "different config" in r.stderr


def test_eval_equals_summary(synthetic_root, tmp_path):
    args = small(synthetic_root, "train.epochs=1")
    run = tmp_path / "r"
    assert cli("train", str(PAPER), *args, "--out", str(run)).returncode == 0
    env = dict(os.environ, PAPER_LENET_DATA=str(synthetic_root))  # the saved config pins no root
    r = cli("eval", str(run), "--json", env=env)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    summary = json.loads((run / "summary.json").read_text())
    assert got["test_error"] == summary["test_error"] and got["test_misses"] == summary["test_misses"]
    conf = got["confusion"]
    assert len(conf) == 10 and sum(map(sum, conf)) == 200
    assert sum(conf[i][j] for i in range(10) for j in range(10) if i != j) == summary["test_misses"]


def test_minibatch_sgd_and_sdlm_batches_learn(synthetic_root, tmp_path):
    for i, extra in enumerate(
        [
            ["train.optimizer=sgd", "train.batch_size=16", "train.lr=0.001", "train.schedule=step"],
            ["train.batch_size=8"],
        ]
    ):
        s = train(
            load_config(PAPER, small(synthetic_root, "train.epochs=3", *extra)),
            tmp_path / str(i),
            log=lambda *_: None,
        )
        assert s["test_error"] < 0.5, extra


def test_full_train_eval_scores_the_whole_training_set_after_each_pass(synthetic_root, tmp_path):
    s = train(
        load_config(PAPER, small(synthetic_root, "train.full_train_eval=true")),
        tmp_path / "r",
        log=lambda *_: None,
    )
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["train_error_full"] <= 1 for r in rows)
    assert (
        s["train_error"] == rows[-1]["train_error_full"]
        and s["train_error_on_the_fly"] == rows[-1]["train_error"]
    )


def test_device_switch(monkeypatch):
    from paper_lenet.errors import ConfigError
    from paper_lenet.training.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(load_config(PAPER, ["train.device=auto"])).type == "cpu"
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device(load_config(PAPER, ["train.device=cuda"]))


def test_optimizer_settings_reach_the_optimizer(synthetic_root, tmp_path):
    from paper_lenet.training.train import Trainer

    cfg = load_config(
        PAPER,
        small(
            synthetic_root,
            "train.optimizer=sgd",
            "train.batch_size=16",
            "train.momentum=0.5",
            "train.weight_decay=1e-4",
            "train.lr=0.01",
        ),
    )
    (tmp_path / "r").mkdir()
    run = Trainer(cfg, tmp_path / "r", log=lambda *_: None)
    g = run.opt.param_groups[0]
    assert isinstance(run.opt, torch.optim.SGD) and (g["momentum"], g["weight_decay"], g["lr"]) == (
        0.5,
        1e-4,
        0.01,
    )


def test_resume_with_nothing_to_resume_is_an_error_naming_the_directory(synthetic_root, tmp_path):
    """A mistyped --out with --resume must not start a fresh run silently; --resume-if-possible does."""
    args = ["train", str(PAPER), *small(synthetic_root, "train.epochs=1"), "--out"]
    for where in (tmp_path / "no_such_run", tmp_path / "empty"):
        if where.name == "empty":
            where.mkdir()
        r = cli(*args, str(where), "--resume")
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert f"{where}: --resume, but nothing to resume there" in r.stderr
        assert not (where / "config.yaml").exists() and where.exists() == (where.name == "empty")
    r = cli(*args, str(tmp_path / "no_such_run"), "--resume-if-possible")
    assert r.returncode == 0 and (tmp_path / "no_such_run" / "summary.json").exists(), r.stderr
