"""A run directory under concurrent use and failures (issue 23): one writer at a time (an flock),
a failed start leaves nothing, damaged files are one-line errors naming them, a failed checkpoint
write keeps the previous checkpoint, and the Ray backend binds a local Ray to the loopback address."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from paper_lenet import files
from paper_lenet.cli import main
from paper_lenet.config import load_config
from paper_lenet.errors import UserError
from paper_lenet.runs.runlock import LOCK, holder
from paper_lenet.runs.stops import KILL_AFTER_CHECKPOINT
from paper_lenet.study import cluster
from paper_lenet.study.sweep import sweep
from paper_lenet.tools.pictures import write_png
from paper_lenet.training.train import train

ROOT = Path(__file__).resolve().parents[1]


def tiny(root, *extra):
    # 200 images, hessian 20, checkpoints every 50: each pass writes 3 mid-pass checkpoints and 1 at its end
    return [
        f"data.root={root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=2",
        "train.sdlm.hessian_samples=20",
        "train.checkpoint_every=50",
        *extra,
    ]


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def metrics(run):
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (run / "metrics.jsonl").read_text().splitlines()
    ]


@pytest.fixture
def held(tmp_path):
    """A run directory whose lock this test process holds (through its own file descriptor)."""
    run = tmp_path / "held"
    run.mkdir()
    fd = os.open(run / LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, f"{os.getpid()}\n".encode())
    yield run
    os.close(fd)


def test_a_second_writer_is_refused_with_the_holders_pid(held, synthetic_root):
    for extra in ([], ["--resume"]):
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "paper_lenet",
                "train",
                "lenet5_1998",
                *tiny(synthetic_root),
                "--out",
                str(held),
                *extra,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert p.returncode == 2 and p.stderr == f"paper-lenet: error: {held}: in use by pid {os.getpid()}\n"
    assert [p.name for p in held.iterdir()] == [LOCK]  # the refused writers wrote nothing
    assert holder(held) == os.getpid()


def test_the_lock_is_released_by_a_killed_writer_and_at_the_end(synthetic_root, tmp_path):
    run = tmp_path / "run"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "paper_lenet",
            "train",
            "lenet5_1998",
            *tiny(synthetic_root),
            "--out",
            str(run),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, **{KILL_AFTER_CHECKPOINT: "2"}),
    )
    assert p.returncode < 0 and (run / "checkpoint.pt").exists()
    assert holder(run) is None  # the kernel dropped the killed process's lock
    train(load_config("lenet5_1998", tiny(synthetic_root)), run, resume=True, log=lambda *_: None)
    assert holder(run) is None and (run / "summary.json").exists()


def test_sweep_and_the_ray_backend_skip_a_run_another_process_holds(
    held, synthetic_root, tmp_path, monkeypatch, capsys
):
    out = held.parent
    target = out / "lenet5_1998" / "seed0"
    target.parent.mkdir()
    held.rename(target)  # the held directory, where the sweep puts seed 0 (the lock fd follows the inode)
    assert sweep(["lenet5_1998"], tiny(synthetic_root), "1", out, jobs=1) == 1
    assert f"lenet5_1998/seed0: skipped, in use by pid {os.getpid()}" in capsys.readouterr().out
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "init", lambda **kw: pytest.fail("nothing to run: Ray must not start"))
    assert cluster.run_set_ray([("lenet5_1998", 0)], out, tiny(synthetic_root)) == 1
    assert f"in use by pid {os.getpid()}" in capsys.readouterr().out
    assert [p.name for p in target.iterdir()] == [LOCK]


def test_a_local_ray_binds_the_loopback_address_without_dashboard(synthetic_root, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    seen = {}

    def init(**kw):
        seen.update(kw)
        raise RuntimeError("stop here")

    monkeypatch.setattr(ray, "init", init)
    with pytest.raises(RuntimeError, match="stop here"):
        cluster.run_set_ray([("lenet5_1998", 0)], tmp_path / "runs", tiny(synthetic_root))
    assert seen["address"] is None and seen["_node_ip_address"] == "127.0.0.1"
    assert seen["include_dashboard"] is False
    assert not (tmp_path / "runs").exists()  # the claimed, never written run folder is gone again


@pytest.mark.parametrize(
    "args, why", [(["seed=-3"], "seed must be in 0.."), (["data.root={missing}"], "MNIST files missing")]
)
def test_a_failed_start_leaves_no_directory(synthetic_root, tmp_path, capsys, args, why):
    args = [a.format(missing=tmp_path / "nothing") for a in args]
    out = tmp_path / "a" / "b"
    assert main(["train", "lenet5_1998", *tiny(synthetic_root), *args, "--out", str(out)]) == 2
    one_line_error(capsys, why)
    assert not (tmp_path / "a").exists()
    out.mkdir(parents=True)  # an empty folder given as --out: emptied again, kept
    assert main(["train", "lenet5_1998", *tiny(synthetic_root), *args, "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir() if p.name != LOCK] == []


def test_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    f = tmp_path / "FILE"
    f.write_text("x")
    assert main(["train", "lenet5_1998", "--out", str(f)]) == 2
    one_line_error(capsys, f"{f}: exists and is not a directory")
    assert main(["train", "lenet5_1998", "--out", str(f / "sub")]) == 2
    one_line_error(capsys, f"{f / 'sub'}: cannot create the run directory")


def _full_disk_at(k, monkeypatch):
    """torch.save fails like a full disk on its k-th call, after writing part of the file."""
    real, calls = torch.save, []

    def save(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == k:
            f.write(b"PK\x03\x04 half a zip")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", save)


# checkpoints 1-3 mid pass 1, 4 at its end, 5-7 mid pass 2: k=1 fails the very first, k=6 one in pass 2
@pytest.mark.parametrize("k", [1, 6])
def test_a_failed_checkpoint_write_keeps_the_previous_one_and_resume_continues(
    synthetic_root, tmp_path, monkeypatch, k
):
    cfg = load_config("lenet5_1998", tiny(synthetic_root))
    whole = tmp_path / "whole"
    train(cfg, whole, log=lambda *_: None)
    run = tmp_path / "run"
    _full_disk_at(k, monkeypatch)
    with pytest.raises(UserError, match=f"{run / 'checkpoint.pt'}: cannot write .*No space left"):
        train(cfg, run, log=lambda *_: None)
    monkeypatch.undo()
    if k == 1:  # failed before any checkpoint: a failed start, nothing left
        assert not run.exists()
        return
    assert not [p.name for p in run.iterdir() if p.name.startswith(".") and p.name != LOCK]  # no temp file
    assert files.load_torch(run / "checkpoint.pt")["epoch"] == 2  # checkpoint 5: pass 2 begun, still valid
    train(cfg, run, resume=True, log=lambda *_: None)
    assert metrics(run) == metrics(whole)
    assert (run / "test_predictions.txt").read_text() == (whole / "test_predictions.txt").read_text()


@pytest.fixture(scope="module")
def finished_run(synthetic_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("finished") / "lenet5_1998" / "seed0"
    train(load_config("lenet5_1998", tiny(synthetic_root, "train.epochs=1")), run, log=lambda *_: None)
    return run


GARBAGE = {"bytes": b"\x80\x04\x95 not a pickle \xff\xfe", "empty": b"", "json": b"[1, 2]"}


@pytest.mark.parametrize("name", ["model.pt", "summary.json", "test_predictions.txt", "config.yaml"])
@pytest.mark.parametrize("junk", ["bytes", "empty", "truncated", "json"])
def test_a_damaged_run_file_is_a_one_line_error_naming_it(
    finished_run, synthetic_root, tmp_path, capsys, name, junk
):
    run = tmp_path / "lenet5_1998" / "seed0"
    shutil.copytree(finished_run, run)
    f = run / name
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2] if junk == "truncated" else GARBAGE[junk])
    digit = np.zeros((28, 28))
    digit[6:22, 12:15] = 255  # a "1"
    png = write_png(tmp_path / "digit.png", digit)
    commands = {
        "model.pt": [
            ["eval", str(run), "--root", str(synthetic_root)],
            ["predict", str(png), "--run", str(run)],
        ],
        "summary.json": [["compare", str(run.parent), "--root", str(synthetic_root)]],
        "test_predictions.txt": [
            ["compare", str(run.parent), "--root", str(synthetic_root)],
            ["eval", str(run), "--root", str(synthetic_root), "--write-margins"],
        ],
        "config.yaml": [["eval", str(run), "--root", str(synthetic_root)]],
    }
    for argv in commands[name]:
        rc = main(argv)
        err = capsys.readouterr().err
        if rc == 0:  # a damage that leaves a valid file of that kind (an empty config: the defaults)
            continue
        assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        assert name in err or str(run) in err, (argv, err)


@pytest.mark.parametrize("junk", ["bytes", "empty", "truncated", "json"])
def test_a_damaged_checkpoint_is_a_one_line_error_on_resume(synthetic_root, tmp_path, capsys, junk):
    run = tmp_path / "run"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "paper_lenet",
            "train",
            "lenet5_1998",
            *tiny(synthetic_root),
            "--out",
            str(run),
        ],
        capture_output=True,
        cwd=ROOT,
        env=dict(os.environ, **{KILL_AFTER_CHECKPOINT: "1"}),
    )
    assert p.returncode < 0
    ck = run / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2] if junk == "truncated" else GARBAGE[junk])
    assert main(["train", "lenet5_1998", *tiny(synthetic_root), "--out", str(run), "--resume"]) == 2
    one_line_error(capsys, f"{ck}: ")
    assert ck.exists()  # kept: the run stays as it was
