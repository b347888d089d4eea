"""The package's house (docs/architecture.md): paper_lenet/ grouped by role into at most 15 top-level
modules (a .py file or a folder; the package's own __init__.py is its face, not a room), the rooms'
imports acyclic, and at most 9 floors. A room's floor is one above the highest room any of its modules
imports (module-level and function-level imports alike; the rooms are the top-level modules, a folder
counting as one), 1 for a room that imports no other.

To see the house: `python -m pytest -q tests/test_house.py -s -k print` prints each room's floor and
what it stands on."""

from __future__ import annotations

from pathlib import Path

from test_layout import GRAPH

ROOT = Path(__file__).resolve().parents[1]
MAX_FLOORS, MAX_TOP = 9, 15


def room(module: str) -> str | None:
    """paper_lenet.core.model -> core; paper_lenet (the face) -> None; outside the package -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "paper_lenet" and len(parts) > 1 else None


def rooms() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m, deps in GRAPH.items():
        r = room(m)
        if r is None:
            continue
        out.setdefault(r, set())
        out[r] |= {room(t) for t, _, _ in deps if room(t) not in (None, r) and t in GRAPH}
    return out


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    seen: dict[str, int] = {}

    def floor(r, stack=()):
        assert r not in stack, f"rooms import each other: {' -> '.join((*stack, r))}"
        if r not in seen:
            seen[r] = 1 + max((floor(d, (*stack, r)) for d in graph[r]), default=0)
        return seen[r]

    for r in sorted(graph):
        floor(r)
    return seen


def test_at_most_15_modules_at_the_top_level():
    top = [
        p.stem if p.is_file() else p.name
        for p in (ROOT / "paper_lenet").iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()
    ]
    assert len(top) <= MAX_TOP, sorted(top)
    assert set(rooms()) == set(top)  # every room read


def test_the_rooms_import_no_cycle_and_stand_at_most_9_floors():
    f = floors(rooms())
    assert max(f.values()) <= MAX_FLOORS, f
    assert f["paper"] == f["errors"] == 1 and f["files"] == 2  # the lower house
    assert f["data"] < f["config"] or "config" not in rooms()["data"]  # data/ stands on neither config
    assert not {"config", "tools"} & rooms()["data"]  # nor pictures (tools/pictures.py)
    assert "fast" not in rooms()["core"] and "config" not in rooms()["core"]  # the registry's low table


def test_the_floor_count_by_hand():
    assert floors({"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": set()}) == {"a": 1, "b": 2, "c": 3, "d": 1}


def test_print_the_house(capsys):
    g, f = rooms(), floors(rooms())
    for r in sorted(g, key=lambda r: (-f[r], r)):
        print(f"floor {f[r]}  {r:12} on {', '.join(sorted(g[r], key=lambda d: -f[d]))}")
    assert capsys.readouterr().out.count("floor") == len(g)
