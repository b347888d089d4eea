"""`train --seeds` where the lockstep kernel does not apply: the seeds train one after another, as
separate runs, and it says so once (runs on any machine: nothing here needs a C compiler)."""

from __future__ import annotations

import json
from pathlib import Path

from paper_lenet import load_config
from paper_lenet.study.make import train_many
from paper_lenet.training.lockstep import lockstep_supported

PAPER = Path(__file__).resolve().parents[1] / "configs" / "lenet5_1998.yaml"


def test_without_the_fast_path_seeds_train_one_by_one(synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_LENET_FAST", "off")  # as on a machine without a C compiler
    over = [
        f"data.root={synthetic_root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=1",
        "train.sdlm.hessian_samples=20",
    ]
    cfgs = [load_config(PAPER, [*over, f"seed={s}"]) for s in (0, 1)]
    assert "PAPER_LENET_FAST=off" in lockstep_supported(cfgs[0])
    logs = []
    got = train_many(cfgs, [tmp_path / "seed0", tmp_path / "seed1"], log=logs.append)
    notices = [entry for entry in logs if "notice: seeds not in lockstep" in str(entry)]
    assert len(notices) == 1 and "PAPER_LENET_FAST=off" in notices[0]
    assert [g["seed"] for g in got] == [0, 1]
    for s in (0, 1):
        assert json.loads((tmp_path / f"seed{s}" / "summary.json").read_text())["seed"] == s
