"""The report's figures: Fig. 5 overlay, Fig. 6 sizes, ablation chart, misclassified gallery (Fig. 8)."""

from __future__ import annotations

from pathlib import Path

from paper_lenet import paper as ref
from paper_lenet.config import DataConfig
from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import load_split
from paper_lenet.tools.stats import mean_std

from .study import PAPER_CONFIG, baseline_of
from .tables import PAPER_HEADLINE, over_seeds


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None without matplotlib (the optional `plot` extra)."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plt():
    plt = pyplot()
    if plt is None:
        raise ImportError("the report's figures need matplotlib: pip install 'paper-lenet[plot]'")
    return plt


def fig5(group, path: Path) -> None:
    plt = _plt()
    n = min(len(r["metrics"]) for r in group)
    x = list(range(1, n + 1))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for key, paper, color in (
        ("train_error", ref.FIG5_TRAIN, "tab:blue"),
        ("test_error", ref.FIG5_TEST, "tab:red"),
    ):
        stats = [mean_std([100 * r["metrics"][e][key] for r in group]) for e in range(n)]
        m = [s[0] for s in stats]
        ax.plot(x, m, color=color, label=f"ours {key.split('_')[0]} (mean, n={len(group)})")
        if len(group) > 1:
            ax.fill_between(x, [a - s for a, s in stats], [a + s for a, s in stats], color=color, alpha=0.2)
        ax.plot(range(1, len(paper) + 1), paper, "--", color=color, label=f"paper {key.split('_')[0]}")
    ax.set(xlabel="pass", ylabel="error (%)", title="Fig. 5: LeNet-5 error per pass", ylim=(0, 5))
    ax.xaxis.get_major_locator().set_params(integer=True)  # passes are whole numbers
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig6(groups, path: Path) -> bool:
    names = {15000: "lenet5_1998_15k", 30000: "lenet5_1998_30k", 60000: "lenet5_1998"}
    pts = [
        (size, mean_std([100 * r["summary"]["test_error"] for r in groups[nm]]))
        for size, nm in names.items()
        if nm in groups
    ]
    if not pts:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.errorbar(
        [p[0] for p in pts],
        [p[1][0] for p in pts],
        yerr=[p[1][1] for p in pts],
        fmt="o-",
        label="ours test (mean +- std)",
    )
    ax.plot(list(ref.FIG6), [v[0] for v in ref.FIG6.values()], "s--", label="paper test")
    ax.set(xlabel="training set size", ylabel="test error (%)", title="Fig. 6: training-set size")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def ablations(panels, path: Path, clip: float = 6.0) -> None:
    """panels: [(title, paper_value or None, rows)], rows [(label, mean, lo, hi)] baseline first, with
    the 95% t-interval over seeds (lo = hi = mean for one seed). The axis stops at `clip`%: runs beyond it
    (diverged) are drawn as
    a triangle at the edge with their value written beside it, so ~1% differences stay visible."""
    plt = _plt()
    n = sum(len(r) for _, _, r in panels)
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(7.5, 0.32 * n + 1.0 * len(panels) + 0.6),
        squeeze=False,
        gridspec_kw={"height_ratios": [len(r) for _, _, r in panels]},
    )
    for ax, (title, paper, rows) in zip(axes[:, 0], panels, strict=False):
        y = list(range(len(rows)))
        inside = [i for i, r in enumerate(rows) if r[1] <= clip]
        ax.errorbar(
            [rows[i][1] for i in inside],
            inside,
            fmt="o",
            capsize=3,
            xerr=[
                [rows[i][1] - rows[i][2] for i in inside],
                [min(rows[i][3], clip) - rows[i][1] for i in inside],
            ],
        )
        for i, r in enumerate(rows):
            if r[1] > clip:
                ax.plot([clip], [i], ">", color="C3")
                ax.annotate(
                    f"{r[1]:.1f}%",
                    (clip, i),
                    xytext=(-6, 0),
                    textcoords="offset points",
                    ha="right",
                    va="center",
                    fontsize=8,
                    color="C3",
                )
        ax.axvline(rows[0][1], color="gray", ls="--", lw=1, label=f"baseline {rows[0][1]:.2f}%")
        if paper is not None:
            ax.axvline(paper, color="k", ls=":", lw=1, label=f"paper {paper:.2f}%")
        ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
        ax.set_xlim(0, clip)
        ax.set_ylim(len(rows) - 0.4, -0.6)  # first row on top, room for the edge labels
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="best")
    axes[-1, 0].set(xlabel="test error (%): mean over seeds, 95% t-interval over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gallery(run, labels: str, path: Path, limit: int = 180) -> bool:
    """The misclassified test digits of one run with true -> predicted labels (as the paper's Fig. 8)."""
    images, _ = load_split(resolve_root(DataConfig().root), "test")
    all_wrong = [i for i, (p, t) in enumerate(zip(run["pred"], labels, strict=False)) if p != t]
    wrong = all_wrong[:limit]
    if not wrong:
        return False
    plt = _plt()
    cols = 12
    rows = (len(wrong) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{labels[i]}->{run['pred'][i]}", fontsize=8)
    shown = f"{len(wrong)}" if len(wrong) == len(all_wrong) else f"the first {len(wrong)} of {len(all_wrong)}"
    fig.suptitle(
        f"{run['summary']['name']} seed {run['summary']['seed']}: {shown} misclassified "
        f"test digits (true->predicted)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_plots(groups, out: Path, labels) -> list[str]:
    """All figures that the available runs support; returns their file names."""
    made = []
    if PAPER_CONFIG in groups:
        fig5(groups[PAPER_CONFIG], out / "fig5_error_per_pass.png")
        made.append("fig5_error_per_pass.png")
        if labels is not None and groups[PAPER_CONFIG][0]["pred"]:
            if gallery(groups[PAPER_CONFIG][0], labels, out / "fig8_misclassified.png"):
                made.append("fig8_misclassified.png")
    if fig6(groups, out / "fig6_training_size.png"):
        made.append("fig6_training_size.png")
    panels = []
    for base, paper in (("lenet5_1998", PAPER_HEADLINE), ("modern", None)):
        names = sorted(n for n in groups if n.startswith("ablation-") and baseline_of(n) == base)
        if base in groups and names:
            rows = []
            for name in [base] + names:
                s = over_seeds(groups[name])
                lo, hi = (s["lo"], s["hi"]) if s["lo"] is not None else (s["mean"], s["mean"])
                rows.append((f"{name} (n={s['n']})", s["mean"], lo, hi))
            panels.append((f"one change to `{base}`", paper, rows))
    if panels:
        ablations(panels, out / "ablations.png")
        made.append("ablations.png")
    return made
