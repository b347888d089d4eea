"""Slow checks on the real MNIST files (pytest -m slow): the quickstart run and its promised error; bench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_lenet import load_config
from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import find_file
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_file(resolve_root(None), "train-images-idx3-ubyte") is None,
        reason="real MNIST not downloaded (run `paper-lenet download`)",
    ),
]


def test_quickstart_reaches_under_two_percent(tmp_path):
    """configs/quickstart.yaml: the paper's architecture trained with the authors' protocol, a few minutes on
    2 cores, test error < 2%."""
    summary = train(load_config(ROOT / "configs" / "quickstart.yaml"), tmp_path / "q", log=print)
    assert summary["test_error"] < 0.02, summary
    rows = [json.loads(line) for line in (tmp_path / "q" / "metrics.jsonl").read_text().splitlines()]
    # the paper reports eps_k of about 7e-5 .. 0.016 in the first pass; ours must be of that order
    assert 1e-6 < rows[0]["eff_lr_min"] < 1e-3 and 1e-3 < rows[0]["eff_lr_max"] <= 5e-4 / 0.02


def test_bench_runs_and_reports_every_figure(capsys):
    """`paper-lenet bench` end to end with few steps: every figure present, positive, and printed."""
    from paper_lenet.tools.bench import _table, bench

    res = bench(steps=100, log=lambda *_: None)
    # figures only: how fast is the benchmark's business (benchmarks/README.md), not a test's
    assert res["per_sample_step_us"]["fast"] > 0 and res["speedup"] > 0
    assert set(res["variants"]) == {
        "relu",
        "max_pool",
        "c3_full",
        "linear_ce",
        "subsample_average",
        "map_loss",
        "running_hkk",
    }
    for key in (
        "minibatch_epoch_s",
        "minibatch_epoch_s_1thread",
        "minibatch_epoch_s_autograd",
        "curvature_s",
    ):
        assert res[key] > 0, key
    assert set(res["fig9"]) == {"lenet1", "lenet4", "mlp-300", "mlp-1000"}
    assert all(v["per_sample_step_us"]["fast"] > 0 and v["run_steps_min"] > 0 for v in res["fig9"].values())
    text = _table(res)
    assert "modern minibatch epoch" in text and "autograd" in text and "projected lenet5_1998 run" in text
    assert "fig9/lenet4" in text
    ls = res["lockstep"]
    assert set(ls["model_steps_per_s"]) == {1, 2, 4, 8, 16} and all(
        v > 0 for v in ls["model_steps_per_s"].values()
    )
    assert all(v > 0 for v in ls["fma_peak_gflops"].values()) and "seeds in lockstep" in text


@pytest.mark.slow
def test_wheel_outside_the_checkout_knows_configs_by_name(tmp_path):
    """A wheel installed in a fresh venv (torch and co. from this environment) runs `info lenet5_1998` by
    name, and `predict` with the weights packaged in it."""
    import os
    import subprocess
    import sys

    import numpy
    import torch

    whl = tmp_path / "whl"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(whl), str(ROOT)], check=True
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    deps = {str(Path(m.__file__).parents[1]) for m in (torch, numpy)}  # site-packages with torch, numpy, ...
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sorted(deps)))
    pip, exe = venv / "bin" / "pip", venv / "bin" / "paper-lenet"
    subprocess.run(
        [str(pip), "install", "-q", "--no-deps", "--force-reinstall", *whl.glob("*.whl")], check=True
    )
    away = tmp_path / "elsewhere"
    away.mkdir()
    r = subprocess.run([str(exe), "info", "lenet5_1998"], capture_output=True, text=True, cwd=away, env=env)
    assert r.returncode == 0 and "60,000" in r.stdout, r.stderr
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import paper_lenet, sys; print(paper_lenet.__file__)"],
        capture_output=True,
        text=True,
        cwd=away,
        env=env,
    )
    assert str(venv) in r.stdout  # the wheel's copy, not the checkout's
    from PIL import Image, ImageDraw

    img = Image.new("L", (60, 80), 255)
    ImageDraw.Draw(img).line([(15, 15), (45, 15), (25, 70)], fill=0, width=6)  # a 7
    img.save(away / "seven.png")
    r = subprocess.run(
        [str(exe), "predict", "seven.png", "--json"], capture_output=True, text=True, cwd=away, env=env
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["model"] == "lenet5_1998 seed0"
