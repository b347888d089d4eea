"""Lint as a habit: the README's test command runs `ruff check` and `ruff format --check` before pytest,
and CI (.ci/run) runs the README's second set-up command verbatim, so CI holds them (docs/testing.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line for b in blocks for line in b.splitlines() if "pip install" in line]


def test_the_readme_test_command_lints_and_checks_the_format_before_pytest():
    command = _setup_commands()[1]
    steps = [s.strip() for s in command.split("&&")]
    assert steps[-3:] == ["ruff check .", "ruff format --check .", "python -m pytest -q"], steps


def test_ci_runs_the_readme_second_setup_command_verbatim():
    ci = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert _setup_commands()[1] in ci


def test_ruff_is_configured_and_installed_with_the_tests():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ruff = project["tool"]["ruff"]
    assert ruff["line-length"] == 110
    assert set(ruff["lint"]["select"]) == {"F", "E", "W", "I", "B", "UP"}
    assert any(d.startswith("ruff") for d in project["project"]["optional-dependencies"]["test"])
