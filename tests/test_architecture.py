"""docs/architecture.md keeps the truth: it names every module of paper_lenet/ (as `room/name.py`, or
`name.py` at the top level) and names none that does not exist; the module lists of the package's
docstrings point at the registry instead of copying the methods."""

from __future__ import annotations

import re
from pathlib import Path

from paper_lenet.core.registry import methods

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
OTHER_TREES = ("experiments/", "tests/", "dev/", "benchmarks/")


def _named(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/.])((?:[A-Za-z_]\w*/)*[A-Za-z_]\w*\.py)\b", text))


def test_the_architecture_page_names_every_module_and_no_other():
    text = DOC.read_text()
    named = _named(text)
    package = {str(p.relative_to(ROOT / "paper_lenet")) for p in (ROOT / "paper_lenet").rglob("*.py")}
    required = {p for p in package if p != "__init__.py" and not p.endswith("/__init__.py")}
    missing = sorted(required - named)
    assert missing == [], f"docs/architecture.md does not name: {missing}"
    ghosts = sorted(
        n
        for n in named
        if not (ROOT / n).exists()
        if not (ROOT / "paper_lenet" / n).exists()
        and not n.startswith(OTHER_TREES)
        and not (ROOT / "experiments" / n).exists()
    )
    assert ghosts == [], f"docs/architecture.md names modules that do not exist: {ghosts}"


def test_the_check_sees_a_missing_and_a_ghost_module():
    assert {"core/model.py", "files.py", "experiments/report.py"} <= _named(
        "a `core/model.py` b files.py, experiments/report.py"
    )
    assert "model.py" not in _named("core/model.py")


def test_docstrings_point_at_the_registry_instead_of_listing_the_methods():
    """No docstring of the package lists four or more model.arch names in a row: they say where the
    list is (registry.methods())."""
    names = "|".join(sorted(methods(), key=len, reverse=True))
    listing = re.compile(rf"\b(?:{names})\b(?:, (?:{names})\b){{3,}}")
    found = {
        str(p.relative_to(ROOT)): m.group(0)
        for p in (ROOT / "paper_lenet").rglob("*.py")
        if (m := listing.search(p.read_text()))
    }
    assert found == {}
