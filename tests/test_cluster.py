"""paper-lenet sweep --backend ray (paper_lenet.study.cluster): the same runs as the process backend,
resumed after a kill. Skipped when ray is not installed (`pip install -e '.[cluster]'`; .ci/run installs
it)."""

from __future__ import annotations

import io
import json

import pytest
import torch

from paper_lenet.runs.stops import KILL_AFTER_CHECKPOINT
from paper_lenet.study import cluster
from paper_lenet.study.sweep import sweep

CONFIGS = ["lenet5_1998", "modern"]  # shipped names


def tiny(root):
    return (
        f"data.root={root}",
        "data.download=false",
        "data.train_size=200",
        "train.epochs=2",
        "train.sdlm.hessian_samples=20",
        "train.checkpoint_every=50",
    )


def test_progress_line_and_atomic_run_writes(tmp_path):
    p = cluster.Progress(5, jobs=2, stream=io.StringIO())
    assert p.line(2) == "runs: 0/5 done, 2 running, 3 waiting"
    p.finished(60)
    p.finished(180)
    p.finished()  # a failed run: done, but its time says nothing about the others'
    # 2 runs left, 2 side by side, mean finished run (60 + 180) / 2 = 120 s: 120 s = 2.0 min to go
    assert p.line(2) == "runs: 3/5 done, 2 running, 0 waiting, about 2.0 min to go"
    out = tmp_path / "name" / "seed0"
    out.mkdir(parents=True)
    (out / "checkpoint.pt").write_bytes(b"a killed local run")
    cluster.write_run(out, {"summary.json": b"{}", "model.pt": b"w"})
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "summary.json"]
    assert [p.name for p in out.parent.iterdir()] == ["seed0"]  # no temporary folder left behind


def test_ray_backend_equals_process_backend_and_resumes_killed_tasks(synthetic_root, tmp_path, capsys):
    pytest.importorskip("ray")
    extra = tiny(synthetic_root)
    assert sweep(CONFIGS, extra, "1", tmp_path / "process", jobs=2) == 0
    # every Ray task's run is SIGKILLed after its 2nd checkpoint (mid pass 1), then retried from the
    # checkpoint it sent back: the result must still equal the uninterrupted process runs
    failed = sweep(
        CONFIGS, extra, "1", tmp_path / "ray", jobs=2, backend="ray", env={KILL_AFTER_CHECKPOINT: "2"}
    )
    assert failed == 0
    text = capsys.readouterr().out
    assert "retry 1 from its last checkpoint" in text and "runs: 2/2 done, 0 running, 0 waiting" in text
    for name in CONFIGS:
        a, b = tmp_path / "process" / name / "seed0", tmp_path / "ray" / name / "seed0"

        def strip(p):
            return [
                {k: v for k, v in json.loads(line).items() if k != "seconds"}
                for line in (p / "metrics.jsonl").read_text().splitlines()
            ]

        assert strip(a) == strip(b), name
        assert (a / "test_predictions.txt").read_text() == (b / "test_predictions.txt").read_text()
        wa, wb = torch.load(a / "model.pt", weights_only=True), torch.load(b / "model.pt", weights_only=True)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), name
        assert not (b / "checkpoint.pt").exists()
    # finished runs are skipped before anything is submitted (no Ray start at all)
    assert sweep(CONFIGS, extra, "1", tmp_path / "ray", backend="ray") == 0
    assert capsys.readouterr().out.count("finished already") == 2


def test_ctrl_c_cancels_every_task_and_writes_nothing(synthetic_root, tmp_path, monkeypatch):
    """KeyboardInterrupt while waiting: each submitted task is cancelled, no run directory appears."""
    ray = pytest.importorskip("ray")
    cancelled = []
    real_cancel = ray.cancel

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    def cancel(ref, **k):
        cancelled.append(ref)
        return real_cancel(ref, **k)

    monkeypatch.setattr(ray, "wait", interrupt)
    monkeypatch.setattr(ray, "cancel", cancel)
    with pytest.raises(KeyboardInterrupt):
        sweep(CONFIGS, tiny(synthetic_root), "1", tmp_path / "ray", jobs=2, backend="ray")
    assert len(cancelled) == 2 and not (tmp_path / "ray").exists()
    assert not ray.is_initialized()  # and Ray was shut down
