"""RESULTS' rejection-and-robustness answers are worded from the intervals they quote."""

from __future__ import annotations

from experiments.robustness_section import LINEAR, _d, _sign, corruption_answer, head_answer


def _w(diff, lo, hi):
    return {"diff": diff, "ci95": [lo, hi], "reason": None}


def test_the_head_answer_turns_softmax_minus_rbf_into_rbf_minus_softmax():
    sets = ["noise", "letters"]
    rej = {
        "noise": {"first": {"auroc": _w(-0.03, -0.04, -0.02)}, "margin": {"auroc": _w(0.01, -0.01, 0.03)}},
        "letters": {"first": {"auroc": _w(0.01, 0.005, 0.015)}, "margin": {"auroc": _w(0.05, 0.04, 0.06)}},
    }
    res = {
        "rubbish": sets,
        "comparisons": [
            {
                "name": LINEAR,
                "rejection": rej,
                "clean": _w(0.1, -0.1, 0.3),
                "mean_corruption": _w(-8.0, -9.0, -7.0),
            }
        ],
    }
    text = head_answer(res)
    # the comparison is linear - RBF; the answer states RBF - softmax: signs and interval ends swap
    assert (
        "noise +0.030 [+0.020, +0.040], letters -0.010 [-0.015, -0.005] (1 of 2 excluding 0 above, 1 below"
        in text
    )
    assert (
        "noise -0.010 [-0.030, +0.010], letters -0.050 [-0.060, -0.040] (0 of 2 excluding 0 above, 1 below, "
        "1 "
        "unresolved)" in text
    )


def test_one_seed_is_never_a_resolved_difference():
    one = {"diff": 0.5, "ci95": None, "reason": "1 seed: no interval"}
    assert _sign(one) == 0 and _d(one) == "+0.50 (1 seed: no interval)"
    assert _sign(_w(0.5, 0.1, 0.9)) == 1 and _sign(_w(0.5, 0.1, 0.9), flip=True) == -1
    assert _sign(_w(0.5, -0.1, 0.9)) == 0


def test_the_corruption_answer_lists_what_got_better_and_worse():
    corr = {"rotate": _w(-3.0, -4.0, -2.0), "fog": _w(2.0, 1.0, 3.0), "stripe": _w(0.5, -1.0, 2.0)}
    res = {
        "corruptions": list(corr),
        "rubbish": ["noise"],
        "comparisons": [
            {
                "name": "x",
                "corruption": corr,
                "mean_corruption": _w(-0.2, -1.0, 0.6),
                "clean": _w(-0.3, -0.5, -0.1),
                "rejection": {"noise": {"first": {"auroc": _w(0.0, -0.01, 0.01)}}},
            }
        ],
    }
    text = corruption_answer(res, "x", "Q?")
    assert (
        "on 1 of 3 (rotate), higher on 1 (fog)" in text
        and "mean corrupted error -0.20 [-1.00, +0.60]" in text
    )
    assert corruption_answer(res, "absent", "Q?") == "Q? `absent` was not scored."
