"""Stop signals (paper_lenet/runs/signals.py): SIGTERM and SIGHUP to a sweep act as Ctrl-C does (forwarded
to every training process, each left resumable, exit 143 / 129), a sweep started with SIGINT ignored
stops on SIGINT, and `train` stopped by SIGTERM resumes bit-identical. Each test finds the processes
of the tree by their PIDs (a run's lock file holds its writer's PID) and checks that none is left.

No timers: each step waits for an observable event (a checkpoint file with a given position, the
process's exit), bounded by a generous timeout that only a broken build reaches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from paper_lenet.runs.runlock import LOCK
from paper_lenet.runs.stops import HOLD_AFTER_CHECKPOINT
from paper_lenet.study import sweep as S

ROOT = Path(__file__).resolve().parents[1]
# a loaded 2-core machine starts a torch process in ~10 s and trains 200 synthetic digits in seconds;
# a run that has not reached its checkpoint in 5 minutes is broken, not slow
TIMEOUT_S = 300

pytestmark = pytest.mark.slow


def wait_for(condition, what: str, procs=()):
    """Poll `condition` until true; fail when a watched process exits first or after TIMEOUT_S."""
    end = time.monotonic() + TIMEOUT_S
    while not condition():
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                pytest.fail(f"exited {p.returncode} before {what}: {err[-2000:]}")
        if time.monotonic() > end:
            pytest.fail(f"no {what} after {TIMEOUT_S} s")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def checkpoint_at(run: Path, epoch: int, pos: int) -> bool:
    """The run's checkpoint (written whole, then renamed) is at this pass and sample."""
    try:
        state = torch.load(run / "checkpoint.pt", weights_only=True)
    except (FileNotFoundError, RuntimeError, EOFError):
        return False
    return (state["epoch"], state["pos"]) == (epoch, pos)


def writer_pid(run: Path) -> int:
    return int((run / LOCK).read_text().split()[0])


def tiny(root, epochs=8):
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=200",
        f"train.epochs={epochs}",
        "train.sdlm.hessian_samples=20",
        "train.checkpoint_every=50",
    ]


@pytest.mark.parametrize(
    "signum, ignore_sigint, code, said",
    [
        (signal.SIGTERM, False, 143, "stopped by SIGTERM"),
        (signal.SIGHUP, False, 129, "stopped by SIGHUP"),
        (
            signal.SIGINT,
            True,
            130,
            "interrupted",
        ),  # a background sweep (`cmd &`): SIGINT ignored at its start
    ],
)
def test_a_stop_signal_to_a_sweep_stops_every_run_resumable(
    synthetic_root, tmp_path, signum, ignore_sigint, code, said
):
    out = tmp_path / "sweep"
    runs = [out / "lenet5_1998" / f"seed{k}" for k in (0, 1)]
    cmd = [
        sys.executable,
        "-m",
        "paper_lenet",
        "sweep",
        "lenet5_1998",
        *tiny(synthetic_root),
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        str(out),
    ]
    env = dict(os.environ, **{HOLD_AFTER_CHECKPOINT: "1"})  # each run waits after its first checkpoint
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignore_sigint else None  # inherited through exec
    try:
        sweep = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    finally:
        if ignore_sigint:
            signal.signal(signal.SIGINT, old)
    pids = []
    try:
        wait_for(lambda: all(checkpoint_at(r, 1, 50) for r in runs), "checkpoint in both runs", [sweep])
        pids = [writer_pid(r) for r in runs]
        assert all(alive(p) for p in pids) and sweep.pid not in pids
        sweep.send_signal(signum)
        _, err = sweep.communicate(timeout=TIMEOUT_S)
        assert sweep.returncode == code, err
        assert "2 run(s) stopped, each resumable; the same command continues" in err and said in err, err
        assert not [p for p in pids if alive(p)]  # every training process ended, none orphaned
    finally:
        for p in [sweep.pid, *pids]:
            if alive(p):
                os.kill(p, signal.SIGKILL)  # only this test's own processes, by PID
    for r in runs:  # each stopped at its checkpoint, resumable
        assert checkpoint_at(r, 1, 50) and not (r / "summary.json").exists()
    assert S.sweep(["lenet5_1998"], tiny(synthetic_root), "2", out, jobs=2) == 0
    assert all((r / "summary.json").exists() for r in runs)
    assert "resuming at pass 1, sample 50" in (out / "lenet5_1998" / "seed0.log").read_text()


def test_sigterm_to_train_then_resume_is_bit_identical(synthetic_root, tmp_path):
    args = ["train", "lenet5_1998", *tiny(synthetic_root, epochs=3)]
    ref, run = tmp_path / "ref", tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "paper_lenet", *args, "--out", str(ref)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    # the 7th checkpoint: pass 2, sample 150 of 200 (mid-pass, the hard case for an exact resume)
    env = dict(os.environ, **{HOLD_AFTER_CHECKPOINT: "7"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "paper_lenet", *args, "--out", str(run)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: checkpoint_at(run, 2, 150), "the 7th checkpoint", [proc])
        assert writer_pid(run) == proc.pid
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if alive(proc.pid) and proc.returncode is None:
            proc.kill()
    assert proc.returncode == 143 and "stopped by SIGTERM" in err, err
    assert not alive(proc.pid) and checkpoint_at(run, 2, 150) and not (run / "summary.json").exists()
    r = subprocess.run(
        [sys.executable, "-m", "paper_lenet", *args, "--out", str(run), "--resume"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr

    def strip(p):
        return [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (p / "metrics.jsonl").read_text().splitlines()
        ]

    assert strip(run) == strip(ref)
    wa, wb = torch.load(run / "model.pt", weights_only=True), torch.load(ref / "model.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
