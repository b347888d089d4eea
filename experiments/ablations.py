"""RESULTS.md's ablation and exploration tables: each config against its baseline with compare's
interval and test, Holm over one baseline's ablations, what differs between the configs, and who made
the runs (tables.py holds the headline, Fig. 5 and validation tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_lenet.config import load_config, to_dict
from paper_lenet.study.compare import versus, with_holm
from paper_lenet.study.provenance import made_by as commit_of
from paper_lenet.tools.stats import mean_std

from .study import PREVIOUS, baseline_of
from .tables import config_diff, fmt, mean_pm, over_seeds


def as_compared(name: str, group: list[dict], labels: str) -> dict | None:
    """A config's runs as paper_lenet.study.compare takes them (seeds, misses per test image); None when a run
    has no test predictions."""
    if any(not r["pred"] or len(r["pred"]) != len(labels) for r in group):
        return None
    y = np.frombuffer(labels.encode(), np.uint8)
    wrong = np.stack([np.frombuffer(r["pred"].encode(), np.uint8) != y for r in group])
    return {
        "name": name,
        "dir": str(group[0]["dir"]),
        "seeds": [r["summary"]["seed"] for r in group],
        "wrong": wrong,
    }


def versus_baseline(name: str, groups: dict, labels: str | None) -> dict | None:
    """`paper-lenet compare`'s comparison of name against its baseline (None: n/a); p_holm unset."""
    base = baseline_of(name)
    if labels is None or base not in groups:
        return None
    a, b = as_compared(name, groups[name], labels), as_compared(base, groups[base], labels)
    return versus(a, b) if a and b else None


def ablation_table(groups, labels) -> str:
    """One row per ablation: its error over seeds and compare's difference from its baseline, with the
    p-values Holm-adjusted within each baseline's family (the configs compared with it)."""
    names = sorted(n for n in groups if n.startswith("ablation-"))
    vs = {n: versus_baseline(n, groups, labels) for n in names}
    for base in {baseline_of(n) for n in names}:
        with_holm([vs[n] for n in names if baseline_of(n) == base and vs[n]])
    rows = [
        "| config | change vs baseline | test error %: mean +- std (n) | 95% t-interval over seeds | "
        "vs baseline (points) [95% interval] | p (no difference) | Holm p | seeds per arm to resolve | made "
        "by |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        base_name = baseline_of(name)
        s = over_seeds(groups[name])
        mean, ci = fmt(s)
        p = holm = need = "n/a"
        if base_name in groups:
            base = groups[base_name]
            change = ", ".join(config_diff(base[0]["config"], groups[name][0]["config"])) or "-"
            v = vs[name]
            if v and v["ci95"]:
                delta = f"{v['diff']:+.2f} [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}]"
            elif v:
                delta = f"{v['diff']:+.2f} ({v['reason']})"
            else:
                delta = f"{s['mean'] - over_seeds(base)['mean']:+.2f} (no paired predictions)"
            if v and v["p_value"] is not None:
                p, holm = _p(v["p_value"]), _p(v["p_holm"])
                need = str(v["seeds_needed"]) if v["seeds_needed"] else v["seeds_needed_reason"]
        else:
            delta, change = "n/a", f"(no {base_name} runs)"
        rows.append(
            f"| `{name}` | {change} | {mean} | {ci} | {delta} | {p} | {holm} | {need} "
            f"| {made_by(groups[name])} |"
        )
    return "\n".join(rows)


def made_by(group: list[dict]) -> str:
    """The commits that trained a config's runs (their env.json), each with its count: 'deb471f x3, ...'."""
    counts: dict[str, int] = {}
    for r in group:
        c = commit_of(r["dir"]).split("@")[1]
        counts[c] = counts.get(c, 0) + 1
    return ", ".join(f"{c} x{k}" for c, k in counts.items())


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"


def explore_table(explore: dict) -> str:
    """Exploratory variants of the previous paper config (results/explore/<variant>/seed<k>/): what
    each changes against it, its test error per seed and the final on-the-fly train error."""

    prev = Path(PREVIOUS)
    base = to_dict(load_config(prev)) if prev.is_file() else None
    rows = [
        f"| variant | overrides on `{prev.name}` | passes | test % by seed | mean +- std (n) | "
        "final train % (on the fly) |",
        "|---|---|---|---|---|---|",
    ]
    for name, g in sorted(explore.items()):
        change = ", ".join(config_diff(base, g[0]["config"])) if base else "n/a"
        per_seed = " / ".join(f"s{r['summary']['seed']}: {100 * r['summary']['test_error']:.2f}" for r in g)
        m, sd = mean_std([100 * r["summary"]["test_error"] for r in g])
        tr = mean_std([100 * r["metrics"][-1]["train_error"] for r in g])[0]
        rows.append(
            f"| `{name}` | {change or '-'} | {g[0]['summary']['epochs']} | {per_seed} | "
            f"{mean_pm(m, sd, len(g))} | {tr:.2f} |"
        )
    return "\n".join(rows)
