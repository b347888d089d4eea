"""What rerunning each experiment costs on 2 cores, from the runs' own wall clocks (RESULTS' "Rerun
times", README's times block), and the seeds-in-lockstep reruns of committed configs (issue 33):
their time beside the committed runs', and their test error against the committed seeds'.

The committed runs ran one process per seed, two side by side (one thread each), so a set takes
about (sum of walls) / 2. The reruns (results/reruns/<name>/seed<k>) ran with `sweep --jobs 2`, which
puts a config's seeds into one lockstep process (`train --seeds`) where the fast path applies; such a
process leaves its log as <name>/seeds<a>+<b>+....log, and counts once: its seeds' walls are its own.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from paper_lenet.tools.stats import DIVERGED, mean_std

from .study import EXPERIMENTS

N_TEST = 10_000
# a trained config's seeds spread by about 0.1 point (RESULTS' headline and ablations); 1 point is
# ten times that. Chosen after the lockstep reruns of three such configs were seen to differ (RESULTS).
UNSTABLE_SD = 1.0


def _in(name: str, names) -> bool:
    return name in names if names else name.startswith("ablation-")


def lockstep_processes(folder: Path) -> list[list[int]]:
    """The seeds of each lockstep process that trained a config's reruns (from their logs)."""
    out = []
    for log in sorted(Path(folder).glob("seeds*.log")):
        m = re.fullmatch(r"seeds(\d+(?:\+\d+)*)\.log", log.name)
        if m:
            out.append([int(s) for s in m.group(1).split("+")])
    return out


def process_minutes(runs: list[dict], folder: Path | None) -> tuple[float, int]:
    """(minutes of one core, processes) for a config's runs: a lockstep process counts its longest seed's
    wall once, every other run its own wall."""
    wall = {r["summary"]["seed"]: r["summary"]["wall_seconds"] / 60 for r in runs}
    minutes, procs, left = 0.0, 0, dict(wall)
    for seeds in lockstep_processes(folder) if folder is not None else []:
        mine = [wall[s] for s in seeds if s in wall]
        if mine:
            minutes, procs = minutes + max(mine), procs + 1
            for s in seeds:
                left.pop(s, None)
    return minutes + sum(left.values()), procs + len(left)


def times_table(groups, reruns=None, rerun_dir=None) -> str:
    """One row per experiment: the committed runs' time; with reruns, the set's time where every config
    that was rerun counts its reruns (lockstep where it applied) and the rest their committed runs."""
    head = "| command | runs | wall per run, min (mean) | whole set on 2 cores, min |"
    rows = [
        head + (" rerun in lockstep (configs) | whole set with lockstep, min |" if reruns else ""),
        "|---|---|---|---|" + ("---|---|" if reruns else ""),
    ]
    every, every_ls = [], 0.0  # `everything` runs every experiment of EXPERIMENTS
    for func, names in EXPERIMENTS.items():
        runs = [r for n, g in sorted(groups.items()) for r in g if _in(n, names)]
        if not runs:
            continue
        walls = [r["summary"]["wall_seconds"] / 60 for r in runs]
        every += walls
        row = (
            f"| `python -m experiments.reproduce {func}` | {len(runs)} | "
            f"{sum(walls) / len(walls):.1f} | {sum(walls) / 2:.0f} |"
        )
        if reruns:
            minutes, again, more = 0.0, 0, []
            for n, g in sorted(groups.items()):
                if not _in(n, names):
                    continue
                folder = Path(rerun_dir) / n if rerun_dir is not None else None
                locked = n in reruns and folder is not None and lockstep_processes(folder)
                again += bool(locked)
                if locked and len(reruns[n]) != len(
                    g
                ):  # a lockstep process of 5 seeds where 3 were committed
                    more.append(f"{len(reruns[n])} seeds, not {len(g)}")
                minutes += (
                    process_minutes(reruns[n], folder)[0]
                    if locked
                    else sum(r["summary"]["wall_seconds"] / 60 for r in g)
                )
            every_ls += minutes
            row += (
                f" {again} of {len({n for n in groups if _in(n, names)})}"
                f"{' (' + '; '.join(more) + ')' if more else ''} | {minutes / 2:.0f} |"
            )
        rows.append(row)
    if every:
        row = (
            f"| `python -m experiments.reproduce everything` | {len(every)} | {sum(every) / len(every):.1f} "
            f"| "
            f"{sum(every) / 2:.0f} |"
        )
        rows.append(row + (f" | {every_ls / 2:.0f} |" if reruns else ""))
    return "\n".join(rows)


def bound(p: float) -> float:
    """3 standard errors (points) of the difference of two independent error rates p on N_TEST images:
    what another seed's worth of summation-order chaos may move a 30-pass run (tests/test_fast.py's
    training bound); two runs of one seed are closer than independent ones, so it is generous."""
    return 300 * math.sqrt(2 * p * (1 - p) / N_TEST)


def unstable(errors: list[float]) -> bool:
    """A config at the edge of stability: some committed seed diverged (stats.DIVERGED) or the seeds
    spread by more than UNSTABLE_SD points, where a seed's outcome turns on rounding."""
    return max(errors) >= DIVERGED or (len(errors) > 1 and mean_std(errors)[1] > UNSTABLE_SD)


def lockstep_check(groups, reruns, rerun_dir) -> str:
    """Each rerun config's seeds: the committed test error against the lockstep rerun's."""
    rows = [
        (
            "| config | seeds | committed, % (mean) | committed seeds' sd | lockstep rerun, % (mean) | "
            "largest seed difference, points | bound (3 SE) | within |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, g in sorted(reruns.items()):
        folder = Path(rerun_dir) / n
        if n not in groups or not lockstep_processes(folder):
            continue
        old = {r["summary"]["seed"]: 100 * r["summary"]["test_error"] for r in groups[n]}
        new = {r["summary"]["seed"]: 100 * r["summary"]["test_error"] for r in g}
        both = sorted(set(old) & set(new))
        if not both:
            continue
        worst = max(abs(new[s] - old[s]) for s in both)
        m, sd = mean_std([old[s] for s in both])
        b = bound(m / 100)
        verdict = (
            "yes" if worst <= b else "**no**" + (" (unstable)" if unstable([old[s] for s in both]) else "")
        )
        rows.append(
            f"| `{n}` | {','.join(map(str, both))} | {m:.2f} | {sd:.2f} | "
            f"{mean_std([new[s] for s in both])[0]:.2f} | {worst:.2f} | {b:.2f} | {verdict} |"
        )
    return "\n".join(rows)


def study_time(table: str) -> str:
    """The README's sentence on the whole study's time, read off times_table's `everything` row."""
    row = next((r for r in table.splitlines() if "reproduce everything`" in r), None)
    if row is None:
        return ""
    cells = [c.strip() for c in row.strip("|").split("|")]
    text = (
        f"The whole study (`python -m experiments.reproduce everything`, {cells[1]} runs) takes about "
        f"{int(cells[3]) / 60:.1f} h on 2 cores by the committed runs' own wall clocks"
    )
    if len(cells) > 5 and cells[5]:
        text += f"; counting the lockstep reruns where they were measured, {int(cells[5]) / 60:.1f} h"
    return text + "."
