"""How lenet5_1998_text's eta scale was chosen on the validation split, and what SN2.8's running h_kk
does to the text's own eta (issue 21 A's diagnosis): RESULTS.md's sections, from the committed runs."""

from __future__ import annotations

from paper_lenet import paper
from paper_lenet.tools.stats import mean_std

from .study import RUNNING_CANDIDATES, TEXT_CANDIDATES, TIE, VALIDATION_BASE


def val_stats(group: list[dict]) -> tuple[float, float, int]:
    return (*mean_std([100 * r["summary"]["val_error"] for r in group]), len(group))


def text_schedule_choice(val: dict) -> dict | None:
    """The rule of experiments/configs/validation/val-text-eta*.yaml on the committed runs: among the text
    schedule's candidates the lowest mean val_error, a tie (< TIE) going to the larger eta scale (then
    to the text's mu); the text's schedule is the paper config when that candidate ties or beats
    val-block30. None without the runs."""
    names = [n for n in val if n.startswith(TEXT_CANDIDATES) or n == "val-paper-schedule"]
    if not names or VALIDATION_BASE not in val:
        return None
    sdlm = {n: val[n][0]["config"]["train"]["sdlm"] for n in names}
    scale = {n: sdlm[n]["eta"][0][1] / paper.PAPER_ETA[0][1] for n in names}
    mean = {n: val_stats(val[n])[0] for n in names}
    best = min(mean.values())
    pick = max(
        (n for n in names if mean[n] - best < TIE - 1e-9), key=lambda n: (scale[n], sdlm[n]["mu"] == paper.MU)
    )
    base = val_stats(val[VALIDATION_BASE])[0]
    return {
        "pick": pick,
        "scale": scale[pick],
        "mean": mean[pick],
        "base": base,
        "means": mean,
        "scales": scale,
        "paper_config": "lenet5_1998_text" if mean[pick] - base < TIE - 1e-9 else "lenet5_1998",
    }


def text_schedule_text(val: dict) -> str:
    c = text_schedule_choice(val)
    if c is None:
        return ""
    rows = [
        "### The text's schedule: its eta scale (`lenet5_1998_text`)\n",
        "The text's 20-pass schedule shape with h_kk before every pass on 500 random images, every eta "
        "scaled; rule, written before the runs: the lowest mean val_error, a tie (< 0.05 points) to the "
        "larger scale; the text's schedule becomes the paper config (Figs. 5 and 9) if that candidate ties "
        "or beats `val-block30`.\n",
        "| candidate | eta scale | mean val error % |",
        "|---|---|---|",
    ]
    rows += [
        f"| `{n}` | x{c['scales'][n]:g} | {c['means'][n]:.3f} |"
        for n in sorted(c["means"], key=lambda n: -c["scales"][n])
    ]
    rows.append(
        f"\nChosen: `{c['pick']}` (x{c['scale']:g}, {c['mean']:.3f}%) against `val-block30` "
        f"{c['base']:.3f}%: "
        f"the paper config is `{c['paper_config']}`.\n"
    )
    return "\n".join(rows)


def running_text(val: dict) -> str:
    """The rule of experiments/configs/validation/val-text-running.yaml on the committed runs: does the
    text's eta train with SN2.8's per-pattern running h_kk, and where does it land against the chosen
    per-pass scale? Each row: mean val error, and the on-the-fly training error at passes 1-3 and the
    last against Fig. 5's."""
    c = text_schedule_choice(val)
    names = [n for n in val if n.startswith(RUNNING_CANDIDATES)]
    if c is None or not names:
        return ""
    rows = [
        "### The text's eta with a running h_kk (why the text's eta overshoots)\n",
        "SN2.8's per-pattern running average (`train.sdlm.hessian: running`, gamma 0.05) in place of the "
        "text's per-pass estimate, on the text's schedule. Rule, written before the runs "
        "(`experiments/configs/validation/val-text-running.yaml`): within 0.05 points of the chosen per-pass "
        "candidate or better, the text's eta trains when h_kk is a running estimate; `lenet5_1998_text` "
        "keeps "
        "the text's per-pass h_kk either way.\n",
        "| candidate | h_kk | eta scale | val error % by seed | mean | train % (on the fly) at passes 1 / 2 "
        "/ 3 / last |",
        "|---|---|---|---|---|---|",
    ]
    paper_row = " / ".join(f"{paper.FIG5_TRAIN[e]:.2f}" for e in (0, 1, 2, len(paper.FIG5_TRAIN) - 1))
    for n in ["val-paper-schedule", c["pick"], *sorted(names)]:
        if n not in val:
            continue
        g, sd = val[n], val[n][0]["config"]["train"]["sdlm"]
        curve = [mean_std([100 * r["metrics"][e]["train_error"] for r in g])[0] for e in (0, 1, 2, -1)]
        seeds = " / ".join(f"s{r['summary']['seed']}: {100 * r['summary']['val_error']:.2f}" for r in g)
        rows.append(
            f"| `{n}` | {sd['hessian']} | x{sd['eta'][0][1] / paper.PAPER_ETA[0][1]:g} | {seeds} | "
            f"{val_stats(g)[0]:.3f} | {' / '.join(f'{v:.2f}' for v in curve)} |"
        )
    rows += [f"| Fig. 5 (the paper, 60,000 images) | | | | | {paper_row} |", ""]
    for n in sorted(names):
        m, scale = (
            val_stats(val[n])[0],
            val[n][0]["config"]["train"]["sdlm"]["eta"][0][1] / paper.PAPER_ETA[0][1],
        )
        per_pass = [k for k, v in c["scales"].items() if abs(v - scale) < 1e-9]
        against = (
            f" against the per-pass estimate's {c['means'][per_pass[0]]:.3f}% at the same eta"
            if per_pass
            else ""
        )
        rows.append(
            f"- `{n}` (x{scale:g}): {m:.3f}%{against}; "
            + (
                "within 0.05 points of"
                if abs(m - c["mean"]) < TIE - 1e-9
                else "more than 0.05 points below"
                if m < c["mean"]
                else "more than 0.05 points above"
            )
            + f" the chosen per-pass `{c['pick']}` ({c['mean']:.3f}%)."
        )
    best = min(names, key=lambda n: val_stats(val[n])[0])
    if c["mean"] - val_stats(val[best])[0] > TIE + 1e-9:
        rows.append(
            f"\nBy the rule `{best}` wins by more than 0.05 points: it becomes a config of its own, "
            "`lenet5_1998_running` (the text's schedule with SN2.8's running h_kk), beside the paper config."
        )
    return "\n".join(rows) + "\n"
