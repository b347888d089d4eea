"""`paper-lenet robustness DIR...`: each config's error under MNIST-C's 15 corruptions and how well each
score its head has separates the test digits from rubbish (Sec. II-C's case for the RBF head).

Each DIR holds seed*/ run directories with model.pt (as `paper-lenet sweep` writes them) or, where the
weights are not kept, the robustness.npz that `--keep-scores` wrote from them. Per config:
- the error (%) on the clean test set and on every corruption (data/mnist_c.py, seed 0: one fixed copy),
  their mean, and the corruption error relative to the baseline config, mCE (Hendrycks & Dietterich 2019,
  with MNIST-C's one severity: mean over corruptions of error(config) / error(baseline));
- for every rubbish set (data/rubbish.py, 10,000 images, made from the training digits), the AUROC and the
  false-positive rate at 95% true-positive rate of telling the test digits (positives) from rubbish, for
  each score of the head, higher meaning "a digit": the RBF head's smallest distance (negated) and top-two
  margin; the softmax head's maximum probability (Hendrycks & Gimpel 2017) and top-two margin; the
  squashed head's largest output and top-two margin.
Intervals are 95% Student-t over seeds; a config against the baseline is a Welch difference over seeds
(for errors with the paired test-image variance added). A config with one seed gets no interval, and says so.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import torch

from ..core.heads import HEADS, head
from ..core.model import in_batches
from ..data import testsets
from ..data.download import resolve_root
from ..data.idx import load_split
from ..data.mnist import preprocess
from ..data.mnist_c import CORRUPTIONS
from ..data.rubbish import RUBBISH, SIZE
from ..errors import UserError
from ..files import atomic_write, read_json
from ..tools.pictures import need_matplotlib, robustness_plot
from ..training.evaluate import load_trained
from . import robustness_stats as rs
from .robustness_format import render

FORMATS = ("md", "latex", "csv", "json")
TPR = 0.95
KEPT = "robustness.npz"  # a run's scores, kept beside it (--keep-scores) where its weights are not
SCORES = {name: (h.rejection, "margin") for name, h in HEADS.items()}


def head_scores(name: str, out: torch.Tensor) -> dict:
    """{score name: (N,) float64, higher = more digit-like} for a head's raw outputs (N, 10)."""
    h, out = head(name), out.double()
    top = h.scores(out).topk(2, dim=1).values
    return {h.rejection: h.rejection_score(out).numpy(), "margin": (top[:, 0] - top[:, 1]).numpy()}


def auroc(pos, neg) -> float:
    """P(a positive scores above a negative) + half the ties (Mann-Whitney)."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    starts = np.concatenate([[0], np.flatnonzero(sv[1:] != sv[:-1]) + 1])
    ends = np.concatenate([starts[1:], [len(sv)]])
    avg = (starts + ends + 1) / 2.0  # mean 1-based rank of each tie group
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def fpr_at_tpr(pos, neg, tpr: float = TPR) -> float:
    """The share of negatives accepted at the highest threshold that accepts >= tpr of the positives."""
    pos = np.sort(np.asarray(pos, np.float64))[::-1]
    k = int(np.ceil(tpr * len(pos)))
    return float(np.mean(np.asarray(neg) >= pos[k - 1]))


class TestSets:
    """The clean test set, its corrupted copies and the rubbish sets, as uint8 (N, 28, 28), made once."""

    def __init__(
        self, root=None, corruptions=CORRUPTIONS, rubbish=RUBBISH, n_rubbish: int = SIZE, seed: int = 0
    ):
        folder = resolve_root(root)
        try:
            self.test_x, test_y = load_split(folder, "test")
            train_x, train_y = load_split(folder, "train")
        except UserError as e:
            raise UserError(f"{e} (robustness needs the MNIST test and training sets; pass --root)") from None
        self.test_y = test_y.astype(np.int64)
        self.corrupted = {c: testsets.corrupted(self.test_x, c, seed) for c in corruptions}
        self.rubbish = {r: testsets.rubbish(r, train_x, train_y, n_rubbish, seed) for r in rubbish}
        h = hashlib.sha256(self.test_x.tobytes() + self.test_y.tobytes())
        self.digests = {"test": h.hexdigest()[:16]}  # what a kept score file (KEPT) was scored on, set by set
        for name, arr in [*self.corrupted.items(), *self.rubbish.items()]:
            h.update(name.encode() + arr.tobytes())
            self.digests[name] = hashlib.sha256(arr.tobytes()).hexdigest()[:16]
        self.signature = h.hexdigest()


def _cached_score(run: Path, sets: TestSets, score) -> dict:
    """score(run, sets), kept under the test-set cache keyed by the run's weights, config and the sets:
    a study re-run with one more config scores only that config."""
    h = hashlib.sha256(sets.signature.encode())
    for name in ("model.pt", "config.yaml", "summary.json"):
        p = run / name
        h.update(p.read_bytes() if p.is_file() else b"")
    path = testsets.cache_dir() / "scores" / f"{h.hexdigest()[:24]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return {
                    **meta,
                    "run": str(run),
                    "clean": z["clean"],
                    "corrupted": {c: z[f"c_{c}"] for c in sets.corrupted},
                }
        except (OSError, ValueError, KeyError):
            pass  # damaged: scored again
    res = score(run, sets)
    meta = json.dumps({"seed": res["seed"], "head": res["head"], "rejection": res["rejection"]})
    buf = io.BytesIO()
    np.savez(
        buf, meta=np.array(meta), clean=res["clean"], **{f"c_{c}": w for c, w in res["corrupted"].items()}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(buf.getvalue()))
    except (OSError, UserError):
        pass  # an unwritable cache only costs the time to score the run again
    return res


def keep_scores(run: Path, res: dict, sets: TestSets) -> None:
    """Write run/KEPT: the run's misses (bit-packed) and rejection figures, with the digest of every set
    they were scored on, so the table can be made again where the weights are not kept."""
    meta = {
        "seed": res["seed"],
        "head": res["head"],
        "rejection": res["rejection"],
        "n": len(sets.test_y),
        "digests": {k: sets.digests[k] for k in ["test", *res["corrupted"], *res["rejection"]]},
    }
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        meta=np.array(json.dumps(meta)),
        clean=np.packbits(res["clean"]),
        **{f"c_{c}": np.packbits(w) for c, w in res["corrupted"].items()},
    )
    atomic_write(run / KEPT, lambda f: f.write(buf.getvalue()))


def read_kept(run: Path, sets: TestSets) -> dict:
    """A run's kept scores (keep_scores), checked to have been made on these very test sets."""
    path = run / KEPT
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            bits = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError) as e:
        raise UserError(
            f"{path}: unreadable kept scores ({type(e).__name__}); score the run from its model.pt"
        ) from None
    need = ["test", *sets.corrupted, *sets.rubbish]
    other = [k for k in need if meta["digests"].get(k) != sets.digests[k]]
    if other:
        raise UserError(
            f"{path}: scored on other test sets ({', '.join(other)} differ or are missing); "
            f"score the run from its model.pt"
        )
    n = meta["n"]
    return {
        "run": str(run),
        "seed": meta["seed"],
        "head": meta["head"],
        "clean": np.unpackbits(bits["clean"], count=n).astype(bool),
        "corrupted": {c: np.unpackbits(bits[f"c_{c}"], count=n).astype(bool) for c in sets.corrupted},
        "rejection": {g: meta["rejection"][g] for g in sets.rubbish},
    }


def list_runs(folder) -> list[Path]:
    folder = Path(folder)
    runs = sorted(p for p in folder.glob("seed*") if p.is_dir()) if folder.is_dir() else []
    if not runs:
        raise UserError(f"{folder}: no runs (expected seed*/ run directories, as `paper-lenet sweep` writes)")
    for run in runs:
        if not (run / "model.pt").is_file() and not (run / KEPT).is_file():
            raise UserError(
                f"{run}: no model.pt and no {KEPT} (weights not kept: retrain it with `paper-lenet "
                f"sweep CONFIG --seeds N --out DIR`, then point robustness at DIR/<name>)"
            )
    return runs


@torch.no_grad()
def score_run(run: Path, sets: TestSets) -> dict:
    """One run: its seed, misses on the clean and corrupted sets, the scores on test digits and rubbish."""
    cfg, model = load_trained(run)
    model.eval()
    summary = read_json(run / "summary.json") if (run / "summary.json").is_file() else {}
    seed = summary.get("seed", cfg.seed)
    head = cfg.model.head
    if head not in SCORES:
        raise UserError(
            f"{run}: model.head {head!r} has no rejection score here (known: {', '.join(SCORES)})"
        )

    def outputs(raw):
        return in_batches(model, preprocess(torch.tensor(raw), cfg.data, cfg.model.input_size))

    def wrong(raw):
        return model.scores(outputs(raw)).argmax(1).numpy() != sets.test_y

    clean_out = outputs(sets.test_x)
    clean_wrong = model.scores(clean_out).argmax(1).numpy() != sets.test_y
    digits = head_scores(head, clean_out)
    rejection = {}
    for r, raw in sets.rubbish.items():
        junk = head_scores(head, outputs(raw))
        rejection[r] = {
            s: {"auroc": auroc(digits[s], junk[s]), "fpr95": fpr_at_tpr(digits[s], junk[s])} for s in digits
        }
    return {
        "run": str(run),
        "seed": int(seed),
        "head": head,
        "clean": clean_wrong,
        "corrupted": {c: wrong(raw) for c, raw in sets.corrupted.items()},
        "rejection": rejection,
    }


def load_config_scores(folder, sets: TestSets, keep: bool = False) -> dict:
    runs = []
    for r in list_runs(folder):
        if not (r / "model.pt").is_file():
            runs.append(read_kept(r, sets))
            continue
        runs.append(_cached_score(r, sets, score_run))
        if keep:
            keep_scores(r, runs[-1], sets)
    runs.sort(key=lambda r: r["seed"])
    heads = {r["head"] for r in runs}
    if len(heads) > 1:
        raise UserError(
            f"{folder}: runs with different heads ({', '.join(sorted(heads))}); one config per folder"
        )
    return {"name": Path(folder).name, "dir": str(folder), "runs": runs}


def robustness(
    dirs,
    baseline=None,
    fmt: str = "md",
    plot=None,
    root=None,
    corruptions=CORRUPTIONS,
    rubbish=RUBBISH,
    n_rubbish: int = SIZE,
    threads: int = 1,
    keep: bool = False,
) -> str:
    """Load, check and score every config, then the table in `fmt` (and `plot`, a PNG, when given).
    keep: write each scored run's KEPT file; a run without model.pt is read from its KEPT file.
    threads: torch's threads (1 by default: on a shared 2-core machine under load, measured 15x faster
    than torch's default of one per core, which spin-waits on the cores others hold)."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: unknown; choose one of {', '.join(FORMATS)}")
    if not dirs:
        raise UserError("robustness: no run folder given")
    if n_rubbish < 20:
        raise UserError(f"--rubbish-size {n_rubbish}: too few rubbish images for an AUROC (at least 20)")
    for given, known, what in ((corruptions, CORRUPTIONS, "corruption"), (rubbish, RUBBISH, "rubbish set")):
        bad = [g for g in given if g not in known]
        if bad or not given:
            raise UserError(
                f"unknown {what} {', '.join(bad) or '(none given)'}; choose from {', '.join(known)}"
            )
    if threads < 1:
        raise UserError(f"--threads {threads}: must be at least 1")
    if plot is not None:
        need_matplotlib("--plot")
    folders = [Path(d) for d in dirs]
    if baseline is not None and Path(baseline).resolve() not in [f.resolve() for f in folders]:
        folders.insert(0, Path(baseline))
    for f in folders:
        list_runs(f)  # every folder checked before the sets are made
    torch.set_num_threads(threads)
    sets = TestSets(root, corruptions, rubbish, n_rubbish)
    configs = [load_config_scores(f, sets, keep) for f in folders]
    base_i = (
        0 if baseline is None else [Path(c["dir"]).resolve() for c in configs].index(Path(baseline).resolve())
    )
    result = rs.summarize_all(configs, base_i, list(corruptions), list(rubbish))
    if plot is not None:
        robustness_plot(result, plot)
    return render(result, fmt)
