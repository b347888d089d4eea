"""The house rules of the layout (docs/architecture.md): which way imports point, no cycles at any
level, lazy imports only of optional heavy dependencies, no private names across modules, the
comparison above LeNet-5's core, and a wheel that knows the configs a checkout knows."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from paper_lenet.config import CONFIGS, known_configs

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("paper_lenet", "experiments")
LAZY_OK = (
    "matplotlib",
    "ray",
    "sklearn",
    "joblib",
    "PIL",
)  # optional heavy dependencies (joblib: scikit-learn's own): imported where used
# the rooms below the comparison (LeNet-5's core, its config, data, compiled path, run directories and
# training): none of them imports the comparison, the study, the tools or the command line
CORE = ("paper", "errors", "files", "_version", "core", "config", "data", "fast", "runs", "training")
ABOVE_CORE = ("comparison", "study", "tools", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            out[".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = p
    return out


def _imports(mod: str, path: Path, mods: dict) -> list[tuple[str, str, bool]]:
    """(imported module or name's module, the name imported or '', at module level?) for every import."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    base = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")[: len(base.split(".")) - node.level + 1]
                target = ".".join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub if sub in mods else target, "" if sub in mods else a.name, id(node) in top))
        elif isinstance(node, ast.Import):
            out += [(a.name, "", id(node) in top) for a in node.names]
    return out


GRAPH = {m: _imports(m, p, _modules()) for m, p in _modules().items()}


def test_the_graph_was_read():
    assert sum(len(v) for v in GRAPH.values()) > 200
    assert ("paper_lenet.core.registry", "method", True) in GRAPH["paper_lenet.training.steppers"]


def test_no_import_cycle_at_any_level():
    graph = {m: {t for t, _, _ in deps if t in GRAPH and t != m} for m, deps in GRAPH.items()}
    state = {}

    def visit(m, stack):
        state[m] = 1
        for d in sorted(graph[m]):
            assert state.get(d) != 1, f"import cycle: {' -> '.join(stack + [m, d])}"
            if d not in state:
                visit(d, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_function_level_imports_only_of_optional_heavy_dependencies():
    lazy = [
        (m, t)
        for m, deps in GRAPH.items()
        for t, _, top in deps
        if not top and t.split(".")[0] not in LAZY_OK
    ]
    assert lazy == []


def test_the_library_never_imports_the_study_and_the_core_never_the_comparison():
    for m, deps in GRAPH.items():
        targets = {t for t, _, _ in deps}
        if m.startswith("paper_lenet"):
            assert not any(t.split(".")[0] == "experiments" for t in targets), m
        parts = m.split(".")
        if len(parts) > 1 and parts[0] == "paper_lenet" and parts[1] in CORE:
            above = {t for t in targets if t.split(".")[1:2] and t.split(".")[1] in ABOVE_CORE}
            assert not above, (m, above)


def test_no_private_name_imported_across_modules():
    private = [
        (m, t, n)
        for m, deps in GRAPH.items()
        for t, n, _ in deps
        if n.startswith("_") and n != "__version__" and t.split(".")[0] in PACKAGES
    ]
    assert private == []


def test_no_source_file_over_300_lines():
    files = [p for pkg in PACKAGES for ext in ("*.py", "*.c", "*.h") for p in (ROOT / pkg).rglob(ext)]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > 300}
    assert len(files) > 40 and long == {}


@pytest.mark.slow
def test_the_wheel_ships_every_config_the_checkout_knows(tmp_path):
    """Builds the wheel (pip, no build isolation: ~10 s): its configs are exactly known_configs()."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    prefix = "paper_lenet/configs/"
    names = sorted(
        n[len(prefix) : -5]
        for n in zipfile.ZipFile(wheel).namelist()
        if n.startswith(prefix) and n.endswith(".yaml") and not Path(n).name.startswith("_")
    )
    assert names == known_configs() and len(names) > 30
    assert sorted(p.name for p in CONFIGS.iterdir() if p.is_dir()) == ["ablations", "fig9"]


@pytest.mark.slow
def test_the_wheel_builds_without_a_deprecation_warning_and_carries_its_licence(tmp_path):
    """pyproject's licence as an SPDX string plus license-files (a TOML table is deprecated: setuptools
    warns, and stops building such projects after 2027-02-18)."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Deprecat" not in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: MIT" in z.read(meta).decode().splitlines()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in z.namelist())
