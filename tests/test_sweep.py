"""paper-lenet sweep (process backend): seed specs, overrides, skipping finished runs, resuming killed
ones, Ctrl-C. The Ray backend: tests/test_cluster.py."""

from __future__ import annotations

import json
import signal

import pytest
import yaml

from paper_lenet.cli import main
from paper_lenet.errors import UserError
from paper_lenet.runs.runlock import LOCK
from paper_lenet.runs.stops import HOLD_AFTER_CHECKPOINT, KILL_AFTER_CHECKPOINT
from paper_lenet.study import sweep as S


def tiny(root, epochs=2):
    return (
        f"data.root={root}",
        "data.download=false",
        "data.train_size=200",
        f"train.epochs={epochs}",
        "train.sdlm.hessian_samples=20",
        "train.checkpoint_every=50",
    )


def metrics(run):
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (run / "metrics.jsonl").read_text().splitlines()
    ]


@pytest.mark.parametrize(
    "spec, seeds",
    [
        ("5", [0, 1, 2, 3, 4]),
        ("1", [0]),
        ("0-4", [0, 1, 2, 3, 4]),
        ("2-2", [2]),
        ("0,3,7", [0, 3, 7]),
        (3, [0, 1, 2]),
    ],
)
def test_seed_specs(spec, seeds):
    assert S.parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["3-1", "0", "", "a", "1,1", "1-", "-1", "0..4"])
def test_bad_seed_specs_are_one_line_errors(spec):
    with pytest.raises(UserError, match="--seeds"):
        S.parse_seeds(spec)


def test_cli_bad_input_exit_2_and_nothing_written(tmp_path, capsys):
    out = tmp_path / "sweep"
    for argv in (
        ["lenet5_1998", "--seeds", "3-1"],
        ["lenet5_1998", "train.epochz=1", "--seeds", "2"],
        ["no_such_config", "--seeds", "2"],
        ["lenet5_1998", "seed=3", "--seeds", "2"],
        ["lenet5_1998", "lenet5_1998.yaml", "--seeds", "2"],
        ["lenet5_1998", "--seeds", "2", "--jobs", "0"],
    ):
        assert main(["sweep", *argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("paper-lenet: error: ") and err.count("\n") == 1, err
        assert not out.exists()
    assert main(["sweep", "lenet5_1998", "--seeds", "3-1", "--out", str(out)]) == 2
    assert "the range ends before it starts" in capsys.readouterr().err


def test_overrides_reach_every_run_and_finished_runs_are_skipped(synthetic_root, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert S.sweep(["lenet5_1998", "modern"], tiny(synthetic_root, epochs=1), "3-3", out, jobs=2) == 0
    text = capsys.readouterr().out
    assert "runs: 2/2 done, 0 running, 0 waiting" in text
    stamps = {}
    for name in ("lenet5_1998", "modern"):
        for seed in (3,):
            run = out / name / f"seed{seed}"
            cfg = yaml.safe_load((run / "config.yaml").read_text())
            assert (cfg["seed"], cfg["name"]) == (seed, name)
            assert (
                cfg["data"]["train_size"] == 200
                and cfg["train"]["epochs"] == 1
                and cfg["train"]["threads"] == 1
            )
            assert json.loads((run / "summary.json").read_text())["epochs"] == 1
            assert "pass  1/1" in (out / name / f"seed{seed}.log").read_text()
            stamps[run] = (run / "summary.json").stat().st_mtime_ns
    assert S.sweep(["lenet5_1998", "modern"], tiny(synthetic_root, epochs=1), "3-3", out) == 0
    text = capsys.readouterr().out
    assert text.count("finished already") == 2 and "runs: 2/2 done" in text
    assert all((run / "summary.json").stat().st_mtime_ns == t for run, t in stamps.items())  # untouched
    # other overrides into the same folder: the finished runs are not this config's, nothing runs
    with pytest.raises(UserError, match=r"lenet5_1998/seed3: finished with another config"):
        S.sweep(["lenet5_1998", "modern"], tiny(synthetic_root, epochs=2), "3-3", out)
    assert all((run / "summary.json").stat().st_mtime_ns == t for run, t in stamps.items())


def test_killed_run_is_resumed_and_equals_an_uninterrupted_one(synthetic_root, tmp_path, capsys):
    extra = tiny(synthetic_root)
    assert S.sweep(["lenet5_1998"], extra, "1", tmp_path / "whole") == 0
    # SIGKILL after the 2nd checkpoint (sample 100 of pass 1): one failed run, resumable
    assert S.sweep(["lenet5_1998"], extra, "1", tmp_path / "killed", env={KILL_AFTER_CHECKPOINT: "2"}) == 1
    run = tmp_path / "killed" / "lenet5_1998" / "seed0"
    assert "failed (exit -9" in capsys.readouterr().out
    assert (run / "checkpoint.pt").exists() and not (run / "summary.json").exists()
    assert S.sweep(["lenet5_1998"], extra, "1", tmp_path / "killed") == 0
    assert "resuming at pass 1, sample 100" in (run.parent / "seed0.log").read_text()
    whole = tmp_path / "whole" / "lenet5_1998" / "seed0"
    assert metrics(run) == metrics(whole)
    assert (run / "test_predictions.txt").read_text() == (whole / "test_predictions.txt").read_text()


def test_ctrl_c_stops_every_training_process_and_leaves_resumable_runs(synthetic_root, tmp_path, monkeypatch):
    extra = tiny(synthetic_root, epochs=8)
    hold = {HOLD_AFTER_CHECKPOINT: "1"}  # each run waits after its first checkpoint: neither can end first
    out = tmp_path / "sweep"
    seen = []
    real_wait = S._wait_any

    def wait_then_interrupt(running, poll_s=0.2, caught=()):
        """Ctrl-C once both runs have written a checkpoint (a file condition, polled; not a timer)."""
        seen.extend(running)
        runs = [out / "lenet5_1998" / f"seed{k}" for k in (0, 1)]
        while not all((r / "checkpoint.pt").exists() for r in runs):
            if any(p.poll() is not None for p in running):  # a run failed to start: let the sweep report it
                return real_wait(running, poll_s, caught)
            S.time.sleep(0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "_wait_any", wait_then_interrupt)
    # as a sweep started in the background (`cmd &`): SIGINT ignored here, and so inherited by its runs,
    # which must still stop on _stop's SIGINT (the train command restores it)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(KeyboardInterrupt):
            S.sweep(["lenet5_1998"], extra, "2", out, jobs=2, env=hold)
    finally:
        signal.signal(signal.SIGINT, old)
    assert len(seen) == 2 and all(p.returncode is not None and p.returncode != 0 for p in seen)
    assert all(
        p.returncode != -signal.SIGKILL for p in seen
    )  # ended by _stop's SIGINT, not SIGKILLed after STOP_WAIT_S
    for k in (0, 1):
        run = out / "lenet5_1998" / f"seed{k}"
        assert not (run / "summary.json").exists() and (run / "checkpoint.pt").exists()
        assert not [
            p.name for p in run.iterdir() if p.name.startswith(".") and p.name != LOCK
        ]  # no half-written file
    monkeypatch.setattr(S, "_wait_any", real_wait)
    assert S.sweep(["lenet5_1998"], extra, "2", out, jobs=2) == 0
    assert all((out / "lenet5_1998" / f"seed{k}" / "summary.json").exists() for k in (0, 1))
    assert "resuming at pass" in (out / "lenet5_1998" / "seed0.log").read_text()


def test_help_says_what_a_signal_does_to_each_backend(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "SIGTERM or SIGHUP is forwarded to every run" in text
    assert "ray: the same signals cancel every task" in text and "start again from the beginning" in text
