"""`paper-lenet robustness`: the rejection scores and their AUROC / FPR at 95% TPR by hand, the Welch
difference against scipy, and the command end to end on the synthetic MNIST root (untrained runs: the
figures are checked against a direct evaluation, not against their size)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats as sstats

from paper_lenet.config import dump_config, load_config
from paper_lenet.core.model import build_model
from paper_lenet.data.idx import load_split
from paper_lenet.data.mnist import preprocess
from paper_lenet.data.mnist_c import corrupt
from paper_lenet.errors import UserError
from paper_lenet.study.robustness import auroc, fpr_at_tpr, head_scores, robustness
from paper_lenet.study.robustness_stats import ONE_SEED
from paper_lenet.tools import stats

ROOT = Path(__file__).resolve().parents[1]
FEW = ["shot_noise", "rotate", "stripe"]


def test_auroc_by_hand_and_against_scikit_learn():
    assert auroc([3, 2, 1], [0, 2]) == pytest.approx(4.5 / 6)  # 6 pairs: 4 won, 1 tied (half), 1 lost
    assert auroc([1, 1], [1]) == 0.5 and auroc([2], [1]) == 1.0 and auroc([0], [1]) == 0.0
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 20, 300), rng.integers(0, 15, 200)  # many ties
    want = metrics.roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[pos, neg])
    assert auroc(pos, neg) == pytest.approx(want, abs=1e-12)


def test_fpr_at_95_tpr_by_hand():
    pos = np.arange(1, 101)  # the threshold keeping 95 of 100 positives is 6
    assert fpr_at_tpr(pos, [5, 6, 7, 0]) == 0.5  # 6 and 7 accepted
    assert fpr_at_tpr(pos, [5.9]) == 0.0


def test_head_scores_higher_means_digit():
    d = torch.tensor([[1.0, 3.0, 2.0], [4.0, 0.5, 5.0]])
    s = head_scores("rbf", d)
    assert np.allclose(s["min distance"], [-1.0, -0.5]) and np.allclose(s["margin"], [1.0, 3.5])
    logits = torch.tensor([[0.0, np.log(3.0)]])
    s = head_scores("linear", logits)
    assert np.allclose(s["max softmax"], [0.75]) and np.allclose(s["margin"], [np.log(3.0)])
    s = head_scores("squashed", torch.tensor([[0.2, -1.0, 1.5]]))
    assert np.allclose(s["max output"], [1.5]) and np.allclose(s["margin"], [1.3])


def test_welch_matches_scipy_and_one_seed_says_so():
    a, b = [1.0, 1.4, 0.9, 1.2, 1.1], [0.8, 0.85, 0.95]
    w = stats.welch(a, b)
    ref = sstats.ttest_ind(a, b, equal_var=False)
    assert w["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert w["diff"] == pytest.approx(np.mean(a) - np.mean(b))
    lo, hi = w["ci95"]
    assert (lo + hi) / 2 == pytest.approx(w["diff"]) and (hi - lo) / 2 == pytest.approx(
        sstats.t.ppf(0.975, w["df"]) * w["se"]
    )
    assert stats.welch(a, b, test_var=0.01)["se"] == pytest.approx(np.sqrt(w["se"] ** 2 + 0.01))
    one = stats.welch([1.0], b)
    assert one["ci95"] is None and one["reason"] == ONE_SEED


def test_paired_test_variance_by_hand():
    wa = np.array([[1, 0, 0, 1], [1, 0, 1, 1]], bool)
    wb = np.array([[0, 0, 0, 1]], bool)
    d = np.array([1.0, 0.0, 0.5, 0.0])  # per image: A's seeds' mean miss - B's
    assert stats.difference(wa, wb)["test_var"] == pytest.approx(d.var(ddof=1) / 4)


def make_runs(folder: Path, seeds, overrides=()):
    for seed in seeds:
        cfg = load_config("lenet5_1998", [f"seed={seed}", *overrides])
        run = folder / f"seed{seed}"
        run.mkdir(parents=True)
        torch.manual_seed(seed)
        model = build_model(cfg.model)
        (run / "config.yaml").write_text(dump_config(cfg))
        torch.save(model.state_dict(), run / "model.pt")
        (run / "summary.json").write_text(json.dumps({"seed": seed, "name": cfg.name}))
    return folder


@pytest.fixture
def two_configs(tmp_path, synthetic_root, monkeypatch):
    monkeypatch.setenv("PAPER_LENET_CACHE", str(tmp_path / "cache"))
    rbf = make_runs(tmp_path / "paper", [0, 1], [f"data.root={synthetic_root}"])
    lin = make_runs(
        tmp_path / "linear",
        [3],
        ["model.head=linear", "train.loss=cross_entropy", f"data.root={synthetic_root}"],
    )
    return rbf, lin


def test_errors_match_a_direct_evaluation(two_configs, synthetic_root):
    rbf, lin = two_configs
    res = json.loads(robustness([rbf, lin], fmt="json", root=synthetic_root, corruptions=FEW, n_rubbish=20))
    x, y = load_split(synthetic_root, "test")
    for c, folder in zip(res["configs"], (rbf, lin), strict=False):
        cfg = load_config(
            "lenet5_1998",
            [f"data.root={synthetic_root}"]
            + (["model.head=linear", "train.loss=cross_entropy"] if folder == lin else []),
        )
        errs = []
        for seed in c["seeds"]:
            model = build_model(cfg.model)
            model.load_state_dict(torch.load(folder / f"seed{seed}" / "model.pt"))
            pred = model.scores(model(preprocess(torch.from_numpy(corrupt(x, "rotate")), cfg.data))).argmax(1)
            errs.append(100 * float((pred.numpy() != y).mean()))
        assert c["corruption"]["rotate"]["values"] == pytest.approx(errs)
    paper, linear = res["configs"]
    assert paper["n"] == 2 and paper["clean"]["ci95"] is not None
    assert (
        linear["note"].startswith(ONE_SEED) and linear["clean"]["ci95"] is None
    )  # (untrained: diverged too)
    assert paper["mce"]["mean"] == pytest.approx(100.0)  # the baseline against itself
    assert set(paper["rejection"]["letters"]) == {"min distance", "margin"}
    assert set(linear["rejection"]["letters"]) == {"max softmax", "margin"}
    (v,) = res["comparisons"]
    assert v["clean"]["diff"] == pytest.approx(linear["clean"]["mean"] - paper["clean"]["mean"])
    assert v["clean"]["ci95"] is None and v["clean"]["reason"] == ONE_SEED
    for g in res["rubbish"]:
        for s in ("min distance", "margin"):
            assert 0 <= paper["rejection"][g][s]["auroc"]["mean"] <= 1


def test_formats_and_plot(two_configs, synthetic_root, tmp_path):
    rbf, lin = two_configs
    md = robustness([lin], baseline=rbf, fmt="md", root=synthetic_root, corruptions=FEW, n_rubbish=20)
    assert "mCE vs paper" in md and "| shot noise |" in md and "linear: 1 seed: no interval" in md
    csv = robustness([rbf, lin], fmt="csv", root=synthetic_root, corruptions=FEW, n_rubbish=20)
    assert csv.splitlines()[0].startswith("config,n,figure,set,score,mean")
    tex = robustness([rbf, lin], fmt="latex", root=synthetic_root, corruptions=FEW, n_rubbish=20)
    assert "\\begin{tabular}" in tex and "shot noise" in tex
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.png"
    robustness([rbf, lin], fmt="md", plot=out, root=synthetic_root, corruptions=FEW, n_rubbish=20)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_a_one_line_error(two_configs, synthetic_root, tmp_path):
    rbf, _ = two_configs
    with pytest.raises(UserError, match="no runs"):
        robustness([tmp_path / "nothing"], root=synthetic_root)
    (rbf / "seed1" / "model.pt").unlink()
    with pytest.raises(UserError, match=r"seed1: no model.pt"):
        robustness([rbf], root=synthetic_root)
    with pytest.raises(UserError, match="unknown corruption snow"):
        robustness([rbf], root=synthetic_root, corruptions=["snow"])
    with pytest.raises(UserError, match="--format html"):
        robustness([rbf], fmt="html", root=synthetic_root)


def test_the_command_from_another_folder(two_configs, synthetic_root, tmp_path):
    """The installed command, run by path from a folder outside the checkout (a fresh process)."""
    rbf, lin = two_configs
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PAPER_LENET_CACHE": str(tmp_path / "cache")}
    cmd = [
        sys.executable,
        "-m",
        "paper_lenet",
        "robustness",
        str(rbf),
        str(lin),
        "--root",
        str(synthetic_root),
        "--rubbish-size",
        "20",
        "--format",
        "json",
        "--corruptions",
        "shot_noise,stripe",
        "--rubbish",
        "noise,letters",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["corruptions"] == ["shot_noise", "stripe"] and res["rubbish"] == ["noise", "letters"]
    r = subprocess.run(cmd[:4] + [str(tmp_path / "none")], capture_output=True, text=True, cwd=cwd, env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no runs" in r.stderr


def test_scores_are_kept_per_run_and_rescored_when_the_weights_change(
    two_configs, synthetic_root, monkeypatch
):
    import paper_lenet.study.robustness as rob

    rbf, lin = two_configs
    kw = dict(fmt="json", root=synthetic_root, corruptions=FEW, n_rubbish=20)
    first = json.loads(robustness([rbf, lin], **kw))
    calls = []
    real = rob.score_run
    monkeypatch.setattr(rob, "score_run", lambda run, sets: calls.append(run) or real(run, sets))
    assert json.loads(robustness([rbf, lin], **kw)) == first and calls == []  # all three runs from the cache
    state = torch.load(lin / "seed3" / "model.pt")
    state["F7.bias"] = state["F7.bias"] + 1.0
    torch.save(state, lin / "seed3" / "model.pt")
    robustness([rbf, lin], **kw)
    assert [p.name for p in calls] == ["seed3"]  # new weights: scored again, the others kept


def test_kept_scores_remake_the_table_without_the_weights(two_configs, synthetic_root):
    rbf, lin = two_configs
    kw = dict(fmt="json", root=synthetic_root, corruptions=FEW, n_rubbish=20)
    first = json.loads(robustness([rbf, lin], keep=True, **kw))
    for run in [*rbf.glob("seed*"), *lin.glob("seed*")]:
        assert (run / "robustness.npz").is_file()
        (run / "model.pt").unlink()  # the weights gone: the kept scores alone must give the same table
    again = json.loads(robustness([rbf, lin], **kw))
    for key in ("configs", "comparisons"):
        assert json.dumps(again[key]).replace(str(rbf), "").replace(str(lin), "") == json.dumps(
            first[key]
        ).replace(str(rbf), "").replace(str(lin), "")
    # rubbish sets of another size are other test sets: the kept scores do not apply, and it says so
    with pytest.raises(UserError, match=r"robustness\.npz: scored on other test sets \(noise"):
        robustness([rbf, lin], **{**kw, "n_rubbish": 21})


def test_cells_never_claim_an_impossible_value():
    from paper_lenet.study.robustness_stats import cell

    # two seeds far apart (modern's brightness error: 43% mean with seeds near 1% and 85%) give a
    # t-interval (df 1, t = 12.7) reaching below 0% and above 100%: an error cannot, so it is clipped
    c = cell([1.0, 85.0])
    assert c["ci95"] == [0.0, 100.0] and c["mean"] == pytest.approx(43.0)
    assert cell([0.2, 0.9], hi=1.0)["ci95"] == [0.0, 1.0]  # an AUROC or a false-positive rate
    loose = cell([40.0, 300.0], hi=float("inf"))  # mCE, a ratio in %: no upper bound
    assert loose["ci95"][0] == 0.0 and loose["ci95"][1] > 300
    inner = cell([1.0, 1.2, 1.1])  # well inside: the plain t-interval, untouched
    lo, hi = stats.t_interval([1.0, 1.2, 1.1])
    assert inner["ci95"] == [lo, hi]


def test_a_config_whose_seeds_diverged_says_so():
    from paper_lenet.study.robustness_stats import summarize

    n = 1000
    trained = {
        "seed": 0,
        "head": "rbf",
        "clean": np.arange(n) < 10,
        "corrupted": {"rotate": np.arange(n) < 90},
        "rejection": {"noise": {"min distance": {"auroc": 0.98, "fpr95": 0.05}}},
    }
    # one class for every image: 90% of a balanced test set wrong (a net that never learned)
    constant = dict(
        trained, seed=1, clean=np.arange(n) % 10 != 0, corrupted={"rotate": np.arange(n) % 10 != 0}
    )
    base = {"name": "b", "dir": "b", "runs": [trained]}
    row = summarize({"name": "x", "dir": "x", "runs": [trained, constant]}, base, ["rotate"], ["noise"])
    assert row["note"].startswith("1 of 2 seeds diverged (clean error >= 50%)")
    assert summarize(base, base, ["rotate"], ["noise"])["note"] == ONE_SEED  # trained: only the seed count
