"""paper-lenet compare and its statistics: hand-computed answers on made-up runs, the bootstrap's
distribution where it is known exactly, the one-line errors, and the committed real runs."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from scipy.stats import binom

from paper_lenet import stats
from paper_lenet.cli import main
from paper_lenet.compare import compare, load_test_labels
from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import find_file

T975 = {1: 12.706, 2: 4.303}  # Student t, two-sided 95%, by degrees of freedom (printed tables, 3 decimals)


def make_run(folder, seed, missed, labels, **summary):
    """A finished run whose predictions miss exactly the test images `missed`."""
    run = folder / f"seed{seed}"
    run.mkdir(parents=True)
    pred = labels.copy()
    pred[list(missed)] = (pred[list(missed)] + 1) % 10
    (run / summary.pop("pred_name", "test_predictions.txt")).write_text("".join(map(str, pred.tolist())) + "\n")
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
    half = T975[2] * 1.0 / 3 ** 0.5  # t(2) x sd / sqrt(n)
    assert lo == pytest.approx(2 - half, abs=1e-3) and hi == pytest.approx(2 + half, abs=1e-3)  # table rounding
    assert stats.t_interval([1.5]) is None
    assert stats.test_se(0.01, 10000) == pytest.approx((0.01 * 0.99 / 10000) ** 0.5, rel=1e-12)  # float rounding


def test_mcnemar_exact_by_hand():
    assert stats.mcnemar_exact(1, 5) == pytest.approx(2 * (1 + 6) / 64, rel=1e-12)  # 2 P(X <= 1), X ~ Bin(6, 1/2)
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
    assert abs(res["p_better"] - 0.5) < 0.05  # symmetric in A and B: 0.5 up to ~4 SE (sd 0.5 / sqrt(2000) ~ 0.011)


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
    a, b = two_configs
    assert main(["compare", str(a), str(b), "--baseline", str(b), "--format", "json",
                 "--root", str(synthetic_root)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["configs", "comparisons"]
    ca, cb = doc["configs"]
    assert set(ca) == {"name", "dir", "n", "errors", "mean", "std", "ci95"}
    assert (ca["name"], ca["n"], cb["name"]) == ("A", 2, "B")
    assert ca["errors"] == pytest.approx([2.0, 3.0]) and cb["errors"] == pytest.approx([1.0, 1.0])  # 4/200, 6/200, 2/200
    assert ca["mean"] == pytest.approx(2.5) and ca["std"] == pytest.approx(0.5 ** 0.5)
    half = T975[1] * 0.5 ** 0.5 / 2 ** 0.5  # t(1) x sd / sqrt(2)
    assert ca["ci95"] == pytest.approx([2.5 - half, 2.5 + half], abs=1e-2)  # the table's 3 decimals x 0.5
    assert cb["ci95"] == pytest.approx([1.0, 1.0])  # no spread over seeds
    (m,) = doc["comparisons"]
    assert set(m) == {"name", "baseline", "diff", "ci95", "p_better", "mcnemar_p"}
    assert (m["name"], m["baseline"]) == ("A", "B") and m["diff"] == pytest.approx(1.5)
    # per seed, A misses what B misses and more: b = 2 then 4 discordant, c = 0: p = 2 / 2^b
    assert m["mcnemar_p"] == pytest.approx({"0": 0.5, "1": 0.125})
    # every replicate has A's error >= B's; a tie needs all 200 draws to miss images 2 and 3
    # (P ~ (198/200)^200 = 0.13), so P(A better) = half the ties <= 0.07
    assert m["ci95"][0] >= 0 and m["p_better"] < 0.1


def test_markdown_latex_csv_and_plot(two_configs, synthetic_root, tmp_path):
    pytest.importorskip("matplotlib")
    a, b = two_configs
    md = compare([a, b], root=synthetic_root, plot=tmp_path / "plots" / "cmp.png")
    assert "| A | 2 | 0: 2.00, 1: 3.00 | 2.50 ± 0.71 |" in md and "| B | A | -1.50 |" in md
    assert (tmp_path / "plots" / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tex = compare([a, b], fmt="latex", root=synthetic_root)
    lines = tex.splitlines()
    assert lines[0].startswith(r"\begin{tabular}") and lines[-1] == r"\end{tabular}"
    assert [l for l in lines if l in (r"\toprule", r"\midrule", r"\bottomrule")] == [r"\toprule", r"\midrule",
                                                                                    r"\bottomrule"]
    assert all(l.count("&") == 6 for l in lines if l.endswith(r"\\"))  # 7 columns in every row
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
    _bad([str(a), str(b), "--root", str(tmp_path / "nolabels"), "--plot", str(plot)], capsys, "test labels not found")
    assert not plot.exists()


REAL = resolve_root(None)
needs_mnist = pytest.mark.skipif(find_file(REAL, "t10k-labels-idx1-ubyte") is None,
                                 reason=f"MNIST test labels not in {REAL}; run `paper-lenet download`")
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
    assert m["ci95"][0] < 0 < m["ci95"][1] and m["mcnemar_p"] == {}  # no seed in common


@needs_mnist
def test_maxpool_is_detected_worse_than_the_paper_model():
    doc = _json([RUNS / "lenet5_1998", RUNS / "ablation-paper-maxpool"])
    (m,) = doc["comparisons"]
    errors = {c["name"]: c["mean"] for c in doc["configs"]}
    assert m["diff"] == pytest.approx(errors["ablation-paper-maxpool"] - errors["lenet5_1998"], abs=1e-9)
    # the interval excludes 0; its lower end is the 2.5% quantile, so fewer than 2.5% of replicates are below 0
    assert m["ci95"][0] > 0 and m["p_better"] < 0.025


def test_test_se_by_hand_and_no_plot_needs_no_matplotlib(two_configs, synthetic_root, monkeypatch):
    """The test SE column is sqrt(p (1 - p) / N) of the mean error, in %: A 2.5% and B 1% of 200 images.
    Without --plot, compare never asks for matplotlib (here: asking fails)."""
    import paper_lenet.compare as C

    def no_matplotlib():
        raise AssertionError("matplotlib asked for without --plot")
    monkeypatch.setattr(C, "need_matplotlib", no_matplotlib)
    a, b = two_configs
    rows = list(csv.DictReader(io.StringIO(compare([a, b], fmt="csv", root=synthetic_root))))
    want = [100 * (p * (1 - p) / 200) ** 0.5 for p in (0.025, 0.01)]  # 1.104 and 0.704 points
    assert [float(r["test_se"]) for r in rows] == pytest.approx(want, rel=1e-9)  # float rounding only


def test_mcnemar_only_for_the_seeds_both_configs_have(synthetic_root, tmp_path):
    """A has seeds 0, 1 and B seeds 1, 2: one paired test, seed 1 (A misses images 0-3, B none: b = 4, c = 0,
    p = 2 / 2^4)."""
    labels = load_test_labels(synthetic_root)
    for folder, seed, missed in (("A", 0, range(2)), ("A", 1, range(4)), ("B", 1, ()), ("B", 2, range(1))):
        make_run(tmp_path / folder, seed, missed, labels)
    (m,) = json.loads(compare([tmp_path / "B", tmp_path / "A"], fmt="json", root=synthetic_root))["comparisons"]
    assert m["mcnemar_p"] == pytest.approx({"1": 0.125})


def test_a_baseline_outside_the_dirs_comes_first_and_same_names_get_their_paths(two_configs, synthetic_root, tmp_path):
    a, b = two_configs
    doc = json.loads(compare([a], baseline=b, fmt="json", root=synthetic_root))
    assert [c["name"] for c in doc["configs"]] == ["B", "A"] and doc["comparisons"][0]["baseline"] == "B"
    labels = load_test_labels(synthetic_root)
    twins = [make_run(tmp_path / d / "lenet5", 0, range(k), labels).parent for d, k in (("x", 1), ("y", 2))]
    doc = json.loads(compare(twins, fmt="json", root=synthetic_root))
    assert [c["name"] for c in doc["configs"]] == [str(t) for t in twins]  # two "lenet5": told apart by path


def test_bootstrap_interval_in_percent_by_hand(synthetic_root, tmp_path):
    """A's seeds 0-2 miss all 200 images and seed 3 none; B misses none. Whatever images a replicate draws,
    its difference is the share of A's 4 resampled seeds that miss everything: k/4, k ~ Binomial(4, 3/4),
    P(k <= 1) = 13/256 = 0.05 and P(k = 0) = 1/256, so the 95% interval is exactly [25, 100] points (the
    2.5% quantile sits among ~500 replicates at 25, the 97.5% one among ~3,200 at 100)."""
    labels = load_test_labels(synthetic_root)
    for folder, seed, missed in (("A", 0, range(200)), ("A", 1, range(200)), ("A", 2, range(200)), ("A", 3, ()),
                                 ("B", 0, ())):
        make_run(tmp_path / folder, seed, missed, labels)
    (m,) = json.loads(compare([tmp_path / "B", tmp_path / "A"], fmt="json", root=synthetic_root))["comparisons"]
    assert m["diff"] == pytest.approx(75.0, abs=1e-9) and m["ci95"] == [25.0, 100.0]
    # P(A better) = half the ties, P(k = 0) / 2 = 0.002; its Monte Carlo SE over 10,000 replicates is ~0.0003
    assert m["p_better"] < 0.01
