"""RESULTS' "Rejection and robustness" section (issue 34), from the committed output of
`paper-lenet robustness` (results/robustness/robustness.json, and robustness_map.json for MAP's j):
its tables, its plot, and the four answers, each worded from the intervals it quotes."""

from __future__ import annotations

import json
from pathlib import Path

from paper_lenet.study.robustness_format import tables

PAPER, LINEAR, DISTORT, MAXPOOL = (
    "lenet5_1998",
    "ablation-paper-linear-ce",
    "lenet5_1998_distort",
    "ablation-paper-maxpool",
)
MAP = ["ablation-paper-map-j1", "ablation-paper-map-j5", "ablation-paper-map-j10"]


def _d(d: dict, scale: float = 1.0, digits: int = 2, flip: bool = False) -> str:
    """A difference with its interval (flip: the other way round, B - A)."""
    s = -1.0 if flip else 1.0
    x = s * scale * d["diff"]
    if d.get("ci95") is None:
        return f"{x:+.{digits}f} ({d.get('reason') or 'no interval'})"
    lo, hi = sorted(s * scale * v for v in d["ci95"])
    return f"{x:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def _sign(d: dict, flip: bool = False) -> int:
    """+1 / -1 when the 95% interval excludes 0 above / below, else 0."""
    if d.get("ci95") is None:
        return 0
    lo, hi = d["ci95"]
    s = 1 if lo > 0 else -1 if hi < 0 else 0
    return -s if flip else s


def _versus(res: dict, name: str) -> dict | None:
    return next((v for v in res["comparisons"] if v["name"] == name), None)


def _count(signs: list[int]) -> str:
    up, down = signs.count(1), signs.count(-1)
    return f"{up} of {len(signs)} excluding 0 above, {down} below, {len(signs) - up - down} unresolved"


def head_answer(res: dict) -> str:
    v = _versus(res, LINEAR)
    if v is None:
        return f"Rubbish: `{LINEAR}` was not scored."
    sets = res["rubbish"]
    parts = []
    for label, what in (
        ("first", "its own first score (RBF: smallest distance; softmax: largest probability)"),
        ("margin", "the top-two margin"),
    ):
        diffs = [v["rejection"][g][label]["auroc"] for g in sets]
        signs = [_sign(d, flip=True) for d in diffs]
        parts.append(
            f"by {what}, AUROC (RBF - softmax): "
            + ", ".join(f"{g} {_d(d, digits=3, flip=True)}" for g, d in zip(sets, diffs, strict=False))
            + f" ({_count(signs)})"
        )
    return (
        "**Does the paper's head reject rubbish better than linear + softmax?** The same network "
        f"(`{PAPER}`) against its linear + cross-entropy twin (`{LINEAR}`), {'; '.join(parts)}. "
        "Mean corrupted error (softmax - RBF, points): "
        + _d(v["mean_corruption"])
        + "; clean: "
        + _d(v["clean"])
        + "."
    )


def map_answer(res: dict, res_map: dict | None) -> str:
    rows = [(n, _versus(res, n)) for n in MAP]
    rows = [(n, v) for n, v in rows if v is not None]
    if not rows:
        return "**Does MAP's j matter?** The MAP runs were not scored."
    g0 = res["rubbish"]
    text = (
        "**Does MAP's j matter?** Against MSE (`lenet5_1998`), mean AUROC over the six rubbish sets' "
        "first score and mean corrupted error (points): "
        + "; ".join(
            f"`{n}` clean {_d(v['clean'])}, corrupted {_d(v['mean_corruption'])}, AUROC {_mean_auroc(v, g0)}"
            for n, v in rows
        )
    )
    if res_map is not None:
        inner = [v for v in res_map["comparisons"] if v["name"] in MAP]
        text += f". Between the j's (against `{res_map['baseline']}`): " + "; ".join(
            f"`{v['name']}` clean {_d(v['clean'])}, corrupted {_d(v['mean_corruption'])}, "
            f"AUROC by set "
            + ", ".join(
                f"{g} {_d(v['rejection'][g]['first']['auroc'], digits=3)}" for g in res_map["rubbish"]
            )
            for v in inner
        )
    return text + "."


def _mean_auroc(v: dict, sets) -> str:
    diffs = [v["rejection"][g]["first"]["auroc"] for g in sets]
    signs = [_sign(d) for d in diffs]
    return f"{sum(d['diff'] for d in diffs) / len(diffs):+.3f} ({_count(signs)})"


def corruption_answer(res: dict, name: str, question: str) -> str:
    v = _versus(res, name)
    if v is None:
        return f"{question} `{name}` was not scored."
    better = [c for c in res["corruptions"] if _sign(v["corruption"][c]) < 0]
    worse = [c for c in res["corruptions"] if _sign(v["corruption"][c]) > 0]
    return (
        f"{question} `{name}` against `{PAPER}`: mean corrupted error {_d(v['mean_corruption'])} points "
        f"(clean {_d(v['clean'])}); lower error, interval below 0, on {len(better)} of "
        f"{len(res['corruptions'])} ({', '.join(c.replace('_', ' ') for c in better) or 'none'}), higher on "
        f"{len(worse)} ({', '.join(c.replace('_', ' ') for c in worse) or 'none'}); rubbish AUROC "
        f"{_mean_auroc(v, res['rubbish'])}."
    )


def _tables(res: dict) -> str:
    """The error and rejection tables (the per-figure differences stay in robustness.md)."""
    out = []
    for title, head, rows in tables(res)[:2]:
        out += [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    notes = [f"`{c['name']}`: {c['note']}." for c in res["configs"] if c.get("note")]
    return "\n".join(out + notes) + ("\n" if notes else "")


def robustness_section(folder: Path, command: str) -> str | None:
    path = Path(folder) / "robustness.json"
    if not path.is_file():
        return None
    res = json.loads(path.read_text())
    res_map = (
        json.loads((Path(folder) / "robustness_map.json").read_text())
        if (Path(folder) / "robustness_map.json").is_file()
        else None
    )
    out = [
        "## Rejection and robustness\n",
        "Sec. II-C's case for the RBF output, measured: MNIST-C's 15 corruptions (Mu & Gilmer 2019) and six "
        "rubbish sets, scored by `paper-lenet robustness` (how: `results/robustness/README.md`, which also "
        f"gives the command; the runs are `results/reruns/`). Generated by `{command}` from "
        f"`{path}`{' and robustness_map.json' if res_map else ''}.\n",
        _tables(res),
        f"The differences against `{res['baseline']}` for every figure, with p: "
        f"`{Path(folder) / 'robustness.md'}`.\n",
        f"![robustness]({Path(folder).name}/robustness.png)\n",
        head_answer(res) + "\n",
        map_answer(res, res_map) + "\n",
        corruption_answer(
            res, DISTORT, "**Does training on distortions buy robustness to corruptions it never saw?**"
        )
        + "\n",
        corruption_answer(res, MAXPOOL, "**Does max-pooling change any of it?**") + "\n",
    ]
    return "\n".join(out)
