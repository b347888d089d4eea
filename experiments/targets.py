"""RESULTS.md's Targets table: each target of the reproduction, what the runs measured, and whether
it is met; every verdict computed from the committed runs."""

from __future__ import annotations

from paper_lenet import paper
from paper_lenet.tools.stats import mean_std

from .study import EPS_WINDOW, PAPER_CONFIGS
from .tables import headline_met, over_seeds

FIG5_TRAIN_GAP = 0.3  # points: Fig. 5's training curve, at every pass it gives
FIG5_TEST_EARLY, FIG5_TEST_LATE = 0.5, 0.15  # points: its test curve at passes 1-3, and after pass 10
AIM = 0.90  # the headline's aim, below the paper's 0.95


def _curve(g, key: str) -> list[float]:
    n = min(len(r["metrics"]) for r in g)
    return [mean_std([100 * r["metrics"][e][key] for r in g])[0] for e in range(n)]


def _gap(curve, ref, passes) -> float:
    gaps = [abs(curve[e] - ref[e]) for e in passes if e < len(curve) and e < len(ref)]
    return max(gaps) if gaps else float("nan")


def paper_config_rows(name: str, g: list[dict], add) -> None:
    """The headline's targets for one candidate paper config (lenet5_1998 or lenet5_1998_text)."""
    s = over_seeds(g)
    ci = f", 95% interval over seeds [{s['lo']:.2f}, {s['hi']:.2f}]" if s["lo"] is not None else ""
    add(
        f"`{name}`: mean test error within 0.95 +- 0.1%, n >= 5",
        f"{s['mean']:.2f}% (n={s['n']}){ci}",
        headline_met(g) and s["n"] >= 5,
    )
    add(f"`{name}`: aim <= {AIM:.2f}%", f"{s['mean']:.2f}%", s["mean"] <= AIM + 1e-9)
    lo, hi = min(r["metrics"][0]["eff_lr_min"] for r in g), max(r["metrics"][0]["eff_lr_max"] for r in g)
    eta = g[0]["metrics"][0]["lr"]
    add(
        f"`{name}`: first-pass eps_k within about [{EPS_WINDOW[0]:g}, {EPS_WINDOW[1]:g}] (the paper's "
        f"{paper.FIRST_PASS_EPS[0]:g} to {paper.FIRST_PASS_EPS[1]:g}), as measured",
        f"[{lo:.2g}, {hi:.2g}] at our first-pass eta {eta:g} (all seeds)",
        lo >= EPS_WINDOW[0] and hi <= EPS_WINDOW[1],
    )
    k = paper.FIRST_PASS_ETA / eta  # eps_k = eta / (mu + h_kk) scales with eta for the same h_kk
    add(
        f"`{name}`: first-pass h_kk consistent with the paper's range (its eps_k at the paper's first-pass "
        f"eta "
        f"{paper.FIRST_PASS_ETA:g})",
        f"[{k * lo:.2g}, {k * hi:.2g}]",
        k * lo >= EPS_WINDOW[0] and k * hi <= EPS_WINDOW[1],
    )
    train, test = _curve(g, "train_error"), _curve(g, "test_error")
    gap = _gap(train, paper.FIG5_TRAIN, range(len(paper.FIG5_TRAIN)))
    add(
        f"`{name}`: Fig. 5 training curve (on the fly) within {FIG5_TRAIN_GAP} points at every pass",
        f"max gap {gap:.2f}",
        gap <= FIG5_TRAIN_GAP + 1e-9,
    )
    early, late = _gap(test, paper.FIG5_TEST, range(3)), _gap(test, paper.FIG5_TEST, range(10, 20))
    add(
        f"`{name}`: Fig. 5 test curve within {FIG5_TEST_EARLY} points at passes 1-3",
        f"max gap {early:.2f}",
        early <= FIG5_TEST_EARLY + 1e-9,
    )
    add(
        f"`{name}`: Fig. 5 test curve within {FIG5_TEST_LATE} points after pass 10",
        f"max gap {late:.2f}",
        late <= FIG5_TEST_LATE + 1e-9,
    )


def targets_table(groups) -> str:
    """Each target of the reproduction, what we measured, and whether it is met (computed)."""
    rows = ["| target | measured | met? |", "|---|---|---|"]

    def add(what, measured, ok):
        rows.append(f"| {what} | {measured} | {'yes' if ok else 'missed'} |")

    if "lenet5_lush" in groups:
        s = over_seeds(groups["lenet5_lush"])
        add(
            "`lenet5_lush` (the authors' protocol): mean within 0.82 +- 0.15%, n >= 3",
            f"{s['mean']:.2f}% (n={s['n']})",
            abs(s["mean"] - 0.82) <= 0.15 + 1e-9 and s["n"] >= 3,
        )
    if "lenet5_1998" in groups:
        m = groups["lenet5_1998"][0]["config"]["model"]
        add(
            "`lenet5_1998` adds its four S2/S4 inputs (Sec. II-B)",
            f"{m['pooling']}, {m['subsample_mode']}",
            m["pooling"] == "subsample" and m["subsample_mode"] == "sum",
        )
    for name in PAPER_CONFIGS:
        if name in groups:
            paper_config_rows(name, groups[name], add)
    if "lenet5_1998_distort" in groups:
        s = over_seeds(groups["lenet5_1998_distort"])
        add(
            "`lenet5_1998_distort`: mean <= 0.85%, n >= 3",
            f"{s['mean']:.2f}% (n={s['n']})",
            s["mean"] <= 0.85 and s["n"] >= 3,
        )
    if "lenet5_1998_30k" in groups:
        s = over_seeds(groups["lenet5_1998_30k"])
        add(
            "Fig. 6, `lenet5_1998_30k`: mean within 1.14 +- 0.15%, n >= 3",
            f"{s['mean']:.2f}% (n={s['n']})",
            abs(s["mean"] - 1.14) <= 0.15 + 1e-9 and s["n"] >= 3,
        )
    others = [n for n in groups if n in ("modern", "lenet5_1998_15k", "lenet5_1998_30k")]
    few = sorted(n for n in others if len(groups[n]) < 3)
    add(
        "`modern` and the Fig. 6 sizes with >= 3 seeds",
        f"{len(others) - len(few)} of {len(others)} configs" + (f"; fewer: {', '.join(few)}" if few else ""),
        not few,
    )
    ablations = [n for n in groups if n.startswith("ablation-")]
    few = sorted(n for n in ablations if len(groups[n]) < 5)
    add(
        "every ablation with >= 5 seeds (issue 30)",
        f"{len(ablations) - len(few)} of {len(ablations)} configs"
        + (f"; fewer: {', '.join(few)}" if few else ""),
        not few,
    )
    return "\n".join(rows)
