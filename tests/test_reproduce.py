"""experiments.reproduce: its plan is the committed study (every run, every seed, each dependent run
after what it reads), read from the configs' own references to other runs; the rerun-time table."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from experiments.reproduce import fig9_files, plan, run_references
from experiments.rerun_times import lockstep_check, study_time, times_table
from experiments.study import EXPERIMENTS
from paper_lenet import load_config

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "results" / "runs"


def _committed(names) -> set[tuple[str, int]]:
    return {
        (p.parent.parent.name, int(p.parent.name[len("seed") :]))
        for n in names
        for p in (RUNS / n).glob("seed*/summary.json")
    }


def _planned(stages) -> list[list[tuple[str, int]]]:
    return [[(load_config(f).name, s) for f, s in stage] for stage in stages]


def test_fig9_plan_is_the_committed_study():
    stages = _planned(plan(fig9_files(), range(3), fitted_once=True))
    planned = {r for st in stages for r in st}
    committed = _committed(EXPERIMENTS["fig9"])
    assert committed, "no committed fig9 runs found"
    assert committed <= planned, f"committed runs the rerun would not make: {sorted(committed - planned)}"
    # a planned run that is not committed belongs to a config with no committed run at all (not run yet)
    ran = {n for n, _ in committed}
    assert not {(n, s) for n, s in planned - committed if n in ran}, (
        "a committed config misses a planned seed"
    )
    # LeNet-4 / Local reads fig9-lenet4's run of its own seed: all three seeds (the hand list missed it)
    assert {s for n, s in planned if n == "fig9-lenet4-local"} == {0, 1, 2}


def test_every_dependent_run_comes_after_what_it_reads():
    files = fig9_files()
    stage_of = {r: i for i, st in enumerate(_planned(plan(files, range(3), fitted_once=True))) for r in st}
    dependent = 0
    for f in files:
        cfg = load_config(f)
        for name, seed in run_references(yaml.safe_load(Path(f).read_text())):
            for s in (stage_of_seeds := [s for n, s in stage_of if n == cfg.name]):
                read = (name, s if seed == "{seed}" else int(seed))
                if read in stage_of:
                    dependent += 1
                    assert stage_of[read] < stage_of[(cfg.name, s)], f"{cfg.name} seed {s} runs before {read}"
            assert stage_of_seeds
    assert dependent >= 9  # boosted, LeNet-4 / K-NN and LeNet-4 / Local, 3 seeds each


def test_references_are_read_from_every_key_that_names_a_run():
    # every committed config whose text names a run directory: the walker finds it, whatever the key
    for f in sorted((ROOT / "configs").rglob("*.yaml")):
        text = f.read_text()
        named = set(re.findall(r"results/runs/([^/\s]+)/seed\{seed\}", text))
        found = {n for n, _ in run_references(yaml.safe_load(text) or {})}
        assert named <= found, f"{f}: {named - found} not found"
    nested = {"a": [{"b": "x/runs/net-a/seed{seed}"}], "c": {"d": "runs/net-b/seed3/"}, "e": "seed{seed}.log"}
    assert run_references(nested) == {("net-a", "{seed}"), ("net-b", "3")}


def test_a_fitted_method_that_reads_a_per_seed_run_gets_every_seed(tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text(yaml.safe_dump({"base": str(ROOT / "configs/fig9/lenet4.yaml"), "name": "t-net"}))
    knn = tmp_path / "knn.yaml"
    knn.write_text(
        yaml.safe_dump(
            {
                "base": str(ROOT / "configs/fig9/lenet4-knn.yaml"),
                "name": "t-knn",
                "knn": {"features": "somewhere/t-net/seed{seed}"},
            }
        )
    )
    once = tmp_path / "once.yaml"
    once.write_text(yaml.safe_dump({"base": str(ROOT / "configs/fig9/knn.yaml"), "name": "t-once"}))
    stages = _planned(plan([str(knn), str(once), str(net)], [0, 1], fitted_once=True))
    assert stages == [[("t-net", 0), ("t-net", 1), ("t-once", 0)], [("t-knn", 0), ("t-knn", 1)]]


def test_times_table_adds_an_everything_row():
    def runs(*walls):
        return [{"summary": {"wall_seconds": 60 * w}} for w in walls]

    groups = {
        "lenet5_1998": runs(2, 4),
        "fig9-knn": runs(6),
        "ablation-paper-relu": runs(3),
        "elsewhere": runs(100),
    }
    t = times_table(groups)
    assert "| `python -m experiments.reproduce headline` | 2 | 3.0 | 3 |" in t
    # every experiment's runs, summed and halved (2 + 4 + 6 + 3 = 15 min: 7.5, printed to the minute);
    # the run of no experiment is not counted
    assert "| `python -m experiments.reproduce everything` | 4 | 3.8 | 8 |" in t


def test_lockstep_reruns_count_each_process_once(tmp_path):
    def runs(walls, errors=None):
        return [
            {"summary": {"seed": s, "wall_seconds": 60 * w, "test_error": (errors or {}).get(s, 0.01)}}
            for s, w in walls.items()
        ]

    rerun_dir = tmp_path / "reruns"
    (rerun_dir / "lenet5_1998").mkdir(parents=True)
    (rerun_dir / "lenet5_1998" / "seeds0+1+2.log").write_text("")  # seeds 0-2 shared one process
    (rerun_dir / "lenet5_1998" / "seeds.log").write_text("")  # not a group's log: ignored
    groups = {"lenet5_1998": runs({0: 2, 1: 2, 2: 2, 3: 2}), "lenet5_1998_text": runs({0: 4})}
    reruns = {"lenet5_1998": runs({0: 5, 1: 5, 2: 6, 3: 3}, {0: 0.012, 3: 0.010})}
    # one process of 3 seeds (its longest wall, 6 min) plus seed 3 alone (3 min)
    from experiments.rerun_times import lockstep_processes, process_minutes

    assert lockstep_processes(rerun_dir / "lenet5_1998") == [[0, 1, 2]]
    assert process_minutes(reruns["lenet5_1998"], rerun_dir / "lenet5_1998") == (9.0, 2)
    t = times_table(groups, reruns, rerun_dir)
    # committed: (2+2+2+2+4) / 2 = 6; with lockstep: the rerun config's 9 + the text config's committed 4, / 2
    assert "| `python -m experiments.reproduce headline` | 5 | 2.4 | 6 | 1 of 2 | 6 |" in t
    reruns["lenet5_1998"].append({"summary": {"seed": 4, "wall_seconds": 60, "test_error": 0.01}})
    assert "| 1 of 2 (5 seeds, not 4) | 7 |" in times_table(groups, reruns, rerun_dir)  # seed 4 alone: +1 min
    reruns["lenet5_1998"].pop()
    # the whole study: 6 min committed, 6.5 with the reruns (printed 6), in hours
    assert study_time(t).endswith(
        "takes about 0.1 h on 2 cores by the committed runs' own wall clocks; "
        "counting the lockstep reruns where they were measured, 0.1 h."
    )
    assert "lockstep" not in study_time(times_table(groups))
    c = lockstep_check(groups, reruns, rerun_dir)
    # seed 0 moved 1.2 - 1.0 = 0.2 points; the bound at 1.0%: 3 sqrt(2 x 0.01 x 0.99 / 10,000) = 0.42
    assert "| `lenet5_1998` | 0,1,2,3 | 1.00 | 0.00 | 1.05 | 0.20 | 0.42 | yes |" in c
    reruns["lenet5_1998"][1]["summary"]["test_error"] = 0.016  # 0.6 points off: outside
    assert "| 0.60 | 0.42 | **no** |" in lockstep_check(groups, reruns, rerun_dir)
    # a config whose committed seeds diverged (90%) is unstable: the rerun's seed trained instead
    for r in groups["lenet5_1998"]:
        r["summary"]["test_error"] = 0.9
    reruns["lenet5_1998"][1]["summary"]["test_error"] = 0.02
    assert lockstep_check(groups, reruns, rerun_dir).endswith("| **no** (unstable) |")
