"""paper-lenet compare's output: Markdown (default), a booktabs LaTeX table, CSV, JSON, and the plot."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .errors import UserError
from .rundir import atomic_write

NOTE = ("Test error in % over seeds: mean, sample std and a 95% t-interval (training variance); test SE: "
        "the test-sample standard error of the mean error, sqrt(p(1-p)/N), stated apart. Difference: config "
        "minus baseline in points, 95% interval from a paired two-level bootstrap (seeds resampled, the same "
        "test images resampled for both configs); P(better): share of replicates where the config's error is "
        "lower (ties half). McNemar: exact p per seed both configs have.")


def render(result: dict, fmt: str) -> str:
    return {"json": json_result, "md": markdown, "latex": latex, "csv": csv_text}[fmt](result)


def json_result(result: dict) -> str:
    """The --format json document: exactly the keys the issue names (errors and intervals in %)."""
    keys = ("name", "dir", "n", "errors", "mean", "std", "ci95")
    doc = {"configs": [{k: c[k] for k in keys} for c in result["configs"]],
           "comparisons": [{k: c[k] for k in ("name", "baseline", "diff", "ci95", "p_better", "mcnemar_p")}
                           for c in result["comparisons"]]}
    return json.dumps(doc, indent=2) + "\n"



def _f(x, digits=2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _ci(ci, digits=2) -> str:
    return "n/a (1 seed)" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _mcnemar(m: dict) -> str:
    return ", ".join(f"{s}: {_p(p)}" for s, p in m.items()) or "no shared seed"


def _rows(result: dict):
    """(config row, its comparison or None) in the configs' order."""
    by_name = {c["name"]: c for c in result["comparisons"]}
    return [(c, by_name.get(c["name"])) for c in result["configs"]]


def markdown(result: dict) -> str:
    lines = ["| config | n | error per seed (%) | mean ± std (%) | 95% t-interval | test SE |",
             "|---|---:|---|---:|---|---:|"]
    for c, _ in _rows(result):
        seeds = ", ".join(f"{s}: {e:.2f}" for s, e in zip(c["seeds"], c["errors"]))
        lines.append(f"| {c['name']} | {c['n']} | {seeds} | {c['mean']:.2f} ± {c['std']:.2f} | {_ci(c['ci95'])} "
                     f"| {c['test_se']:.2f} |")
    if result["comparisons"]:
        lines += ["", "| config | baseline | difference (points) | 95% bootstrap interval | P(better) "
                  "| McNemar p per seed |",
                  "|---|---|---:|---|---:|---|"]
        for m in result["comparisons"]:
            lines.append(f"| {m['name']} | {m['baseline']} | {m['diff']:+.2f} | {_ci(m['ci95'])} "
                         f"| {_p(m['p_better'])} | {_mcnemar(m['mcnemar_p'])} |")
    return "\n".join(lines + ["", NOTE]) + "\n"


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        s = s.replace(a, b)
    return s


def latex(result: dict) -> str:
    """A booktabs table (\\usepackage{booktabs}), one row per config, the baseline's difference blank."""
    base = result["comparisons"][0]["baseline"] if result["comparisons"] else result["configs"][0]["name"]
    lines = [r"\begin{tabular}{lrrlrlr}", r"\toprule",
             r"Config & $n$ & Error (\%) & 95\% CI & Test SE & $\Delta$ vs.\ " + _tex(base)
             + r" [95\% CI] & $P(\text{better})$ \\", r"\midrule"]
    for c, m in _rows(result):
        ci = "--" if c["ci95"] is None else f"[{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}]"
        delta = "--" if m is None else f"${m['diff']:+.2f}$ [{m['ci95'][0]:.2f}, {m['ci95'][1]:.2f}]"
        better = "--" if m is None else _p(m["p_better"])
        lines.append(f"{_tex(c['name'])} & {c['n']} & ${c['mean']:.2f} \\pm {c['std']:.2f}$ & {ci} & "
                     f"{c['test_se']:.2f} & {delta} & {better} \\\\")
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n"


def csv_text(result: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "dir", "n", "seeds", "errors", "mean", "std", "ci95_low", "ci95_high", "test_se",
                "baseline", "diff", "diff_ci95_low", "diff_ci95_high", "p_better", "mcnemar_p"])
    for c, m in _rows(result):
        ci = c["ci95"] or ["", ""]
        cmp_cols = ["", "", "", "", "", ""] if m is None else [
            m["baseline"], m["diff"], m["ci95"][0], m["ci95"][1], m["p_better"],
            ";".join(f"{s}:{p}" for s, p in m["mcnemar_p"].items())]
        w.writerow([c["name"], c["dir"], c["n"], ";".join(map(str, c["seeds"])),
                    ";".join(f"{e:.4f}" for e in c["errors"]), c["mean"], c["std"], *ci, c["test_se"], *cmp_cols])
    return out.getvalue()


def need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'paper-lenet[plot]'") from None


def write_plot(result: dict, path) -> Path:
    """Each config's mean error with its 95% t-interval (and each seed's error as a dot), written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    configs = result["configs"]
    fig = Figure(figsize=(6.4, 0.6 + 0.45 * len(configs)))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for y, c in enumerate(configs):
        lo, hi = c["ci95"] if c["ci95"] else (c["mean"], c["mean"])
        ax.errorbar([c["mean"]], [y], xerr=[[c["mean"] - lo], [hi - c["mean"]]], fmt="o", color="C0", capsize=4)
        ax.plot(c["errors"], [y] * c["n"], "x", color="C1", alpha=0.7)
    ax.set_yticks(range(len(configs)), [c["name"] for c in configs])
    ax.set_ylim(len(configs) - 0.5, -0.5)
    ax.set_xlabel("test error (%): mean and 95% t-interval over seeds (x: each seed)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    return path
