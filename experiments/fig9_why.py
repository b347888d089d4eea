"""RESULTS.md's Sec. III-C section, its second half: why the rows outside the paper's tolerance are
outside (fig9_why), the rows made independently of the paper's protocol, and the linear and SVM
causes; and the within/outside verdict every row of Fig. 9 gets (fig9.py writes the tables)."""

from __future__ import annotations

from paper_lenet import paper
from paper_lenet.tools.stats import mean_std

from .rejection import is_network
from .study import FIG9_NETWORK_TOLERANCE, FIG9_ROWS, INDEPENDENT
from .tables import over_seeds


def verdict(ours: float, ref: float) -> str:
    """`within` when |ours - paper| <= max(0.3 points, 15% of the paper's value)."""
    points, rel = FIG9_NETWORK_TOLERANCE
    return "within" if abs(ours - ref) <= max(points, rel * ref) + 1e-9 else "outside"  # 1e-9: rounding


def _pass_below(group: list[dict], ref: float):
    """The first pass after which every seed's test error is <= ref %, or None (from metrics.jsonl)."""
    curves = [[100 * m["test_error"] for m in r["metrics"] if "test_error" in m] for r in group]
    for e in range(min(map(len, curves), default=0)):
        if all(c[e] <= ref for c in curves):
            return e + 1
    return None


def fig9_why(groups) -> str:
    """For each network row outside the window, what its own runs say (computed, not written by hand)."""
    lines = []
    for label, name in FIG9_ROWS:
        ref, g = paper.FIG9.get(label), groups.get(name)
        if ref is None or not g or not is_network(name, g) or verdict(over_seeds(g)["mean"], ref) == "within":
            continue
        mean = over_seeds(g)["mean"]
        s = g[0]["summary"]
        if "test_error_all_three" in s:  # boosted: what each part gives
            parts = {
                k: mean_std([100 * r["summary"][k] for r in g])[0]
                for k in ("test_error_net1", "test_error_all_three")
            }
            cost = mean_std([r["summary"]["cost_in_nets"] for r in g])[0]
            lines.append(
                f"- **{label}** (`{name}`): {mean:.2f}% against {ref}%. Net 1 alone (the `fig9-lenet4` "
                f"runs) gives {parts['test_error_net1']:.2f}%, all three nets "
                f"{parts['test_error_all_three']:.2f}%; "
                f"the early exit costs {cost:.2f} nets on average (paper: {paper.BOOSTED_COST})."
            )
            continue
        rows = [r["metrics"] for r in g if r["metrics"] and "train_error" in r["metrics"][-1]]
        if not rows:  # no per-pass record: the verdict stands without an account
            lines.append(
                f"- **{label}** (`{name}`): {mean:.2f}% against {ref}%; its runs keep no per-pass metrics."
            )
            continue
        train = mean_std([100 * m[-1]["train_error"] for m in rows])[0]
        epochs = s["epochs"]
        if mean < ref:
            k = _pass_below(g, ref)
            when = (
                f"every seed is below the paper's figure from pass {k} of {epochs} on"
                if k
                else "no single pass has every seed below the paper's figure"
            )
            lines.append(
                f"- **{label}** (`{name}`): {mean:.2f}%, better than the paper's {ref}%: {when}; final "
                f"training error (on the fly) {train:.2f}%. Unexplained: the paper does not give its "
                f"training; ours is stronger (per-sample SDLM, {epochs} passes, the schedule their "
                f"validation "
                "chose: the nets' schedules table below). The sources searched give no protocol to test: "
                'the MNIST page says "mean square error" for the 300-unit net, which ours is too (squared '
                "distance to +-1 targets), and LeCun et al. 1995's 400-300-10 net is the deslanted 20x20 row."
            )
        else:
            best = mean_std([100 * min(m.get("test_error", 1.0) for m in ms) for ms in rows])[0]
            lines.append(
                f"- **{label}** (`{name}`): {mean:.2f}%, worse than the paper's {ref}%; the best pass "
                f"averages {best:.2f}% and the final training error (on the fly) is {train:.2f}%"
                + (
                    " (the net under-fits: its training error is near its test error)"
                    if train > 0.7 * mean
                    else ""
                )
                + "."
            )
    out = (
        "### Network rows outside the window: what their runs say\n\n" + "\n".join(lines) + "\n"
        if lines
        else ""
    )
    return out + independent(groups) + linear_cause(groups) + svm_cause(groups)


def independent(groups) -> str:
    """Rows whose exact method has an independent published figure (study.INDEPENDENT): ours beside it."""
    lines = []
    for label, name in FIG9_ROWS:
        if label in INDEPENDENT and name in groups:
            fig, where = INDEPENDENT[label]
            lines.append(
                f"- **{label}** (`{name}`): ours {over_seeds(groups[name])['mean']:.2f}%, the paper's "
                f"{paper.FIG9[label]}%; independently {fig:.2f}% ({where})."
            )
    return ("\n### Independent figures for a row's method\n\n" + "\n".join(lines) + "\n") if lines else ""


def linear_cause(groups) -> str:
    """The linear rows' gap, and the one cause the text leaves open: how the paper trained its units."""
    rows = [(label, name, groups[name]) for label, name in FIG9_ROWS if "Linear" in label and name in groups]
    if not rows:
        return ""
    said = "; ".join(
        f"{label} (`{name}`) {over_seeds(g)['mean']:.2f}% against the paper's {paper.FIG9[label]}%"
        for label, name, g in rows
    )
    return (
        "\n### The linear rows: the training rule\n\n"
        + said
        + ". Ours are the regularised least squares onto "
        "+1/-1 (`linear.ridge` chosen on the validation split); the paper does not say how its units were "
        'trained ("various combinations of sigmoid units, linear units, gradient descent learning, and '
        "learning "
        'by directly solving linear systems gave similar results", Sec. III-C-1), so the rule behind its '
        "figure is "
        "the one difference its text leaves open.\n"
    )


def svm_cause(groups) -> str:
    """The SVM rows from their runs' summaries: support vectors of each fit, and for the reduced set the
    unreduced machine's errors beside it (the readout's loss, then the reduction's)."""
    lines = []
    for label, name in FIG9_ROWS:
        g = groups.get(name)
        s = g[0]["summary"] if g else {}
        if "support_vectors" not in s:
            continue
        line = (
            f"- **{label}** (`{name}`): {100 * s['test_error']:.2f}% against the paper's "
            f"{paper.FIG9[label]}%; "
        )
        ovr = "support_per_machine" in s
        if ovr:  # svm.machines ovr: ten one-vs-rest machines, each refitted on its own virtual set
            line += "ten one-vs-rest machines, "
            if "first_support_vectors" in s:
                line += (
                    f"first fits {s['first_support_vectors']:,} support vectors over the ten, each machine "
                    f"refitted on its own and their 4 one-pixel shifts: "
                )
            line += (
                f"{s['support_per_machine_sum']:,} support vectors over the machines (CV95's way of "
                f"counting), "
                f"{s['support_vectors']:,} distinct; "
            )
        elif "first_support_vectors" in s:
            line += (
                f"first machine {s['first_support_vectors']:,} support vectors, the second on them and their "
                f"4 "
                f"one-pixel shifts ({s['virtual_training_set']:,} images) {s['support_vectors']:,}; "
            )
        else:
            line += f"{s['support_vectors']:,} support vectors; "
        line += f"fits {s.get('svc_fit_seconds_total', s['svc_fit_seconds']):.0f} s"
        if "reduced_vectors" in s:
            left = sum(a for _, a in s["rs_relative_distance"]) / len(s["rs_relative_distance"])
            line += f". Unreduced ({s['unreduced_macs'] / 1000:,.0f}K MACs) the machine scores "
            line += (
                f"{100 * s['unreduced_test_error']:.2f}%; its "
                if ovr
                else f"{100 * s['unreduced_min_test_error']:.2f}% with the min readout and "
                f"{100 * s['unreduced_sum_test_error']:.2f}% with the sum readout the reduction needs; its "
            )
            line += (
                f"{s['reduced_vectors']} reduced vectors leave {left:.0%} of |Psi|^2 on average and give "
                f"{100 * s['test_error']:.2f}% (no choice was made from these test figures)"
            )
        lines.append(line + ".")
    if not lines:
        return ""
    return (
        "\n### The SVM rows: what their runs say\n\nEach row's C, gamma and multi-class scheme (libsvm's "
        "one-vs-one "
        'or CV95\'s one-vs-rest) as its validation chose (the tables under "How each setting was chosen"; '
        "docs/deviations.md).\n\n" + "\n".join(lines) + "\n"
    )
