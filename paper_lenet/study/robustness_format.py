"""`paper-lenet robustness`'s output: markdown, LaTeX, CSV, JSON and the plot, from robustness_stats'
result (every error in percent; AUROC and FPR at 95% TPR as fractions)."""

from __future__ import annotations

import csv
import io
import json


def _ci(c, digits=2) -> str:
    if c is None:
        return "-"
    s = f"{c['mean']:.{digits}f}"
    return s + (f" [{c['ci95'][0]:.{digits}f}, {c['ci95'][1]:.{digits}f}]" if c["ci95"] else " (1 seed)")


def _diff(d, digits=2) -> str:
    s = f"{d['diff']:+.{digits}f}"
    if d.get("ci95") is None:
        return s + f" ({d.get('reason') or 'no interval'})"
    p = d.get("p_value")
    return (
        s
        + f" [{d['ci95'][0]:+.{digits}f}, {d['ci95'][1]:+.{digits}f}]"
        + (f" p={p:.2g}" if p is not None else "")
    )


def tables(result: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the four tables, shared by markdown, LaTeX and CSV."""
    cfgs = result["configs"]
    names = [f"{c['name']} (n={c['n']})" for c in cfgs]
    t1 = [["clean"] + [_ci(c["clean"]) for c in cfgs]]
    t1 += [[k.replace("_", " ")] + [_ci(c["corruption"][k]) for c in cfgs] for k in result["corruptions"]]
    t1 += [
        ["mean corrupted"] + [_ci(c["mean_corruption"]) for c in cfgs],
        [f"mCE vs {result['baseline']} (%)"] + [_ci(c["mce"], 1) for c in cfgs],
    ]
    t2 = []
    for c in cfgs:
        for s in c["rejection"][result["rubbish"][0]]:
            t2.append(
                [c["name"], s]
                + [
                    f"{_ci(c['rejection'][g][s]['auroc'], 3)} / {_ci(c['rejection'][g][s]['fpr95'], 3)}"
                    for g in result["rubbish"]
                ]
            )
    t3 = []
    for v in result["comparisons"]:
        t3.append([v["name"], "clean error (pp)", _diff(v["clean"])])
        t3.append([v["name"], "mean corrupted error (pp)", _diff(v["mean_corruption"])])
        for g in result["rubbish"]:
            for label in ("first", "margin"):
                score = f"{v['scores'][0]} vs {v['scores'][1]}" if label == "first" else "margin vs margin"
                d = v["rejection"][g][label]
                t3.append([v["name"], f"{g}: AUROC, {score}", _diff(d["auroc"], 3)])
                t3.append([v["name"], f"{g}: FPR at 95% TPR, {score}", _diff(d["fpr95"], 3)])
    return [
        ("Error (%) per corruption: mean [95% t-interval over seeds]", ["set"] + names, t1),
        (
            "Rejection: AUROC / FPR at 95% TPR, test digits against rubbish",
            ["config", "score"] + result["rubbish"],
            t2,
        ),
        (
            f"Against {result['baseline']}: difference [95% Welch interval] and p",
            ["config", "figure", "difference"],
            t3,
        ),
    ]


def markdown(result: dict) -> str:
    out = []
    for title, head, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    notes = [f"{c['name']}: {c['note']}" for c in result["configs"] if c["note"]]
    return "\n".join(out + notes) + ("\n" if notes else "")


def _tex(s: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("_", "\\_"), ("%", "\\%"), ("&", "\\&"), ("#", "\\#")):
        s = s.replace(a, b)
    return s


def latex(result: dict) -> str:
    out = []
    for title, head, rows in tables(result):
        out += [
            f"% {title}",
            "\\begin{tabular}{" + "l" * len(head) + "}",
            "\\hline",
            " & ".join(_tex(h) for h in head) + " \\\\",
            "\\hline",
        ]
        out += [" & ".join(_tex(x) for x in r) + " \\\\" for r in rows]
        out += ["\\hline", "\\end{tabular}", ""]
    return "\n".join(out)


def csv_text(result: dict) -> str:
    """Long format: one row per config x figure, each seed's value and the interval."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["config", "n", "figure", "set", "score", "mean", "ci95_low", "ci95_high", "values"])

    def row(c, figure, set_, score, x):
        if x is None:
            return
        lo, hi = x["ci95"] if x["ci95"] else ("", "")
        w.writerow(
            [
                c["name"],
                c["n"],
                figure,
                set_,
                score,
                x["mean"],
                lo,
                hi,
                ";".join(f"{v:.6g}" for v in x["values"]),
            ]
        )

    for c in result["configs"]:
        row(c, "error_pct", "clean", "", c["clean"])
        for k in result["corruptions"]:
            row(c, "error_pct", k, "", c["corruption"][k])
        row(c, "error_pct", "mean_corrupted", "", c["mean_corruption"])
        row(c, "mce_pct", "mean_corrupted", "", c["mce"])
        for g in result["rubbish"]:
            for s, m in c["rejection"][g].items():
                row(c, "auroc", g, s, m["auroc"])
                row(c, "fpr95", g, s, m["fpr95"])
    return buf.getvalue()


def render(result: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, indent=2, sort_keys=True) + "\n"
    return {"md": markdown, "latex": latex, "csv": csv_text}[fmt](result)
