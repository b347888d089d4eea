"""paper-lenet compare's output: Markdown (default), a booktabs LaTeX table, CSV, JSON, and the plot."""

from __future__ import annotations

import csv
import io
import json

NOTE = (
    "Test error in % over seeds: mean, sample std and a 95% Student-t interval over seeds (training "
    "variance; clipped to [0, 100]; none for one seed, nor where some seeds diverged, >= 50%, and others "
    "trained: the seeds disagree). Test SE: the "
    "test-sample standard error of the seed-mean error, sd over the N test images of each image's "
    "seed-mean miss / sqrt(N). Difference: config minus baseline in points; 95% interval: d +- t(nu) "
    "sqrt(s_A^2/n_A + s_B^2/n_B + var_j(mA_j - mB_j)/N), Welch's seed part plus the paired test-sample "
    "part (mX_j: config X's seed-mean miss of image j), nu by Satterthwaite; it holds 95% at 2-10 seeds "
    "per arm in simulation (docs/own-ablation.md). p (no difference): the two-sided p of the same t; "
    "Holm p: adjusted over the configs compared with this baseline. Seeds per arm: how many would make "
    "the interval's half-width smaller than the observed difference, at the observed variances."
)


def render(result: dict, fmt: str) -> str:
    return {"json": json_result, "md": markdown, "latex": latex, "csv": csv_text}[fmt](result)


CONFIG_KEYS = ("name", "dir", "n", "seeds", "errors", "mean", "std", "ci95", "ci_reason", "test_se")
COMPARISON_KEYS = (
    "name",
    "baseline",
    "diff",
    "ci95",
    "p_value",
    "p_holm",
    "df",
    "se",
    "reason",
    "seeds_needed",
    "seeds_needed_reason",
    "bootstrap_ci95",
)


def json_result(result: dict) -> str:
    """The --format json document (errors and intervals in %; df null where infinite)."""

    def finite(v):
        return None if isinstance(v, float) and v == float("inf") else v

    doc = {
        "configs": [{k: c[k] for k in CONFIG_KEYS} for c in result["configs"]],
        "comparisons": [{k: finite(c[k]) for k in COMPARISON_KEYS} for c in result["comparisons"]],
        "warnings": result.get("warnings", []),
    }
    return json.dumps(doc, indent=2) + "\n"


def _ci(ci, reason=None, digits=2) -> str:
    return (reason or "n/a") if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _p(p) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"


def _needed(m: dict) -> str:
    return str(m["seeds_needed"]) if m["seeds_needed"] is not None else m["seeds_needed_reason"]


def _rows(result: dict):
    """(config row, its comparison or None) in the configs' order."""
    by_name = {c["name"]: c for c in result["comparisons"]}
    return [(c, by_name.get(c["name"])) for c in result["configs"]]


def markdown(result: dict) -> str:
    lines = [
        "| config | n | error per seed (%) | mean ± std (%) | 95% t-interval over seeds | test SE of the "
        "mean |",
        "|---|---:|---|---:|---|---:|",
    ]
    for c, _ in _rows(result):
        seeds = ", ".join(f"{s}: {e:.2f}" for s, e in zip(c["seeds"], c["errors"], strict=False))
        lines.append(
            f"| {c['name']} | {c['n']} | {seeds} | {c['mean']:.2f} ± {c['std']:.2f} "
            f"| {_ci(c['ci95'], c['ci_reason'])} | {c['test_se']:.2f} |"
        )
    if result["comparisons"]:
        lines += [
            "",
            "| config | baseline | difference (points) | 95% interval | p (no difference) | Holm p "
            "| seeds per arm to resolve it |",
            "|---|---|---:|---|---:|---:|---|",
        ]
        for m in result["comparisons"]:
            lines.append(
                f"| {m['name']} | {m['baseline']} | {m['diff']:+.2f} | {_ci(m['ci95'], m['reason'])} "
                f"| {_p(m['p_value'])} | {_p(m['p_holm'])} | {_needed(m)} |"
            )
    return "\n".join(lines + ["", NOTE]) + "\n"


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        s = s.replace(a, b)
    return s


def latex(result: dict) -> str:
    """A booktabs table (\\usepackage{booktabs}), one row per config, the baseline's difference blank."""
    base = result["comparisons"][0]["baseline"] if result["comparisons"] else result["configs"][0]["name"]
    lines = [
        r"\begin{tabular}{lrrlrlrr}",
        r"\toprule",
        r"Config & $n$ & Error (\%) & 95\% CI & Test SE & $\Delta$ vs.\ "
        + _tex(base)
        + r" [95\% CI] & $p$ & Holm $p$ \\",
        r"\midrule",
    ]
    for c, m in _rows(result):
        ci = "--" if c["ci95"] is None else f"[{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}]"
        delta = (
            "--"
            if m is None
            else f"${m['diff']:+.2f}$ "
            + (
                f"[{m['ci95'][0]:.2f}, {m['ci95'][1]:.2f}]"
                if m["ci95"]
                else f"({_tex(m['reason'] or 'n/a')})"
            )
        )
        p = "-- & --" if m is None else f"{_tex(_p(m['p_value']))} & {_tex(_p(m['p_holm']))}"
        lines.append(
            f"{_tex(c['name'])} & {c['n']} & ${c['mean']:.2f} \\pm {c['std']:.2f}$ & {ci} & "
            f"{c['test_se']:.2f} & {delta} & {p} \\\\"
        )
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n"


def csv_text(result: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "name",
            "dir",
            "n",
            "seeds",
            "errors",
            "mean",
            "std",
            "ci95_low",
            "ci95_high",
            "test_se",
            "baseline",
            "diff",
            "diff_ci95_low",
            "diff_ci95_high",
            "p_value",
            "p_holm",
            "seeds_needed",
            "note",
        ]
    )
    for c, m in _rows(result):
        ci = c["ci95"] or ["", ""]
        dci = (m["ci95"] or ["", ""]) if m else ["", ""]
        cmp_cols = (
            [""] * 8
            if m is None
            else [
                m["baseline"],
                m["diff"],
                *dci,
                "" if m["p_value"] is None else m["p_value"],
                "" if m["p_holm"] is None else m["p_holm"],
                "" if m["seeds_needed"] is None else m["seeds_needed"],
                m["reason"] or m["seeds_needed_reason"] or "",
            ]
        )
        w.writerow(
            [
                c["name"],
                c["dir"],
                c["n"],
                ";".join(map(str, c["seeds"])),
                ";".join(f"{e:.4f}" for e in c["errors"]),
                c["mean"],
                c["std"],
                *ci,
                c["test_se"],
                *cmp_cols,
            ]
        )
    return out.getvalue()
