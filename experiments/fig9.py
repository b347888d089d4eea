"""RESULTS.md's Sec. III-C section: the paper's whole comparison (Figs. 9, 10, 11-12) beside our runs.

Each paper row is matched to its config by study.FIG9_ROWS; runs are report.collect's groups. A row
counts as a *network* (and gets a within/outside verdict against the paper) when rejection.is_network
says so: its runs' `model.arch` is of the registry's kind "network" (paper_lenet.core.registry; boosted
LeNet-4s included), or its method reads a trained network's features (LeNet-4 / K-NN, LeNet-4 / Local).
Missing runs, predictions or margins give "not run" / "-", never an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_lenet import paper
from paper_lenet.config import load_config
from paper_lenet.study.make import cost
from paper_lenet.tools.stats import mean_std

from .fig9_plots import fig9_chart, fig10_curves
from .fig9_why import fig9_why, verdict
from .provenance import cases_section
from .provenance import column as provenance_column
from .rejection import FIG10_NEVER, is_network, margins_of, rejection
from .study import FIG9_NETWORK_TOLERANCE, FIG9_PROTOCOL, FIG9_ROWS, FIG9_SUBROWS, NOT_REPRODUCED
from .tables import fmt, mean_pm, over_seeds

COARSE = 0.05  # a row whose test margins take fewer distinct values than this share of the patterns: a
# coarse score


def _paper(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fig9_table(groups, labels) -> str:
    """Test error per Fig. 9 row, each row's other readings (FIG9_SUBROWS) under it, and each config's
    provenance (experiments/provenance.yaml). labels unused (kept for symmetry)."""
    points, rel = FIG9_NETWORK_TOLERANCE
    rows = [
        f"| Fig. 9 row | config | paper % | ours %: mean +- std (n) | 95% t-interval over seeds | "
        f"network within max({points:g} pt, {rel:.0%})? | test seen before a choice |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, name in FIG9_ROWS:
        ref = paper.FIG9.get(label)
        if name is None:
            rows.append(
                f"| {label} | - | {_paper(ref)} | not reproduced: {NOT_REPRODUCED.get(label, '')} | - | - | "
                f"- |"
            )
            continue
        cell = f"`{name}`" + (f" ({FIG9_PROTOCOL[name]})" if name in FIG9_PROTOCOL else "")
        rows.append(_row(label, cell, name, ref, groups, network=True))
        for sub, reading in FIG9_SUBROWS.get(label, []):
            rows.append(_row(f"&nbsp;&nbsp;{label}, {reading}", f"`{sub}`", sub, ref, groups, network=False))
    return "\n".join(rows)


def _row(label: str, cell: str, name: str, ref, groups, network: bool) -> str:
    if name not in groups:
        return f"| {label} | {cell} | {_paper(ref)} | not run | - | - | {provenance_column(name)} |"
    s = over_seeds(groups[name])
    mean, ci = fmt(s)
    judged = ref is not None and (is_network(name, groups[name]) if network else True)
    v = verdict(s["mean"], ref) + ("" if network else " (this reading)") if judged else "-"
    return f"| {label} | {cell} | {_paper(ref)} | {mean} | {ci} | {v} | {provenance_column(name)} |"


def fig10_table(groups, labels) -> str:
    """% rejected to reach Fig. 10's 0.5% error, per row whose runs saved margins (LeNet-5 included)."""
    if labels is None:
        return "The MNIST test labels are not available here, so no rejection could be computed."
    rows = [
        "| Fig. 9 row | config | paper % rejected | ours % rejected: mean +- std (n) |",
        "|---|---|---|---|",
    ]
    lacking = []
    for label, name in FIG9_ROWS:
        if name is None or name not in groups:
            continue
        vals = [
            rejection(r["pred"], labels, m) for r in groups[name] if (m := margins_of(r, labels)) is not None
        ]
        if not vals:
            lacking.append(f"`{name}`")
            continue
        never = sum(v == 100.0 for v in vals)  # only rejecting every pattern reaches the target
        ours = (
            f"{FIG10_NEVER} (n={len(vals)})"
            if never == len(vals)
            else mean_pm(*mean_std(vals), len(vals))
            + (f"; {never} seed(s) {FIG10_NEVER}, counted as 100" if never else "")
        )
        rows.append(f"| {label} | `{name}` | {_paper(paper.FIG10.get(label), 1)} | {ours} |")
    text = "\n".join(rows) if len(rows) > 2 else "No run has saved test margins yet."
    coarse = [_coarse(name, groups[name], labels) for _, name in FIG9_ROWS if name in groups]
    text += "".join(f"\n\n{c}" for c in coarse if c)
    if lacking:
        text += f"\n\nRuns without `test_margins.npy` (not scored here): {', '.join(lacking)}."
    return text


def _coarse(name: str, group: list[dict], labels: str) -> str:
    """A note when a row's scores give its test patterns few distinct margins (a vote count ranks them in
    large ties, and Fig. 10's rejection drops a tie whole), computed from the first seed's margins."""
    m = next((m for r in group if (m := margins_of(r, labels)) is not None), None)
    if m is None or len(np.unique(m)) >= COARSE * len(m):
        return ""
    values, counts = np.unique(m, return_counts=True)
    return (
        f"`{name}`: its {len(m):,} test margins take only {len(values):,} distinct values (the largest tie "
        f"holds {counts.max():,} patterns): its scores rank by votes first, so reaching "
        f"{paper.FIG10_ERROR}% error means rejecting whole tie groups, and its Fig. 10 figure says more "
        "about the score's coarseness than about the classifier's confidence."
    )


def _cost(name: str, group: list[dict]) -> tuple[dict | None, str]:
    """({"macs", "memory"} or None, what memory counts) for a config's first run."""
    summ = group[0]["summary"]
    if "avg_macs" in summ and "memory" in summ:  # boosted: the run measured its early exit
        return {
            "macs": summ["avg_macs"],
            "memory": summ["memory"],
        }, "parameters of all nets (MACs: average with the early exit)"
    try:
        cfg = load_config(Path(group[0]["dir"]) / "config.yaml")
        c = dict(cost(cfg))
    except Exception as e:  # a config the cost cannot count leaves a gap, not a crash
        return None, f"n/a ({type(e).__name__})"
    if (
        not c and "macs" in summ
    ):  # svm, local, tangent: counted by the fit (support vectors, the chosen k, sides)
        what = (
            "reduced vectors and their coefficients"
            if cfg.svm and cfg.svm.reduced
            else "support vectors and their coefficients"
            if cfg.svm
            else "stored features + the net's parameters"
            if cfg.local
            else "template pixels (+ their 7 tangents, two-sided)"
        )
        return {"macs": summ["macs"], "memory": summ["memory"]}, what
    if cfg.knn is None:
        return c, "free parameters" if is_network(name, group) else "parameters"
    if not cfg.knn.features:
        return c, "stored templates"
    net = Path(cfg.knn.features.format(seed=cfg.seed)) / "config.yaml"
    if not net.exists():
        return c, "stored feature vectors (the net's own cost not included: its run is not here)"
    n = cost(load_config(net))
    return {k: c[k] + n[k] for k in c}, "stored feature vectors + the net's free parameters"


def fig11_12_table(groups) -> str:
    """Figs. 11-12: multiply-accumulates per recognition and memory, thousands, ours beside the paper's."""
    rows = [
        "| Fig. 9 row | config | ours MACs (K) | paper MACs (K) | ours memory (K) | paper memory (K) | "
        "what memory counts |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, name in FIG9_ROWS:
        pm, pmem = paper.FIG11_12.get(label, (None, None))
        if name is None or name not in groups:
            if pm is not None:
                rows.append(
                    f"| {label} | {f'`{name}`' if name else '-'} | "
                    f"{'not run' if name else 'not reproduced'} | {pm:g} | - | {pmem:g} | - |"
                )
            continue
        c, what = _cost(name, groups[name])
        ours = (f"{c['macs'] / 1000:.1f}", f"{c['memory'] / 1000:.1f}") if c else ("-", "-")
        rows.append(
            f"| {label} | `{name}` | {ours[0]} | {'-' if pm is None else f'{pm:g}'} | {ours[1]} | "
            f"{'-' if pmem is None else f'{pmem:g}'} | {what} |"
        )
    return "\n".join(rows)


def fig9_section(groups, labels, out_dir) -> tuple[str, list[str]]:
    """The markdown section and the figure files it wrote into out_dir (deterministic: no dates)."""
    out_dir = Path(out_dir)
    points, rel = FIG9_NETWORK_TOLERANCE
    figures = [
        f
        for f, ok in (
            ("fig9.png", fig9_chart(groups, out_dir / "fig9.png")),
            ("fig10.png", labels is not None and fig10_curves(groups, labels, out_dir / "fig10.png")),
        )
        if ok
    ]
    parts = [
        "## Sec. III-C comparison (Figs. 9-12)\n",
        "Every classifier of the paper's comparison (Fig. 9's rows, in its order) beside the config for "
        "that row (the registry's `row` of each config in `experiments/study.py` `FIG9_CONFIGS`); a row the "
        "MNIST database page reads otherwise (deskewed) has that reading's config under it, labelled. "
        "Each setting was chosen on the validation split (the tables below), or taken from the paper or "
        "the authors' code. The last column says, for each config, whether test figures of its row had been "
        "seen before one of its choices was made, and which (generated from "
        "`experiments/provenance.yaml`; every such case is listed below the table). "
        "n is the number of seeds per row (networks are trained with several seeds, "
        "the deterministic methods run once); the interval is the 95% t-interval of the mean over seeds "
        "(none for one run). A network row (a `model.arch` among LeNet-5, LeNet-1, LeNet-4 and the fully "
        'connected nets, or built from them: boosted LeNet-4, LeNet-4 / K-NN) is "within" when its mean '
        f"lies within max({points:g} points, {rel:.0%} of the paper's value) of the paper's; the other "
        "methods are shown without a verdict.\n",
        "### Fig. 9: test error\n",
        fig9_table(groups, labels) + "\n",
        cases_section(
            [n for _, n in FIG9_ROWS if n] + [n for subs in FIG9_SUBROWS.values() for n, _ in subs]
        ),
        fig9_why(groups),
        f"### Fig. 10: rejection for {paper.FIG10_ERROR}% error\n",
        "The % of test patterns rejected, lowest difference between the two best class scores first (a "
        f"tie is rejected together), until the error on the rest is at most {paper.FIG10_ERROR}%; per seed, "
        "then mean +- std. The paper gives no value for LeNet-5.\n",
        fig10_table(groups, labels) + "\n",
        "### Figs. 11-12: multiply-accumulates per recognition and memory\n",
        "Ours from each config's definition (`paper_lenet.accounting.cost`), in thousands; the paper does "
        "not state its counting rules, and gives one value per method: its Linear (4K) is the size of a "
        "20x20 deslanted input's (10 x 400), our `[deslant] Linear` row.\n",
        fig11_12_table(groups) + "\n",
    ]
    parts += [f"![{f}]({f})\n" for f in figures]
    return "\n".join(parts), figures
