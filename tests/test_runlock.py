"""The run lock (paper_lenet/runs/runlock.py) seen from another process: whatever this process took, it
gives back. `holder()` ignores this process's own locks, so only a second process can tell whether a
lock taken in process (the Python API's train(), a notebook, the Ray backend's driver) was released:
each check here asks a real subprocess to take the lock the way another writer would."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paper_lenet.config import load_config
from paper_lenet.runs.runlock import LOCK, holder, lock, unlock
from paper_lenet.study.sweep import THREADS, sweep
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]
# another writer: an exclusive, non-blocking flock on <run>/.lock (what runlock.lock takes), then exit
# (which drops it). Plain Python, no torch: 0.05 s a check.
TAKE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("refused")
else:
    print("taken")
"""


def another_process_takes(run: Path) -> bool:
    p = subprocess.run([sys.executable, "-c", TAKE, str(run / LOCK)], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() in ("taken", "refused"), p.stderr
    return p.stdout.strip() == "taken"


def this_process_takes_another_descriptor(run: Path) -> bool:
    """flock belongs to the open file: a second open() of .lock in this very process conflicts with a
    lock held through the first one."""
    fd = os.open(run / LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def tiny(root):
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=1",
        "train.sdlm.hessian_samples=20",
        "train.checkpoint_every=100",
    ]


def test_a_lock_taken_twice_and_released_twice_is_free(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lock(run)
    assert (run / LOCK).read_text() == f"{os.getpid()}\n"  # the holder's pid, for the refusal message
    umask = os.umask(0)
    os.umask(umask)
    assert (
        run / LOCK
    ).stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file: read-write, never executable
    assert holder(run) is None  # holder() names another process: this one's own lock is not a reason to skip
    lock(run)  # re-entrant: the same process opens the run again
    assert not another_process_takes(run)
    unlock(run)
    assert not another_process_takes(run)  # taken twice, released once: still held
    assert not this_process_takes_another_descriptor(run)
    unlock(run)
    assert another_process_takes(run)  # taken twice, released twice: free
    assert this_process_takes_another_descriptor(run)
    assert holder(run) is None
    unlock(run)  # one release too many is harmless: nothing is held
    lock(run)  # and the lock can be taken again, once, and given back
    assert not another_process_takes(run)
    unlock(run)
    assert another_process_takes(run)
    for _ in range(3):  # three deep (a run reopened inside a reopened run): free after the third release only
        lock(run)
    for held in (True, True, False):
        unlock(run)
        assert another_process_takes(run) is not held


def test_another_process_can_take_the_run_after_an_in_process_train_and_sweep(
    synthetic_root, tmp_path, capsys
):
    extra = tiny(synthetic_root)
    out = tmp_path / "sweep"
    run = out / "lenet5_1998" / "seed0"  # where the sweep puts seed 0: train() runs it first, in this process
    train(load_config("lenet5_1998", ["seed=0", *THREADS, *extra]), run, log=lambda *_: None)
    assert (run / "summary.json").exists()
    assert another_process_takes(run)  # the API's train() has returned: its lock is gone
    # a real writer in a second process: reopening the finished run is "nothing to do", not "in use by pid"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "paper_lenet",
            "train",
            "lenet5_1998",
            "seed=0",
            *THREADS,
            *extra,
            "--out",
            str(run),
            "--resume",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0 and "run already finished" in p.stdout + p.stderr, p.stderr
    # the process backend starts its own training processes: the finished run is found, not touched
    assert sweep(["lenet5_1998"], extra, "1", out) == 0
    assert "finished already" in capsys.readouterr().out
    assert another_process_takes(run)
    # the Ray backend's driver claims every run directory in this process, then gives each back
    # (a finished run is found before anything is submitted: Ray never starts)
    pytest.importorskip("ray")
    assert sweep(["lenet5_1998"], extra, "1", out, backend="ray") == 0
    assert "finished already" in capsys.readouterr().out
    assert another_process_takes(run)
    assert this_process_takes_another_descriptor(run)
