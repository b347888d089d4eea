"""experiments/provenance.yaml against the committed history: a validation run committed after
its config's first committed test run must be named by a record of that config (which then says whether
test figures had been seen); every config of the Fig. 9 and headline tables has its records; the tables'
column and RESULTS' list come from them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from experiments import provenance as P
from experiments.study import FIG9_ROWS, FIG9_SUBROWS, HEADLINE
from paper_lenet.config import CONFIGS

ROOT = Path(__file__).resolve().parents[1]
VAL_CONFIGS = ROOT / "experiments" / "configs" / "validation"


def _git(*args) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def added():
    """{("runs"|"validation", run name): (commit time, commit)} of the first commit adding a summary.json."""
    try:
        if _git("rev-parse", "--is-shallow-repository").strip() == "true":
            pytest.skip("a shallow clone has no history to check against")
        log = _git(
            "log",
            "--reverse",
            "--diff-filter=A",
            "--name-only",
            "--format=@%H %ct",
            "--",
            "results/runs",
            "results/validation",
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    first, cur = {}, None
    for line in log.splitlines():
        if line.startswith("@"):
            h, t = line[1:].split()
            cur = (int(t), h)
        elif m := re.fullmatch(r"results/(runs|validation)/([^/]+)/seed\d+/summary\.json", line):
            first.setdefault((m[1], m[2]), cur)
    return first


def chain_owner(run: str) -> str | None:
    """The config a validation config is built on: its `base:` chain followed to the first shipped config."""
    f = next(VAL_CONFIGS.rglob(f"{run}.yaml"), None)
    for _ in range(20):
        if f is None or not f.exists():
            return None
        base = (yaml.safe_load(f.read_text()) or {}).get("base")
        if base is None:
            return None
        local = f.parent / base
        if local.exists() and local.is_file():
            f = local
            continue
        shipped = CONFIGS / (base if base.endswith(".yaml") else f"{base}.yaml")
        return yaml.safe_load(shipped.read_text())["name"] if shipped.exists() else None
    return None


def test_every_table_config_has_its_records():
    names = [n for _, n in FIG9_ROWS if n] + [n for subs in FIG9_SUBROWS.values() for n, _ in subs] + HEADLINE
    missing = [n for n in names if n not in P.RECORDS]
    assert not missing, f"configs in the tables without records in {P.FILE.name}: {missing}"


def test_every_named_validation_run_exists():
    runs = {p.stem for p in VAL_CONFIGS.rglob("val-*.yaml")}
    for name, recs in P.RECORDS.items():
        for r in recs:
            for pat in r.get("validation") or []:
                assert any(P.names_run(r, v) for v in runs), f"{name}: {pat} names no validation config"


def test_a_validation_run_after_the_first_test_run_is_named(added):
    first_test: dict[str, tuple[int, str]] = {}
    for (kind, name), when in added.items():
        if kind == "runs":
            first_test[name] = min(first_test.get(name, when), when)
    problems, checked = [], 0
    for (kind, run), when in sorted(added.items()):
        if kind != "validation":
            continue
        claims = {n for n, recs in P.RECORDS.items() if any(P.names_run(r, run) for r in recs)}
        chain = chain_owner(run)
        if claims and chain and chain.startswith("fig9-") and chain not in claims:
            problems.append(f"{run}: built on {chain}, but named only by {sorted(claims)}")
        for owner in claims or {chain}:
            if owner in first_test and first_test[owner] < when:
                checked += 1
                if owner not in claims:
                    problems.append(
                        f"{run} (committed {when[1][:7]}) came after {owner}'s first test run "
                        f"({first_test[owner][1][:7]}) and no record of {owner} names it"
                    )
    assert not problems, "\n".join(problems)
    assert checked >= 40  # the history holds dozens of such runs (the classical ridges, the SVMs, the nets)


def test_before_test_commits_precede_the_first_test_run(added):
    for name, recs in P.RECORDS.items():
        for r in recs:
            if "before_test" not in r:
                continue
            firsts = sorted(when for (kind, n), when in added.items() if kind == "runs" and n == name)
            assert firsts, name
            commit = _git("rev-parse", r["before_test"]).strip()
            # the cited commit is an ancestor of (or is) the commit that first added a test run of the row
            ok = subprocess.run(
                ["git", "-C", str(ROOT), "merge-base", "--is-ancestor", commit, firsts[0][1]]
            ).returncode
            assert ok == 0, f"{name}: before_test {r['before_test']} is not before its first test run"


def test_the_column_and_the_list_come_from_the_records(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "a": [
                    {
                        "setting": "gamma",
                        "how": "grid",
                        "validation": ["val-a-*"],
                        "test_seen": "its run at 1.34%",
                        "after": "1.34%",
                    },
                    {"setting": "C", "how": "tie", "note": "a caveat"},
                ],
                "b": [],
                "c": [{"setting": "k", "how": "in the fit"}],
            }
        )
    )
    recs = P.load(f)
    assert P.column("a", recs) == "yes (gamma, after 1.34%)"
    assert P.column("b", recs) == "no" and P.column("c", recs) == "no" and P.column("zzz", recs) == "-"
    text = P.cases_section(["a", "b", "c"], recs)
    assert "`a`, gamma: its run at 1.34%" in text and "`val-a-*`" in text and "`a`, C: a caveat" in text
    f.write_text(yaml.safe_dump({"a": [{"setting": "gamma", "how": "grid", "test_seen": "x"}]}))
    with pytest.raises(ValueError, match="test_seen without after"):
        P.load(f)
    f.write_text(yaml.safe_dump({"a": [{"setting": "gamma", "how": "grid", "typo": 1}]}))
    with pytest.raises(ValueError, match="a: a record needs"):
        P.load(f)


def test_the_issue_cases_are_recorded():
    # the cases a review of the history found (issue 32): each is a record with test_seen
    for name, setting in (
        ("fig9-tangent", "prefilter"),
        ("fig9-vsvm-poly9", "gamma"),
        ("fig9-rsvm-poly5", "iterations"),
        ("fig9-rsvm-poly5", "scheme"),
        ("fig9-svm-poly4", "gamma"),
        ("fig9-mlp-500-150", "schedule"),
        ("fig9-mlp-500-150-dist", "schedule"),
        ("fig9-knn", "Fig. 10 score"),
        ("fig9-svm-poly4", "Fig. 10 score"),
        ("lenet5_1998_text", "paper config"),
        ("fig9-lenet1", "schedule"),
        ("fig9-linear-deslant", "deslant"),
    ):
        assert any(setting in r["setting"] for r in P.seen(name)), (name, setting)
    assert any(
        "trained on" in r.get("note", "") or "fitted" in r.get("note", "")
        for r in P.RECORDS["fig9-lenet4-local"]
    )
