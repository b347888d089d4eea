"""What `paper-lenet compare` warns about before anyone reads its numbers: runs made by different
package versions or commits (each run's env.json), seeds of one config trained with different settings,
and configs that differ from the baseline in more than one setting (each run's config.yaml).

An ablation changes one factor: when a config and its baseline differ in two or more keys, every
differing key is named, so that a difference is not read as the effect of the one its name suggests.
"""

from __future__ import annotations

from pathlib import Path

from ..config import to_dict
from ..files import read_json
from ..runs.rundir import load_run_config

IGNORED = ("name", "seed", "train.threads", "data.root")  # labels, cores, paths: not what was computed


def flat(d: dict, prefix: str = "") -> dict:
    """{'model.pooling': 'max', ...}: nested config keys dotted."""
    out = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def settings(run: Path) -> dict | None:
    """A run's config.yaml, resolved (keys a run of an older schema lacks take their defaults), as dotted
    keys (IGNORED left out); None when it has none."""
    if not (Path(run) / "config.yaml").is_file():
        return None
    return {k: v for k, v in flat(to_dict(load_run_config(run))).items() if k not in IGNORED}


def made_by(run: Path) -> str:
    """'<package version>@<commit, 7 hex>' from the run's env.json ('unknown' parts when absent)."""
    p = Path(run) / "env.json"
    env = read_json(p) if p.is_file() else {}
    commit = env.get("git_commit")
    return f"{env.get('paper_lenet', 'unknown')}@{commit[:7] if commit else 'no commit'}"


def differing(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def warnings(configs: list[dict], base: dict) -> list[str]:
    """One line per problem. Each config dict has 'name' and 'runs' (its seed directories)."""
    out = []
    makers: dict[str, dict[str, list[str]]] = {}
    for c in configs:
        for run, seed in zip(c["runs"], c["seeds"], strict=False):
            makers.setdefault(made_by(run), {}).setdefault(c["name"], []).append(str(seed))
    if len(makers) > 1:
        parts = "; ".join(
            f"{m}: " + ", ".join(f"{n} (seeds {','.join(s)})" for n, s in by.items())
            for m, by in sorted(makers.items())
        )
        out.append(
            f"warning: these runs were made by {len(makers)} package versions or commits "
            f"(training code may differ between them): {parts}"
        )
    base_settings = settings(base["runs"][0])
    for c in configs:
        own = [s for s in (settings(r) for r in c["runs"]) if s is not None]
        inner = sorted({k for s in own[1:] for k in differing(own[0], s)})
        if inner:
            out.append(
                f"warning: {c['name']}: its seeds were trained with different settings: {', '.join(inner)}"
            )
        if c is base or not own or base_settings is None:
            continue
        keys = differing(base_settings, own[0])
        if len(keys) > 1:
            out.append(
                f"warning: {c['name']} differs from {base['name']} in {len(keys)} settings, not one: "
                f"{', '.join(keys)}"
            )
    return out
