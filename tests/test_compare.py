"""paper-lenet compare and its statistics: hand-computed answers on made-up runs (the Welch-t interval
with its test-sample part, the seed-mean test SE, Holm, seeds needed), the bootstrap's distribution where
it is known exactly, the provenance warnings, the one-line errors, and the committed real runs."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from scipy.stats import binom

from paper_lenet.cli import main
from paper_lenet.config import dump_config, load_config
from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import find_file
from paper_lenet.study.compare import compare, load_test_labels
from paper_lenet.tools import stats

T975 = {1: 12.706, 2: 4.303, 11: 2.201, 12: 2.179}  # Student t, two-sided 95%, by degrees of freedom (printed
# tables, 3 decimals)


def make_run(folder, seed, missed, labels, **summary):
    """A finished run whose predictions miss exactly the test images `missed`."""
    run = folder / f"seed{seed}"
    run.mkdir(parents=True)
    pred = labels.copy()
    pred[list(missed)] = (pred[list(missed)] + 1) % 10
    (run / summary.pop("pred_name", "test_predictions.txt")).write_text(
        "".join(map(str, pred.tolist())) + "\n"
    )
    doc = dict(seed=seed, n_test=len(labels), test_misses=len(missed), test_error=len(missed) / len(labels))
    (run / "summary.json").write_text(json.dumps(dict(doc, **summary)))
    return run


@pytest.fixture
def two_configs(synthetic_root, tmp_path):
    """A misses 4 and 6 of the 200 synthetic test images (seeds 0, 1); B misses 2 and 2 (images 0, 1)."""
    labels = load_test_labels(synthetic_root)
    assert len(labels) == 200
    make_run(tmp_path / "A", 0, range(4), labels)
    make_run(tmp_path / "A", 1, range(6), labels)
    make_run(tmp_path / "B", 0, range(2), labels)
    make_run(tmp_path / "B", 1, range(2), labels)
    return tmp_path / "A", tmp_path / "B"


def test_t_interval_mean_std_and_test_se_by_hand():
    m, sd = stats.mean_std([1.0, 2.0, 3.0])
    assert (m, sd) == (2.0, 1.0)
    lo, hi = stats.t_interval([1.0, 2.0, 3.0])
    half = T975[2] * 1.0 / 3**0.5  # t(2) x sd / sqrt(n)
    assert lo == pytest.approx(2 - half, abs=1e-3) and hi == pytest.approx(
        2 + half, abs=1e-3
    )  # table rounding
    assert stats.t_interval([1.5]) is None


def test_mcnemar_exact_by_hand():  # still used by the Fig. 9 report's paired tests of one run each
    assert stats.mcnemar_exact(1, 5) == pytest.approx(
        2 * (1 + 6) / 64, rel=1e-12
    )  # 2 P(X <= 1), X ~ Bin(6, 1/2)
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_bootstrap_of_identical_configs_is_exactly_zero():
    """One run each, the same misses: whatever test images a replicate draws, both score the same."""
    wrong = np.random.default_rng(3).random((1, 500)) < 0.05
    res = stats.paired_bootstrap(wrong, wrong.copy(), reps=2000)
    assert res["diff"] == 0 and res["ci95"] == (0.0, 0.0) and res["p_better"] == 0.5  # every replicate ties
    # several seeds: each config's seeds are resampled on their own, so replicates differ, around 0
    wrong = np.random.default_rng(4).random((4, 500)) < 0.05
    res = stats.paired_bootstrap(wrong, wrong.copy(), reps=2000)
    assert res["diff"] == 0 and res["ci95"][0] < 0 < res["ci95"][1]
    assert (
        abs(res["p_better"] - 0.5) < 0.05
    )  # symmetric in A and B: 0.5 up to ~4 SE (sd 0.5 / sqrt(2000) ~ 0.011)


def test_bootstrap_seed_level_matches_its_exact_distribution():
    """A's two seeds miss all or none of 50 images, B's one seed none: every test resample gives
    diff = the share of the all-wrong seed among A's 2 resampled seeds: 0, 1/2, 1 w.p. 1/4, 1/2, 1/4."""
    a = np.array([[True] * 50, [False] * 50])
    b = np.zeros((1, 50), bool)
    res = stats.paired_bootstrap(a, b, reps=10000, seed=1)
    d = res["replicates"]
    assert set(np.unique(d)) == {0.0, 0.5, 1.0} and res["diff"] == 0.5 and res["ci95"] == (0.0, 1.0)
    se = (0.25 * 0.75 / 10000) ** 0.5  # binomial SE of a share near 1/4 over 10,000 replicates
    assert abs(np.mean(d == 0) - 0.25) < 5 * se and abs(np.mean(d == 1) - 0.25) < 5 * se
    assert abs(res["p_better"] - 0.125) < 5 * se / 2  # ties count half; 5 SE: a false failure ~1 in 10^6


def test_bootstrap_test_level_matches_the_binomial():
    """One seed each; A misses 10 of 100 images that B gets right (5 more both miss): a replicate's
    diff is the share of 100 draws landing on those 10 images, Binomial(100, 0.1) / 100."""
    a = np.zeros((1, 100), bool)
    a[0, :15] = True
    b = np.zeros((1, 100), bool)
    b[0, 10:15] = True
    res = stats.paired_bootstrap(a, b, reps=10000, seed=2)
    d = res["replicates"]
    assert res["diff"] == pytest.approx(0.1, abs=1e-12)
    assert abs(d.mean() - 0.1) < 5 * 0.03 / 100  # 5 SE of a mean of 10,000 draws with sd 0.03
    assert d.var() == pytest.approx(0.1 * 0.9 / 100, rel=0.05)  # a sample variance of 10^4 draws: ~1.4% SE
    lo, hi = binom.ppf([0.025, 0.975], 100, 0.1) / 100
    # the distribution moves in steps of 1/100: Monte Carlo puts a quantile at most one step off
    assert abs(res["ci95"][0] - lo) <= 0.01 + 1e-12 and abs(res["ci95"][1] - hi) <= 0.01 + 1e-12


def test_compare_json_by_hand(two_configs, synthetic_root, capsys):
    """A (2.0%, 3.0%) against B (1.0%, 1.0%) on 200 images, worked by hand in points:
    seed part s_A^2/2 + s_B^2/2 = 0.5/2 + 0 = 0.25. Paired part: mA - mB per image is 0 on images 0-1,
    1 on 2-3, 0.5 on 4-5, 0 elsewhere: mean 0.015, var (2.5 - 200 x 0.015^2) / 199 = 0.0123367, / 200 =
    6.1683e-5, 0.61683 points^2. V = 0.86683, se 0.93104; df = V^2 / (0.25^2 / 1 + 0.61683^2 / 199) = 11.665,
    so the t quantile lies between the table's t(12) and t(11)."""
    a, b = two_configs
    assert (
        main(
            [
                "compare",
                str(a),
                str(b),
                "--baseline",
                str(b),
                "--format",
                "json",
                "--root",
                str(synthetic_root),
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["configs", "comparisons", "warnings"]
    ca, cb = doc["configs"]
    assert set(ca) == {"name", "dir", "n", "seeds", "errors", "mean", "std", "ci95", "ci_reason", "test_se"}
    assert (ca["name"], ca["n"], cb["name"]) == ("A", 2, "B")
    assert ca["errors"] == pytest.approx([2.0, 3.0]) and cb["errors"] == pytest.approx(
        [1.0, 1.0]
    )  # 4/200, 6/200, 2/200
    assert ca["mean"] == pytest.approx(2.5) and ca["std"] == pytest.approx(0.5**0.5)
    half = T975[1] * 0.5**0.5 / 2**0.5  # t(1) x sd / sqrt(2) = 6.35: clipped at 0
    assert ca["ci95"] == pytest.approx([0.0, 2.5 + half], abs=1e-2)  # the table's 3 decimals x 0.5
    assert cb["ci95"] == pytest.approx([1.0, 1.0])  # no spread over seeds
    (m,) = doc["comparisons"]
    assert {"name", "baseline", "diff", "ci95", "p_value", "p_holm", "seeds_needed"} <= set(m)
    assert (m["name"], m["baseline"]) == ("A", "B") and m["diff"] == pytest.approx(1.5)
    assert m["se"] == pytest.approx(0.93104, abs=2e-5) and m["df"] == pytest.approx(
        11.665, abs=1e-3
    )  # hand, 5 figures
    assert (
        1.5 - T975[11] * 0.93104 <= m["ci95"][0] <= 1.5 - T975[12] * 0.93104
    )  # t(11.665) between t(11), t(12)
    assert 1.5 + T975[12] * 0.93104 <= m["ci95"][1] <= 1.5 + T975[11] * 0.93104
    assert m["p_value"] > 0.05 and m["p_holm"] == m["p_value"]  # the interval covers 0; a family of one
    assert "mcnemar_p" not in m and "p_better" not in m


def test_welch_equal_variances_and_seeds_is_the_pooled_t_by_hand():
    """a = (1, 3), b = (4, 6): means 2 and 5, variances 2 and 2; V = 2/2 + 2/2 = 2, Satterthwaite's
    df = 4 / (1 + 1) = 2 (the pooled t's 2n - 2): -3 +- t(2) sqrt(2)."""
    r = stats.welch([1.0, 3.0], [4.0, 6.0])
    assert r["diff"] == -3.0 and r["df"] == pytest.approx(2.0, rel=1e-12) and r["se"] == pytest.approx(2**0.5)
    half = T975[2] * 2**0.5
    assert r["ci95"] == pytest.approx((-3 - half, -3 + half), abs=1e-3 * 2**0.5)  # the table's 3 decimals
    assert r["p_value"] > 0.05  # the interval covers 0
    one = stats.welch([1.0], [4.0, 6.0])
    assert one["ci95"] is None and one["p_value"] is None and one["reason"] == "1 seed: no interval"


@pytest.mark.parametrize(
    "diff, var, test_var, want",
    [
        (
            1.0,
            1.0,
            0.0,
            9,
        ),  # t(2n-2) sqrt(2/n) < 1: n = 8 gives 2.145 x 0.5 = 1.07, n = 9 gives 2.120 x 0.471 = 0.9993
        (1.0, 0.0, 0.0, 2),  # no seed variance and no test noise: the difference is exact from 2 seeds on
        # with a test part 0.1: df = (2 + 0.1 n)^2 (n - 1) / 2; n = 13: df 65, t 1.997 x sqrt(2/13 + 0.1) =
        # 1.006;
        # n = 14: df 75, t 1.992 x sqrt(2/14 + 0.1) = 0.982 (printed t tables, interpolated)
        (1.0, 1.0, 0.1, 14),
    ],
)
def test_seeds_needed_by_hand(diff, var, test_var, want):
    res = {"diff": diff, "n_a": 5, "n_b": 5, "var_a": var, "var_b": var, "test_var": test_var}
    assert stats.seeds_needed(res) == (want, None)


def test_seeds_needed_says_why_not():
    res = {"diff": 1.0, "n_a": 5, "n_b": 5, "var_a": 1.0, "var_b": 1.0, "test_var": 0.3}
    assert (
        stats.seeds_needed(dict(res, test_var=1.0))[0] is None
    )  # 1.96 sqrt(1) > 1: the test set alone is wider
    assert "test set" in stats.seeds_needed(dict(res, test_var=1.0))[1]
    assert stats.seeds_needed(dict(res, diff=0.0)) == (None, "no difference to resolve")
    assert stats.seeds_needed(dict(res, n_a=1))[0] is None
    assert stats.seeds_needed(dict(res, diff=1e-3, test_var=0.0))[1] == f"more than {stats.MAX_SEEDS_NEEDED}"


def test_holm_by_hand():
    """Sorted 0.01, 0.03, 0.04 times 3, 2, 1: 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06 (Holm 1979)."""
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], abs=1e-15)
    # a config without a p-value (seeds disagree) is left out of the family: 0.5 x 2 = 1.0, 0.9 x 1 -> 1.0
    assert stats.holm([0.5, None, 0.9]) == [1.0, None, 1.0] and stats.holm([0.2, 0.9])[0] == pytest.approx(
        0.4
    )


def test_holm_across_the_configs_compared_with_one_baseline(two_configs, synthetic_root, tmp_path):
    a, b = two_configs
    labels = load_test_labels(synthetic_root)
    make_run(tmp_path / "C", 0, range(8), labels)
    make_run(tmp_path / "C", 1, range(9), labels)
    doc = json.loads(compare([b, a, tmp_path / "C"], fmt="json", root=synthetic_root))
    ps = [m["p_value"] for m in doc["comparisons"]]
    lo, hi = sorted(ps)
    want = {lo: min(1.0, 2 * lo), hi: min(1.0, max(2 * lo, hi))}  # Holm for two: 2 p_(1), max(2 p_(1), p_(2))
    assert [m["p_holm"] for m in doc["comparisons"]] == pytest.approx([want[p] for p in ps], rel=1e-12)


def test_seeds_that_disagree_get_no_interval(synthetic_root, tmp_path, capsys):
    """A's seeds 0-2 miss all 200 images (diverged) and seed 3 none (trained)."""
    labels = load_test_labels(synthetic_root)
    for folder, seed, missed in (
        ("A", 0, range(200)),
        ("A", 1, range(200)),
        ("A", 2, range(200)),
        ("A", 3, ()),
        ("B", 0, ()),
        ("B", 1, range(1)),
    ):
        make_run(tmp_path / folder, seed, missed, labels)
    doc = json.loads(compare([tmp_path / "B", tmp_path / "A"], fmt="json", root=synthetic_root))
    (m,) = doc["comparisons"]
    assert (
        doc["configs"][1]["ci95"] is None and doc["configs"][1]["ci_reason"] == "seeds disagree: no interval"
    )
    assert m["ci95"] is None and m["p_value"] is None and "seeds disagree" in m["reason"]
    md = compare([tmp_path / "B", tmp_path / "A"], root=synthetic_root)
    assert (
        "seeds disagree: no interval" in md and "| A | 4 | 0: 100.00, 1: 100.00, 2: 100.00, 3: 0.00 |" in md
    )


def _write_provenance(run, commit, **changes):
    cfg = load_config("lenet5_1998", [f"{k}={v}" for k, v in changes.items()])
    (run / "config.yaml").write_text(dump_config(cfg))
    (run / "env.json").write_text(json.dumps({"paper_lenet": "0.1.0", "git_commit": commit}))


def test_warnings_name_commits_and_extra_settings(synthetic_root, tmp_path, capsys):
    labels = load_test_labels(synthetic_root)
    for folder, seed, commit, changes in (
        ("base", 0, "a" * 40, {}),
        ("base", 1, "a" * 40, {}),
        ("one", 0, "a" * 40, {"model.pooling": "max"}),
        ("one", 1, "a" * 40, {"model.pooling": "max"}),
        ("two", 0, "b" * 40, {"model.pooling": "max", "train.epochs": 2}),
        ("two", 1, "a" * 40, {"model.pooling": "max", "train.epochs": 3}),
    ):
        _write_provenance(make_run(tmp_path / folder, seed, range(seed + 1), labels), commit, **changes)
    dirs = [str(tmp_path / d) for d in ("base", "one", "two")]
    assert main(["compare", *dirs, "--format", "json", "--root", str(synthetic_root)]) == 0
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert json.loads(out.out)["warnings"] == lines
    assert len(lines) == 3, lines
    assert "2 package versions or commits" in lines[0] and "0.1.0@bbbbbbb: two (seeds 0)" in lines[0]
    assert lines[1] == "warning: two: its seeds were trained with different settings: train.epochs"
    assert lines[2] == "warning: two differs from base in 2 settings, not one: model.pooling, train.epochs"
    assert main(["compare", dirs[0], dirs[1], "--root", str(synthetic_root)]) == 0  # one commit, one setting
    assert capsys.readouterr().err == ""


def test_markdown_latex_csv_and_plot(two_configs, synthetic_root, tmp_path):
    pytest.importorskip("matplotlib")
    a, b = two_configs
    md = compare([a, b], root=synthetic_root, plot=tmp_path / "plots" / "cmp.png")
    assert "| A | 2 | 0: 2.00, 1: 3.00 | 2.50 ± 0.71 |" in md and "| B | A | -1.50 |" in md
    assert (tmp_path / "plots" / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tex = compare([a, b], fmt="latex", root=synthetic_root)
    lines = tex.splitlines()
    assert lines[0].startswith(r"\begin{tabular}") and lines[-1] == r"\end{tabular}"
    assert [line for line in lines if line in (r"\toprule", r"\midrule", r"\bottomrule")] == [
        r"\toprule",
        r"\midrule",
        r"\bottomrule",
    ]
    assert all(line.count("&") == 7 for line in lines if line.endswith(r"\\"))  # 8 columns in every row
    rows = list(csv.DictReader(io.StringIO(compare([a, b], fmt="csv", root=synthetic_root))))
    assert [r["name"] for r in rows] == ["A", "B"] and rows[1]["baseline"] == "A"
    assert float(rows[1]["diff"]) == pytest.approx(-1.5) and rows[0]["diff"] == ""


def _bad(argv, capsys, what):
    assert main(["compare", *argv]) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("paper-lenet: error: ") and err.count("\n") == 1 and what in err, err


def test_bad_input_is_one_line_exit_2_and_writes_nothing(two_configs, synthetic_root, tmp_path, capsys):
    a, b = two_configs
    labels = load_test_labels(synthetic_root)
    plot = tmp_path / "out.png"
    root = ["--root", str(synthetic_root), "--plot", str(plot)]
    (tmp_path / "empty").mkdir()
    _bad([str(a), str(tmp_path / "empty"), *root], capsys, "no runs")
    _bad([str(a), str(tmp_path / "nowhere"), *root], capsys, f"no such directory: {tmp_path / 'nowhere'}")
    make_run(tmp_path / "short", 0, [1], labels[:100])  # scored on a 100-image test set
    _bad([str(a), str(tmp_path / "short"), *root], capsys, "different test sets")
    make_run(tmp_path / "n_test", 0, [1], labels, n_test=10000)  # its summary says another test set
    _bad([str(a), str(tmp_path / "n_test"), *root], capsys, "different test sets")
    make_run(tmp_path / "val", 0, [1], labels, pred_name="val_predictions.txt")
    _bad([str(a), str(tmp_path / "val"), *root], capsys, "val_predictions.txt")
    (make_run(tmp_path / "nopred", 0, [1], labels) / "test_predictions.txt").unlink()
    _bad([str(a), str(tmp_path / "nopred"), *root], capsys, "no test_predictions.txt")
    make_run(tmp_path / "other", 0, [1], labels, test_misses=5)  # its predictions miss 1
    _bad([str(a), str(tmp_path / "other"), *root], capsys, "other labels")
    _bad([str(a), str(b), "--format", "xml", *root], capsys, "--format xml")
    (tmp_path / "nolabels").mkdir()
    _bad(
        [str(a), str(b), "--root", str(tmp_path / "nolabels"), "--plot", str(plot)],
        capsys,
        "test labels not found",
    )
    assert not plot.exists()


REAL = resolve_root(None)
needs_mnist = pytest.mark.skipif(
    find_file(REAL, "t10k-labels-idx1-ubyte") is None,
    reason=f"MNIST test labels not in {REAL}; run `paper-lenet download`",
)
RUNS = __import__("pathlib").Path(__file__).resolve().parents[1] / "results" / "runs"


def _json(dirs, **kw):
    return json.loads(compare(dirs, fmt="json", **kw))


@needs_mnist
def test_a_config_against_itself_on_disjoint_seeds_covers_zero(tmp_path):
    for name, seeds in (("first", (0, 1)), ("rest", (2, 3, 4))):
        (tmp_path / name).mkdir()
        for s in seeds:
            (tmp_path / name / f"seed{s}").symlink_to(RUNS / "lenet5_1998" / f"seed{s}")
    (m,) = _json([tmp_path / "first", tmp_path / "rest"])["comparisons"]
    assert m["ci95"][0] < 0 < m["ci95"][1] and m["p_value"] > 0.05


@needs_mnist
def test_maxpool_is_detected_worse_than_the_paper_model():
    doc = _json([RUNS / "lenet5_1998", RUNS / "ablation-paper-maxpool"])
    (m,) = doc["comparisons"]
    errors = {c["name"]: c["mean"] for c in doc["configs"]}
    assert m["diff"] == pytest.approx(errors["ablation-paper-maxpool"] - errors["lenet5_1998"], abs=1e-9)
    # the interval excludes 0, and the two-sided p of the same t is then below 0.05
    assert m["ci95"][0] > 0 and m["p_value"] < 0.05


def test_test_se_by_hand_and_no_plot_needs_no_matplotlib(two_configs, synthetic_root, monkeypatch):
    """The test SE column is the sd over the 200 images of each image's seed-mean miss, / sqrt(200), in %:
    A's seed-mean misses are 1 (x4), 0.5 (x2), 0: var (4.5 - 200 x 0.025^2) / 199, SE 1.0485 points
    (sqrt(p(1-p)/N) would say 1.104: A's seeds share most misses, not all); B's 1 (x2): SE 0.70534.
    Without --plot, compare never asks for matplotlib (here: asking fails)."""
    import paper_lenet.study.compare as C

    def no_matplotlib():
        raise AssertionError("matplotlib asked for without --plot")

    monkeypatch.setattr(C, "need_matplotlib", no_matplotlib)
    a, b = two_configs
    rows = list(csv.DictReader(io.StringIO(compare([a, b], fmt="csv", root=synthetic_root))))
    assert [float(r["test_se"]) for r in rows] == pytest.approx(
        [1.0485, 0.70534], abs=1e-4
    )  # hand, 5 figures


def test_a_baseline_outside_the_dirs_comes_first_and_same_names_get_their_paths(
    two_configs, synthetic_root, tmp_path
):
    a, b = two_configs
    doc = json.loads(compare([a], baseline=b, fmt="json", root=synthetic_root))
    assert [c["name"] for c in doc["configs"]] == ["B", "A"] and doc["comparisons"][0]["baseline"] == "B"
    labels = load_test_labels(synthetic_root)
    twins = [make_run(tmp_path / d / "lenet5", 0, range(k), labels).parent for d, k in (("x", 1), ("y", 2))]
    doc = json.loads(compare(twins, fmt="json", root=synthetic_root))
    assert [c["name"] for c in doc["configs"]] == [str(t) for t in twins]  # two "lenet5": told apart by path


def test_the_old_bootstrap_interval_in_percent_by_hand(synthetic_root, tmp_path):
    """A's seeds 0-2 miss all 200 images and seed 3 none; B misses none. Whatever images a replicate draws,
    its difference is the share of A's 4 resampled seeds that miss everything: k/4, k ~ Binomial(4, 3/4),
    P(k <= 1) = 13/256 = 0.05 and P(k = 0) = 1/256, so the 95% interval is exactly [25, 100] points (the
    2.5% quantile sits among ~500 replicates at 25, the 97.5% one among ~3,200 at 100)."""
    labels = load_test_labels(synthetic_root)
    for folder, seed, missed in (
        ("A", 0, range(200)),
        ("A", 1, range(200)),
        ("A", 2, range(200)),
        ("A", 3, ()),
        ("B", 0, ()),
    ):
        make_run(tmp_path / folder, seed, missed, labels)
    (m,) = json.loads(compare([tmp_path / "B", tmp_path / "A"], fmt="json", root=synthetic_root))[
        "comparisons"
    ]
    assert m["diff"] == pytest.approx(75.0, abs=1e-9) and m["bootstrap_ci95"] == [25.0, 100.0]


@needs_mnist
@pytest.mark.parametrize("doc", ["README.md", "docs/own-ablation.md"])
def test_the_documented_example_is_what_compare_prints_on_the_committed_runs(doc):
    """Every row of the own-ablation tables in the README and docs/own-ablation.md comes from the command
    written beside them, on the committed files."""
    root = RUNS.parents[1]
    md = compare([RUNS / "lenet5_1998", root / "results" / "own-ablation" / "ablation-paper-maxpool"])
    rows = [line for line in md.splitlines() if line.startswith("|")]
    text = (root / doc).read_text()
    assert all(line in text for line in rows), [line for line in rows if line not in text]
