"""Training: per-sample SDLM (the paper) or minibatch SGD/Adam (modern), with exact resume.

Every random choice (pass order, Hessian samples, distortions) is drawn from a generator seeded by
(seed, pass, purpose), so a resumed run re-derives them; the checkpoint holds only what the run
has changed: weights, optimizer state, position in the pass, running counters and the pass's h_kk.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import rundir
from .config import Config, load_config
from .evaluate import evaluate
from .losses import loss_fn
from .model import build_model
from .sdlm import curvature, eta_for_epoch, rate_stats, sdlm_rates
from .steppers import make_batch_grad, make_stepper

CHUNK = 1000  # samples per stepper call at most: progress granularity
# Tests only: SIGKILL this process right after the k-th checkpoint it writes, so a kill-and-resume
# test stops the run at a known point on any machine instead of racing a timer.
KILL_AFTER_CHECKPOINT = "PAPER_LENET_TEST_KILL_AFTER_CHECKPOINT"


def seeded(seed: int, epoch: int, purpose: int) -> torch.Generator:
    state = np.random.SeedSequence([int(seed), int(epoch), int(purpose)]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def pass_order(cfg: Config, n: int, epoch: int) -> torch.Tensor:
    """`fixed`: one random order for all passes (the paper's "constant random order"); `reshuffle`:
    a new one each pass; `file`: the training file's own order (the authors' Lush code)."""
    if cfg.train.order == "file":
        return torch.arange(n)
    return torch.randperm(n, generator=seeded(cfg.seed, 0 if cfg.train.order == "fixed" else epoch, 1))


def hessian_due(cfg: Config, epoch: int) -> bool:
    """Is h_kk (re-)estimated before this pass? per_pass: always (the paper's text); per_block: when
    eta changes (the authors' code: QMNIST's blocks of 10 passes); once and running: before pass 1."""
    s = cfg.train.sdlm
    if epoch == 1 or s.hessian == "per_pass":
        return True
    return s.hessian == "per_block" and eta_for_epoch(s.eta, epoch) != eta_for_epoch(s.eta, epoch - 1)


def hessian_pick(cfg: Config, n: int, epoch: int) -> torch.Tensor:
    """The hessian_samples images of this estimate: random (seeded by seed and pass), or the first."""
    k = min(cfg.train.sdlm.hessian_samples, n)
    if cfg.train.sdlm.hessian_pick == "first":
        return torch.arange(k)
    return torch.randperm(n, generator=seeded(cfg.seed, epoch, 2))[:k]


def pass_inputs(cfg: Config, data, epoch: int) -> torch.Tensor:
    if not cfg.data.distortions.enabled:
        return data.train_x
    from .data.distort import distorted_pass

    return distorted_pass(data, cfg.data, cfg.model.input_size, epoch, cfg.seed)


def minibatch_lr(cfg: Config, step: int, total: int) -> float:
    t = cfg.train
    if t.schedule == "cosine":
        return t.lr * 0.5 * (1 + math.cos(math.pi * step / total))
    if t.schedule == "step":
        return t.lr * t.gamma ** ((step * t.epochs // total) // t.step_size)
    return t.lr


def set_threads(cfg: Config) -> int:
    n = cfg.train.threads or (1 if cfg.train.batch_size == 1 else torch.get_num_threads())
    torch.set_num_threads(n)
    return n


def resolve_device(cfg: Config) -> torch.device:
    want = cfg.train.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        from .errors import ConfigError

        raise ConfigError("train.device=cuda but no CUDA device is available (use cpu or auto)")
    return torch.device(want)


def train(cfg: Config, out: Path, resume: bool = False, log=print) -> dict:
    """Run (or continue) one training run into `out`; returns the summary."""
    out = Path(out)
    if rundir.prepare(cfg, out, resume):
        log(f"{out}: run already finished (summary.json present); nothing to do")
        return rundir.read_json(out / "summary.json")
    threads = set_threads(cfg)
    device = resolve_device(cfg)
    from .data.mnist import load_mnist

    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=log)
    model = build_model(cfg.model, seed=cfg.seed).to(device)
    t, n = cfg.train, len(data.train_y)
    per_sample = t.optimizer == "sdlm" and t.batch_size == 1
    opt = None if t.optimizer == "sdlm" else (
        torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay) if t.optimizer == "adam"
        else torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay))
    st = {"epoch": 1, "pos": 0, "errors": 0, "loss_sum": 0.0, "metrics": [], "wall": 0.0, "hess": None}
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        saved = rundir.load_torch(ckpt)
        model.load_state_dict(saved.pop("model"))
        if opt is not None:
            opt.load_state_dict(saved.pop("optimizer"))
        st.update(saved)
        log(f"{out}: resuming at pass {st['epoch']}, sample {st['pos']}")
    rundir.write_json(out / "env.json", rundir.environment())
    stepper = make_stepper(model, cfg, log) if per_sample else None  # the reference on a non-CPU device
    batch_grad = make_batch_grad(model, cfg, threads, log) if opt is not None else None  # C gradients
    # with the C gradients, its worker threads are the parallelism: torch's own OpenMP threads would
    # spin on the same cores after each small op (measured: 6.1 s vs 4.8 s per modern epoch on 2 cores)
    loop_threads = 1 if batch_grad is not None else threads
    y_train = data.train_y.to(device)
    tty = sys.stdout.isatty()
    started = time.time() - st["wall"]

    kill_after = int(os.environ.get(KILL_AFTER_CHECKPOINT, 0))
    written = 0

    def checkpoint():
        nonlocal written
        st["wall"] = time.time() - started
        state = dict(st, model=model.state_dict())
        if opt is not None:
            state["optimizer"] = opt.state_dict()
        rundir.save_torch(ckpt, state)
        written += 1
        if written == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    while st["epoch"] <= t.epochs:
        e = st["epoch"]
        t0 = time.time()
        torch.set_num_threads(loop_threads)
        x_train = pass_inputs(cfg, data, e).to(device)
        order = pass_order(cfg, n, e).to(device)
        eff = (None, None, None)
        lr = t.lr
        if t.optimizer == "sdlm":
            lr = eta_for_epoch(t.sdlm.eta, e)
            if st["hess"] is None:  # h_kk from hessian_samples patterns, fixed until the next estimate
                pick = hessian_pick(cfg, n, e).to(device)
                st["hess"] = curvature(model, x_train[pick], y_train[pick], t.loss, t.map_j)
            rates = sdlm_rates(model, st["hess"], lr, t.sdlm.mu)
            eff = rate_stats(model, rates)
        if per_sample:
            stepper.set_rates(rates)
            if t.sdlm.hessian == "running":  # SN2.8: h_kk moves with every pattern from this start
                stepper.set_running(st["hess"], lr, t.sdlm.mu, t.sdlm.gamma)
        last_ckpt = st["pos"]
        while st["pos"] < n:
            if per_sample:  # chunks end where a checkpoint is due
                idx = order[st["pos"]:st["pos"] + min(CHUNK, t.checkpoint_every - (st["pos"] - last_ckpt))]
                err, ls = stepper.run(x_train, y_train, idx.cpu())
            else:
                idx = order[st["pos"]:st["pos"] + t.batch_size]
                if opt is not None:
                    step = (e - 1) * math.ceil(n / t.batch_size) + st["pos"] // t.batch_size
                    for g in opt.param_groups:
                        g["lr"] = minibatch_lr(cfg, step, t.epochs * math.ceil(n / t.batch_size))
                    err, ls = _minibatch_step(model, opt, x_train, y_train, idx, cfg, batch_grad)
                else:
                    err, ls = _sdlm_batch(model, x_train, y_train, idx, rates, cfg)
            st["pos"] += len(idx)
            st["errors"] += err
            st["loss_sum"] += ls
            if st["pos"] - last_ckpt >= t.checkpoint_every and st["pos"] < n:
                checkpoint()
                last_ckpt = st["pos"]
            if tty:
                print(f"\r  pass {e}: {100 * st['pos'] / n:5.1f}%", end="", flush=True)
        if tty:
            print("\r", end="")
        if t.sdlm.hessian == "running" and stepper is not None:
            st["hess"] = stepper.running_hessian()  # carried into the next pass (and checkpoints)
        torch.set_num_threads(threads)  # evaluation: torch's batched ops
        test = held_out(model, data, cfg, device)
        full = evaluate(model, data.train_x.to(device), y_train, t.loss, t.map_j, t.eval_batch_size) \
            if t.full_train_eval else None
        if opt is not None:
            lr = opt.param_groups[0]["lr"]
        row = {"epoch": e, "train_error": st["errors"] / n, "train_loss": st["loss_sum"] / n,
               f"{test['split']}_error": test["error"], f"{test['split']}_loss": test["loss"],
               "lr": lr, "eff_lr_min": eff[0], "eff_lr_median": eff[1], "eff_lr_max": eff[2],
               "seconds": round(time.time() - t0, 3)}
        if full is not None:
            row["train_error_full"] = full["error"]
        st["metrics"].append(row)
        log(f"pass {e:2d}/{t.epochs}  train {100 * row['train_error']:.2f}% (on the fly)  "
            f"{test['split']} {100 * test['error']:.2f}%  loss {row['train_loss']:.4f}  lr {lr:.2e}  "
            + (f"eps [{eff[0]:.1e}, {eff[2]:.1e}]  " if eff[0] is not None else "") + f"{row['seconds']:.1f}s")
        st.update(epoch=e + 1, pos=0, errors=0, loss_sum=0.0,
                  hess=None if hessian_due(cfg, e + 1) else st["hess"])
        rundir.write_metrics(out, st["metrics"])
        checkpoint()
    # the final weights' test figures (equal to the last pass's row; also when resumed after it)
    if batch_grad is not None:
        batch_grad.close()
    test = held_out(model, data, cfg, device)
    return _finish(cfg, out, model, st, test, n)


def held_out(model, data, cfg: Config, device) -> dict:
    """The test set's figures, or with data.validation the validation split's (the test set is then
    never scored: a run that chooses a setting must not see it). `split` says which."""
    t = cfg.train
    if data.val_x is not None:
        res = evaluate(model, data.val_x.to(device), data.val_y.to(device), t.loss, t.map_j, t.eval_batch_size)
        return dict(res, split="val")
    return dict(evaluate(model, data.test_x.to(device), data.test_y.to(device), t.loss, t.map_j,
                         t.eval_batch_size), split="test")


def _finish(cfg, out, model, st, test, n) -> dict:
    rundir.save_torch(out / "model.pt", model.state_dict())
    split = test["split"]
    preds = "".join(map(str, test["predictions"].tolist()))  # for paired (McNemar) comparisons
    rundir.write_text(out / f"{split}_predictions.txt", preds + "\n")
    last = st["metrics"][-1]
    summary = {"name": cfg.name, "seed": cfg.seed, "epochs": cfg.train.epochs, "n_train": n,
               f"{split}_error": test["error"], f"{split}_misses": test["misses"],
               f"n_{split}": len(test["predictions"]),
               "train_error": last.get("train_error_full", last["train_error"]),
               "train_error_on_the_fly": last["train_error"],
               f"best_{split}_error": min(m[f"{split}_error"] for m in st["metrics"]),
               "wall_seconds": round(st["wall"], 1)}
    rundir.write_json(out / "summary.json", summary)  # written last: marks the run finished
    (out / "checkpoint.pt").unlink(missing_ok=True)
    return summary


def _sdlm_batch(model, x, y, idx, rates, cfg):
    """One SDLM update on a minibatch (the per-sample case is the steppers' job)."""
    params = list(model.named_parameters())
    out = model(x[idx])
    loss = loss_fn(cfg.train.loss, out, y[idx], cfg.train.map_j)
    grads = torch.autograd.grad(loss, [p for _, p in params])
    with torch.no_grad():
        for (name, p), gr in zip(params, grads):
            p.addcmul_(rates[name], gr, value=-1.0)
        errors = int((model.scores(out).argmax(1) != y[idx]).sum().item())
    return errors, loss.item() * len(idx)


def _minibatch_step(model, opt, x, y, idx, cfg, batch_grad=None):
    """One optimizer step on the batch x[idx]; (errors, summed loss) scored before the update."""
    if batch_grad is not None:  # the compiled forward/backward writes the mean gradient into .grad
        err, ls = batch_grad(x, y, idx)
        opt.step()
        return err, ls
    xb, yb = x[idx], y[idx]
    out = model(xb)
    loss = loss_fn(cfg.train.loss, out, yb, cfg.train.map_j)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        errors = int((model.scores(out).argmax(1) != yb).sum().item())
    return errors, loss.item() * len(yb)


def train_from_cli(config: str, overrides, out=None, resume=False) -> dict:
    cfg = load_config(config, overrides)  # an invalid config never creates a run directory
    return train(cfg, Path(out) if out else rundir.default_run_dir(cfg), resume)
