"""The classical classifiers of the paper's comparison (Sec. III-C, Fig. 9), fitted in closed form.

    linear         Fig. 9 "Linear": 10 units, each a weighted sum of the pixels plus a bias; class =
                   the largest sum. The paper does not say how it trained it: we solve the
                   regularised least squares (pseudo-inverse) of [x, 1] onto +1 for the class, -1
                   elsewhere.
    pairwise       "Pairwise linear classifier": 45 units, unit (i, j) "trained to separate class i
                   from class j" by the same least squares on the samples of classes i and j only
                   (+1 for i, -1 for j). The paper gives no combination rule; ours (pairwise_scores):
                   each unit votes for the class its output's sign points to, class = most votes,
                   ties to the larger sum of the units' outputs clipped to [-1, 1]. Chosen on the
                   validation split (fit on the first 50,000, scored on the last 10,000): votes 6.78%,
                   the plain sum of signed outputs s_i = sum_j o_ij 15.37% (a unit's output on the
                   classes it never saw is unbounded and swamps the sum); PAIRWISE_RULE = "sum" is that.
    knn            "K-NN Euclidean": knn.py (model.k: 0 chooses k on a validation split).
    pca_quadratic  "40 PCA + quadratic": centred PCA (eigenvectors of the training covariance) to
                   model.components, features [1, z_i, z_i z_j (i <= j)] (861 for 40), the same
                   least squares onto +-1.
    rbf_linear     "1000 RBF + linear": model.centers / 10 Gaussian units per class, centres by
                   k-means on that class's training images (Lloyd's algorithm from a seeded k-means++
                   start, rbf.KMEANS_ITERS iterations; the paper's "adaptive K-means" is not specified),
                   width sigma_j = the RMS distance of centre j's members to it, output
                   exp(-d^2 / (2 sigma_j^2)); then the least squares (+ bias) onto +-1.

The least squares ("regularised pseudo-inverse"): W = argmin (1/n) ||[phi, 1] W - T||^2 + ridge ||W'||^2,
W' every weight but the biases, ridge = model.ridge (each configs/fig9 file's value chosen on the
validation split); the normal equations are accumulated over chunks in float64. `fit_classic`
writes a run directory like train.py's `train`.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from . import knn, rundir
from .config import Config
from .errors import UserError
from .evaluate import top_two_margin
from .rbf import rbf_units

CLASSES = 10
CHUNK = 5000  # rows per feature / score chunk (5,000 x 1,000 RBF distances: 20 MB)
TRAIN_ERROR_N = 10000  # knn: training error on this many training images (seeded subset)


class Machine:
    """A fitted least-squares classifier: scores = [phi(x), 1] W (then `combine`: pairwise_scores)."""

    def __init__(self, phi, w: torch.Tensor, combine=None):
        self.phi, self.w, self.combine = phi, w.to(torch.float32), combine

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for i in range(0, len(x), CHUNK):
            o = self.phi(x[i:i + CHUNK]) @ self.w[:-1] + self.w[-1]
            out.append(self.combine(o) if self.combine is not None else o)
        return torch.cat(out)


def identity(x):
    return x


def class_moments(phi, x, y, classes: int = CLASSES):
    """Per class c: G_c = sum a a^T and s_c = sum a over its samples, a = [phi(x), 1]; float64."""
    grams, sums, counts = [], [], []
    for c in range(classes):
        xc = x[y == c]
        g, s = 0.0, 0.0
        for i in range(0, len(xc), CHUNK):
            f = phi(xc[i:i + CHUNK]).to(torch.float64)
            a = torch.cat([f, torch.ones(len(f), 1, dtype=torch.float64)], 1)
            g, s = g + a.T @ a, s + a.sum(0)
        grams.append(g), sums.append(s), counts.append(len(xc))
    if any(n == 0 for n in counts):
        raise UserError(f"every class needs a training sample (counts {counts})")
    return torch.stack(grams), torch.stack(sums), torch.tensor(counts, dtype=torch.float64)


def ridge_solve(gram: torch.Tensor, rhs: torch.Tensor, n: float, ridge: float) -> torch.Tensor:
    """W = (G/n + ridge I')^-1 rhs/n, I' the identity with a 0 for the bias (the last row)."""
    a = gram / n
    idx = torch.arange(len(a) - 1)
    a[idx, idx] += ridge
    return torch.linalg.solve(a, rhs / n)


def fit_ridge(phi, x, y, ridge: float) -> Machine:
    """One unit per class, +1 for the class and -1 elsewhere: A^T T's column c is 2 s_c - sum s."""
    g, s, n = class_moments(phi, x, y)
    rhs = (2 * s - s.sum(0)).T  # (D+1, 10)
    return Machine(phi, ridge_solve(g.sum(0), rhs, float(n.sum()), ridge))


def fit_pairwise(x, y, ridge: float) -> Machine:
    """45 units on the pixels; unit (i, j) sees classes i (+1) and j (-1) only: (G_i + G_j, s_i - s_j)."""
    g, s, n = class_moments(identity, x, y)
    w = torch.stack([ridge_solve(g[i] + g[j], s[i] - s[j], float(n[i] + n[j]), ridge)
                     for i, j in PAIRS.tolist()], 1)
    return Machine(identity, w, pairwise_scores)


PAIRS = torch.tensor([(i, j) for i in range(CLASSES) for j in range(i + 1, CLASSES)])  # unit u: (i, j)
PAIRWISE_RULE = "votes"  # or "sum" (module docstring)


def pairwise_scores(o: torch.Tensor) -> torch.Tensor:
    """(N, 10) class scores from the 45 unit outputs o (N, 45), unit (i, j) positive for i.
    votes: s_i = wins_i + (sum_j clip(o_ij, -1, 1)) / 20; the second term is within +-0.45, so argmax
    is the most-voted class (ties to the larger clipped sum) and the top-two difference ranks by the
    vote difference first. sum: s_i = sum_j o_ij (o_ji = -o_ij)."""
    signed = torch.cat([o, -o], 1)  # toward i, then toward j
    owner = torch.cat([PAIRS[:, 0], PAIRS[:, 1]])
    zeros = torch.zeros(len(o), CLASSES, dtype=o.dtype)
    if PAIRWISE_RULE == "sum":
        return zeros.index_add_(1, owner, signed)
    wins = zeros.index_add(1, owner, (signed > 0).to(o.dtype))
    return wins + zeros.index_add_(1, owner, signed.clamp(-1, 1)) / (2 * (CLASSES - 1) + 2)


class QuadraticPCA:
    """x -> [z_i, z_i z_j (i <= j)], z = (x - mean) V, V the top eigenvectors of the covariance."""

    def __init__(self, x: torch.Tensor, components: int):
        self.mean = x.sum(0, dtype=torch.float64) / len(x)
        cov = 0.0
        for i in range(0, len(x), CHUNK):  # float64 chunk by chunk: no float64 copy of x
            c = x[i:i + CHUNK].to(torch.float64) - self.mean
            cov = cov + c.T @ c
        vals, vecs = torch.linalg.eigh(cov / len(x))  # ascending
        self.v = vecs[:, -components:].flip(1).to(torch.float32)
        self.mean = self.mean.to(torch.float32)
        self.iu = torch.triu_indices(components, components)

    def __call__(self, x):
        z = (x - self.mean) @ self.v
        return torch.cat([z, z[:, self.iu[0]] * z[:, self.iu[1]]], 1)


def quadratic_features(components: int) -> int:
    """Features of the quadratic classifier with the bias: 1 + m + m(m+1)/2 (861 for 40)."""
    return 1 + components + components * (components + 1) // 2


# ---------------------------------------------------------------------------------------------
# cost per recognition (Fig. 11: multiply-accumulates, Fig. 12: memory in variables)


def cost(cfg: Config, d: int | None = None) -> dict:
    """{"macs", "memory"} per recognition, d = input pixels (model.input_size^2: 784, or 400 deslanted;
    with model.features, the network's last hidden layer's width, plus the network's own MACs and
    parameters), n = data.train_size.

        linear         memory 10 (d+1), MACs 10 d
        pairwise       memory 45 (d+1), MACs 45 d
        knn            memory = MACs = n d (every template, one MAC per pixel)
        pca_quadratic  memory = MACs = m d + 10 (1 + m + m(m+1)/2) (the projection and the
                       quadratic weights; the m(m+1)/2 pair products are not counted as MACs)
        rbf_linear     memory c d + 10 (c+1), MACs c d + 10 c (the c widths are not counted)

    Against the paper (Fig. 11 / Fig. 12, thousands): linear [deslant] 4 / 4 (ours 4.0 / 4.01;
    28x28: 7.84 / 7.85); pairwise 36 / 35 (ours 35.28 / 35.33); K-NN [deslant] 24,000 / 24,000
    (ours the same); 40 PCA + quadratic 39 / 40 (ours 39.97 / 39.97); 1000 RBF 794 / 794 (ours
    794.0 / 794.01). The paper does not give its counting rules."""
    m = cfg.model
    if m.features:  # the network's own cost, then the method on its last hidden layer
        from .accounting import count
        from .rundir import load_run_config
        from .model import build_model

        net_cfg = load_run_config(Path(m.features.format(seed=cfg.seed)))
        net = count(build_model(net_cfg.model))
        d = net["layers"][-2]["output_shape"][0]  # the layer before the output: its width
        plain = cost(dataclasses.replace(cfg, model=dataclasses.replace(m, features=None, input_size=1)), d)
        return {"macs": plain["macs"] + net["total"]["macs"], "memory": plain["memory"] + net["total"]["params"]}
    d = m.input_size ** 2 if d is None else d
    if m.arch == "linear":
        return {"macs": CLASSES * d, "memory": CLASSES * (d + 1)}
    if m.arch == "pairwise":
        return {"macs": 45 * d, "memory": 45 * (d + 1)}
    if m.arch == "knn":
        return {"macs": cfg.data.train_size * d, "memory": cfg.data.train_size * d}
    if m.arch == "pca_quadratic":
        n = m.components * d + CLASSES * quadratic_features(m.components)
        return {"macs": n, "memory": n}
    if m.arch == "rbf_linear":
        return {"macs": m.centers * d + CLASSES * m.centers,
                "memory": m.centers * d + CLASSES * (m.centers + 1)}
    raise ValueError(f"not a classical model.arch: {m.arch!r}")


def paper_cost(cfg: Config) -> dict:
    """Figs. 11-12's figures for this method ({} when it gives none), in variables and MACs."""
    from .paper import FIG11_12

    m, deslant = cfg.model, cfg.data.preprocess == "deslant"
    row = {"linear": "Linear", "pairwise": "Pairwise", "pca_quadratic": "40 PCA + quadratic",
           "rbf_linear": "1000 RBF + linear"}.get(m.arch)
    if m.arch == "knn":
        row = "LeNet-4 / K-NN" if m.features else "[deslant] K-NN Euclidean" if deslant else None
    if row is None:
        return {}
    macs, memory = FIG11_12[row]
    return {"macs": macs * 1000, "memory": memory * 1000, "row": row}


# ---------------------------------------------------------------------------------------------
# a run


def features_run(cfg: Config) -> Path | None:
    """model.features as a finished run directory ({seed} filled in), or None; a UserError naming the key."""
    if not cfg.model.features:
        return None
    try:
        run = Path(cfg.model.features.format(seed=cfg.seed))
    except (KeyError, IndexError, ValueError) as e:
        raise UserError(f"model.features: {cfg.model.features!r}: only {{seed}} is filled in ({e})") from None
    if not ((run / "config.yaml").is_file() and (run / "model.pt").is_file()):
        raise UserError(f"model.features: {run}: not a finished run directory (needs config.yaml and model.pt)")
    return run


def load_inputs(cfg: Config, run: Path | None, log=print):
    """(train_x (N, d), train_y, eval_x, eval_y, split): pixels, or with model.features the F6 outputs
    of that run's network on its own preprocessed inputs (same training subset). split: 'val' with
    data.validation, else 'test'."""
    from .data.mnist import load_mnist

    if run is None:
        data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=log)

        def embed(x):
            return x.reshape(len(x), -1)
    else:
        from .evaluate import load_trained

        try:
            fcfg, net = load_trained(run)
        except UserError as e:
            raise UserError(f"model.features: {e}") from None
        d = cfg.data
        dcfg = dataclasses.replace(fcfg.data, root=d.root, download=d.download, train_size=d.train_size,
                                   subset=d.subset, validation=d.validation,
                                   distortions=dataclasses.replace(fcfg.data.distortions, enabled=False))
        data = load_mnist(dcfg, fcfg.model.input_size, cfg.seed, log=log)
        net.eval()

        @torch.no_grad()
        def embed(x):
            return torch.cat([net.features(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    if data.val_x is not None:
        return embed(data.train_x), data.train_y, embed(data.val_x), data.val_y, "val"
    return embed(data.train_x), data.train_y, embed(data.test_x), data.test_y, "test"


def fit_knn(cfg: Config, x, y, log=print) -> tuple[int, dict]:
    """model.k, or with k = 0 the k of knn.CHOICES best on the validation split: the last sixth of the
    training set in file order as queries, the rest as templates (all 60,000: the last 10,000 against
    the first 50,000). Returns (k, metrics)."""
    if cfg.model.k > 0:
        return cfg.model.k, {}
    cut = len(x) - len(x) // 6
    k, errors = knn.choose_k(x[:cut], y[:cut], x[cut:], y[cut:], log=log)
    log(f"  chose k={k} on {len(x) - cut} validation images ({cut} templates)")
    return k, {"val_errors": {str(c): e for c, e in errors.items()}, "k_val_n": len(x) - cut, "k_fit_n": cut}


def fit_classic(cfg: Config, out: Path, resume: bool = False, log=print) -> dict:
    """Fit one classical classifier into the run directory `out`; returns the summary (train.py's keys)."""
    from .schedule import set_threads

    out, m = Path(out), cfg.model
    run = features_run(cfg)  # a bad model.features never creates a run directory
    done = rundir.open_run(cfg, out, resume, log)
    if done is not None:
        return done
    started = time.time()
    set_threads(cfg)
    x, y, ex, ey, split = load_inputs(cfg, run, log)
    log(f"{cfg.name}: {m.arch} on {len(x)} training images of {x.shape[1]} inputs")
    t0, row, summary_extra = time.time(), {}, {}
    if m.arch == "knn":
        k, row = fit_knn(cfg, x, y, log)
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))[:TRAIN_ERROR_N]
        pick = pick.sort().values if len(x) > TRAIN_ERROR_N else torch.arange(len(x))
        row["fit_seconds"] = round(time.time() - t0, 3)
        train_scores = knn.knn_scores(x, y, x[pick], k)  # templates include each image itself
        train_y, summary_extra = y[pick], {"k": k}
        t1 = time.time()
        scores = knn.knn_scores(x, y, ex, k)
    else:
        if m.arch == "linear":
            machine = fit_ridge(identity, x, y, m.ridge)
        elif m.arch == "pairwise":
            machine = fit_pairwise(x, y, m.ridge)
        elif m.arch == "pca_quadratic":
            machine = fit_ridge(QuadraticPCA(x, m.components), x, y, m.ridge)
        elif m.arch == "rbf_linear":
            machine = fit_ridge(rbf_units(x, y, m.centers, cfg.seed, log), x, y, m.ridge)
        else:
            raise UserError(f"model.arch={m.arch} is not a classical classifier")
        row["fit_seconds"] = round(time.time() - t0, 3)
        train_scores, train_y = machine.scores(x), y
        t1 = time.time()
        scores = machine.scores(ex)
    row[f"{split}_seconds"] = round(time.time() - t1, 3)
    pred = scores.argmax(1)
    misses = int((pred != ey).sum())
    train_error = float((train_scores.argmax(1) != train_y).double().mean())
    row.update({"epoch": 0, "train_error": train_error, f"{split}_error": misses / len(ey)})
    rundir.write_metrics(out, [row])
    rundir.write_predictions(out, split, pred.numpy(), top_two_margin(scores).numpy())
    summary = {"name": cfg.name, "seed": cfg.seed, "arch": m.arch, "epochs": 0, "n_train": len(x),
               f"{split}_error": misses / len(ey), f"{split}_misses": misses, f"n_{split}": len(ey),
               "train_error": train_error, "train_error_n": len(train_y), **summary_extra, **cost(cfg),
               "wall_seconds": round(time.time() - started, 1)}
    log(f"{cfg.name}: {split} error {100 * summary[f'{split}_error']:.2f}% ({misses} misses), train error "
        f"{100 * train_error:.2f}% (of {len(train_y)}), {summary['wall_seconds']:.0f}s")
    rundir.write_json(out / "summary.json", summary)  # written last: marks the run finished
    return summary
