"""Each config's open choices and how strong each is: experiments/provenance.yaml, read here.

The tables' "test seen before a choice" column and RESULTS' list of every choice made after test
figures of its row had been seen both come from those records (tests/test_provenance.py checks them
against the history: a validation run committed after its config's first test run must be named).
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import yaml

FILE = Path(__file__).resolve().parent / "provenance.yaml"
KEYS = {"setting", "how", "validation", "test_seen", "after", "before_test", "note"}


def load(path: Path = FILE) -> dict[str, list[dict]]:
    """{config name: [record, ...]}; a ValueError naming the file and config on an unknown key."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    for name, recs in data.items():
        for r in recs or []:
            if not isinstance(r, dict) or not {"setting", "how"} <= set(r) or set(r) - KEYS:
                raise ValueError(f"{path}: {name}: a record needs setting and how, and only {sorted(KEYS)}")
            if r.get("test_seen") and not r.get("after"):
                raise ValueError(f"{path}: {name}: {r['setting']}: test_seen without after")
    return {n: list(r or []) for n, r in data.items()}


RECORDS = load()


def seen(name: str, records=None) -> list[dict]:
    """The config's records made after test figures of its row had been seen."""
    return [r for r in (RECORDS if records is None else records).get(name, []) if r.get("test_seen")]


def column(name: str, records=None) -> str:
    """The tables' cell: `yes (gamma, after 1.34%; ...)`, `no`, or `-` (no record for this config)."""
    recs = RECORDS if records is None else records
    if name not in recs:
        return "-"
    s = seen(name, recs)
    return "yes (" + "; ".join(f"{r['setting']}, after {r['after']}" for r in s) + ")" if s else "no"


def names_run(record: dict, run: str) -> bool:
    """Whether the record's validation list names the validation run (a name or an fnmatch pattern)."""
    return any(fnmatch(run, p) for p in record.get("validation") or [])


def cases_section(
    names, records=None, title: str = "### Choices made after test figures of the row had been seen"
) -> str:
    """RESULTS' list: every choice made after its row's test figures had been seen, then the notes."""
    recs = RECORDS if records is None else records
    lines = [
        f"{title}\n",
        f"From `{FILE.relative_to(FILE.parents[1])}` (each record: the setting, how it was chosen, the "
        "validation runs, which test figures had been seen first, with commits). The tables' \"test seen "
        'before a choice" column is generated from the same records.\n',
    ]
    for name in names:
        for r in seen(name, recs):
            lines.append(
                f"- `{name}`, {r['setting']}: {r['test_seen']}. Chosen by: {r['how']}"
                + (f" ({', '.join(f'`{v}`' for v in r['validation'])})" if r.get("validation") else "")
                + (f". {r['note']}" if r.get("note") else "")
                + "."
            )
    other = [(n, r) for n in names for r in recs.get(n, []) if not r.get("test_seen") and r.get("note")]
    if other:
        lines.append("\nOther caveats (no test figure seen first):\n")
        lines += [f"- `{n}`, {r['setting']}: {r['note']}." for n, r in other]
    return "\n".join(lines) + "\n"
