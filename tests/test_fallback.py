"""Without the fast path: PAPER_LENET_FAST=off, no C compiler, or one that fails. Training must
fall back to autograd with a notice (train.fast=auto) or stop with a one-line error (train.fast=on).
These tests need no compiler, so they run everywhere, unlike tests/test_fast.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paper_lenet import build_model, load_config
from paper_lenet.errors import ConfigError
from paper_lenet.fast import build, fast_supported
from paper_lenet.training.steppers import make_stepper

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "configs" / "lenet5_1998.yaml"


@pytest.fixture(autouse=True)
def fast_switch_unset(monkeypatch):
    """Each test sets PAPER_LENET_FAST itself (the suite may run with it set to off)."""
    monkeypatch.delenv("PAPER_LENET_FAST", raising=False)


def test_unavailable_fast_path_on_raises_auto_falls_back(monkeypatch):
    model = build_model(load_config(PAPER).model, seed=0)
    monkeypatch.setattr(build, "compiler", lambda: None)
    assert "no C compiler" in fast_supported(model, load_config(PAPER))
    with pytest.raises(ConfigError, match="fast path is unavailable.*no C compiler"):
        make_stepper(model, load_config(PAPER, ["train.fast=on"]), log=lambda *_: None)
    notes = []
    assert make_stepper(model, load_config(PAPER), log=notes.append).name == "reference"
    assert "notice" in notes[0] and "no C compiler" in notes[0]

    def broken(size, lib="lenet5"):
        raise RuntimeError("compiling the fast path failed")

    monkeypatch.setattr(build, "compiler", lambda: "gcc")
    monkeypatch.setattr(build, "load", broken)
    with pytest.raises(ConfigError, match="compiling the fast path failed"):
        make_stepper(model, load_config(PAPER, ["train.fast=on"]), log=lambda *_: None)


def test_compiler_failure_is_a_clear_runtime_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_LENET_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with pytest.raises(RuntimeError, match="compiling the fast path failed"):
        build.build(32)
    assert not list(tmp_path.rglob("*.so"))  # no half-built library left behind


def test_fast_off_switch_gives_autograd(monkeypatch):
    """PAPER_LENET_FAST=off: what a machine without a C compiler gets, on purpose."""
    monkeypatch.setenv("PAPER_LENET_FAST", "off")
    cfg = load_config(PAPER)
    model = build_model(cfg.model, seed=0)
    assert "PAPER_LENET_FAST=off" in fast_supported(model, cfg)
    notes = []
    assert (
        make_stepper(model, cfg, log=notes.append).name == "reference" and "PAPER_LENET_FAST=off" in notes[0]
    )
    with pytest.raises(ConfigError, match="unavailable"):
        make_stepper(model, load_config(PAPER, ["train.fast=on"]), log=lambda *_: None)
    monkeypatch.setenv("PAPER_LENET_FAST", "fastest")
    assert "expected auto, off or portable" in build.unavailable()


def test_training_without_a_c_compiler_falls_back_to_autograd(synthetic_root, tmp_path):
    """`paper-lenet train` end to end with no compiler on PATH (Windows, macOS without the
    command-line tools): a notice, then the autograd path trains the run to the end."""
    bindir = tmp_path / "bin"  # PATH with python only: no gcc, no cc
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "PAPER_LENET_FAST")}
    env.update(PATH=str(bindir), PAPER_LENET_CACHE=str(tmp_path / "cache"))
    args = [
        f"data.root={synthetic_root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=1",
        "train.sdlm.hessian_samples=20",
    ]
    r = subprocess.run(
        [sys.executable, "-m", "paper_lenet", "train", str(PAPER), *args, "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "fast path unavailable (no C compiler" in r.stdout + r.stderr
    assert (tmp_path / "run" / "summary.json").exists() and not (tmp_path / "cache").exists()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "paper_lenet",
            "train",
            str(PAPER),
            *args,
            "train.fast=on",
            "--out",
            str(tmp_path / "on"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "no C compiler" in r.stderr and r.stderr.strip().count("\n") == 0
