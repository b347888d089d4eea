"""benchmarks/fig9_fits.py: the fitted rows' fit times from run files, and its exit status at the limit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("fig9_fits", ROOT / "benchmarks" / "fig9_fits.py")
fig9_fits = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fig9_fits)


def fake_run(root: Path, name: str, epochs: int, wall: float, **summary):
    d = root / name / "seed0"
    d.mkdir(parents=True)
    (d / "summary.json").write_text(
        json.dumps({"name": name, "seed": 0, "epochs": epochs, "wall_seconds": wall, **summary})
    )
    (d / "metrics.jsonl").write_text(json.dumps({"fit_seconds": wall - 10, "test_seconds": 5}) + "\n")
    (d / "env.json").write_text(json.dumps({"threads": 1}))
    (d / "config.yaml").write_text(
        f"name: {name}\n" + ("svm: {machines: ovr, jobs: 2}\n" if "svm-poly4" in name else "")
    )


def test_rows_and_limit(tmp_path, capsys):
    fake_run(tmp_path, "fig9-svm-poly4", 0, 400.0, svc_fit_seconds=390.0)
    fake_run(tmp_path, "fig9-vsvm-poly9", 0, 1900.0, svc_fit_seconds=900.0, svc_fit_seconds_total=1800.0)
    fake_run(tmp_path, "fig9-lenet4", 20, 5000.0)  # a trained net: not a fit, left out
    got = fig9_fits.rows(tmp_path)
    assert [(r[0], r[2], r[5], r[7]) for r in got] == [
        ("fig9-svm-poly4", 390.0, 390.0, 2),
        ("fig9-vsvm-poly9", 1890.0, 1800.0, 1),
    ]
    assert fig9_fits.main([str(tmp_path)]) == 1  # 1,900 s is over 30 minutes
    assert "over it ['fig9-vsvm-poly9']" in capsys.readouterr().out
    assert fig9_fits.main([str(tmp_path), "--limit-min", "32"]) == 0
    assert fig9_fits.main([str(tmp_path / "none")]) == 2
