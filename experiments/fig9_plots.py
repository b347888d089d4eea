"""The Sec. III-C section's figures: Fig. 9's bars (ours beside the paper's) and Fig. 10's rejection
curves, drawn from report.collect's groups with fig9.py's helpers; matplotlib is optional."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_lenet import paper

from .plots import pyplot
from .rejection import is_network, margins_of, rejection_curve, run_config
from .study import FIG9_ROWS
from .tables import over_seeds


def fig9_chart(groups, path: Path) -> bool:
    """Horizontal bars per Fig. 9 row: ours (mean, std error bar) beside the paper's; False without
    matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    rows = [
        (label, paper.FIG9.get(label), over_seeds(groups[name]) if name in groups else None)
        for label, name in FIG9_ROWS
    ]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(rows) + 1.2))
    ax.barh(y - 0.2, [r[1] or 0 for r in rows], height=0.4, color="0.7", label="paper")
    ours = [(i, r[2]) for i, r in enumerate(rows) if r[2] is not None]
    ax.barh(
        [i + 0.2 for i, _ in ours],
        [s["mean"] for _, s in ours],
        height=0.4,
        color="C0",
        xerr=[s["std"] for _, s in ours],
        capsize=2,
        label="ours (mean +- std over seeds)",
    )
    ax.set_yticks(y, [r[0] for r in rows], fontsize=7)
    ax.set_xscale("log")  # 0.7% to 14%: a log axis keeps the networks' differences visible
    ax.set_xlim(0.3, 20)
    ax.set_xticks([0.5, 1, 2, 5, 10], ["0.5", "1", "2", "5", "10"])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set(xlabel="test error (%), log scale", title="Fig. 9: test error of the Sec. III-C classifiers")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def fig10_curves(groups, labels, path: Path, xmax: float = 10.0) -> bool:
    """Error % on the accepted vs % rejected (first seed with margins) for the network rows and k-NN,
    with Fig. 10's 0.5% line; False without matplotlib or without any curve."""
    plt = pyplot()
    curves = []
    for label, name in FIG9_ROWS:
        g = groups.get(name) if name else None
        if not g or not (is_network(name, g) or run_config(g).knn is not None):
            continue
        for r in g:
            if (m := margins_of(r, labels)) is not None:
                curves.append(
                    (f"{label} (seed {r['summary']['seed']})", rejection_curve(r["pred"], labels, m))
                )
                break
    if plt is None or not curves:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (label, (x, e)) in enumerate(curves):
        keep = x <= xmax
        ax.plot(x[keep], e[keep], color=f"C{i % 10}", ls="-" if i < 10 else "--", lw=1, label=label)
    ax.axhline(paper.FIG10_ERROR, color="k", ls=":", lw=1, label=f"{paper.FIG10_ERROR}% error")
    ax.set(
        xlabel="test patterns rejected (%), lowest top-two margin first",
        ylabel="error on the accepted (%)",
        title="Fig. 10: error vs rejection",
        xlim=(0, xmax),
        ylim=(0, 2.5),
    )  # the 0.5% crossing, not the start
    ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
