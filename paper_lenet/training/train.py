"""Training: per-sample SDLM (the paper) or minibatch SGD/Adam (modern), with exact resume.

Every random choice (pass order, Hessian samples, distortions) is drawn from a generator seeded by
(seed, pass, purpose) (schedule.py), so a resumed run re-derives them; the checkpoint holds only what
the run has changed (State): weights, optimizer state, position in the pass, running counters, h_kk.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import files
from ..config import Config
from ..core.losses import loss_fn
from ..core.model import build_model
from ..core.sdlm import curvature, eta_for_epoch, rate_stats, sdlm_rates, sdlm_update
from ..data.mnist import load_mnist
from ..errors import UserError
from ..runs import rundir
from ..runs.stops import checkpoint_written
from .device import resolve_device, set_threads
from .evaluate import evaluate
from .schedule import hessian_due, hessian_pick, minibatch_lr, pass_inputs, pass_order
from .steppers import make_batch_grad, make_stepper

CHUNK = 1000  # samples per stepper call at most: progress granularity


@dataclass
class State:
    """What a run has changed so far, besides its weights and optimizer: all a checkpoint holds."""

    epoch: int = 1  # the pass in progress (1-based)
    pos: int = 0  # samples of it done
    errors: int = 0  # on-the-fly errors and summed loss of the pass so far
    loss_sum: float = 0.0
    metrics: list = field(default_factory=list)  # one row per finished pass
    wall: float = 0.0  # seconds of training so far
    hess: dict | None = None  # h_kk in force (None: estimate it before the pass)
    sigma: dict | None = None  # hessian=running: the running h_kk at a mid-pass checkpoint


class Trainer:
    """One run: its data, model, optimizer and stepper, and the State that a checkpoint saves."""

    def __init__(self, cfg: Config, out: Path, log=print, data=None):
        self.cfg, self.out, self.log, t = cfg, out, log, cfg.train
        self.threads = set_threads(cfg)
        self.device = resolve_device(cfg)
        # data: an MNIST with other training patterns (boosting's selected sets); else the config's
        self.data = (
            data if data is not None else load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=log)
        )
        self.n = len(self.data.train_y)
        self.model = build_model(cfg.model, seed=cfg.seed).to(self.device)
        self.per_sample = t.optimizer == "sdlm" and t.batch_size == 1
        params = self.model.parameters()
        self.opt = (
            None
            if t.optimizer == "sdlm"
            else (
                torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
                if t.optimizer == "adam"
                else torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
            )
        )
        self.st = State()
        self.ckpt = out / "checkpoint.pt"
        if self.ckpt.exists():
            self.restore(files.load_torch(self.ckpt))
            log(f"{out}: resuming at pass {self.st.epoch}, sample {self.st.pos}")
        self.stepper = (
            make_stepper(self.model, cfg, log) if self.per_sample else None
        )  # reference off the CPU
        self.batch_grad = (
            make_batch_grad(self.model, cfg, self.threads, log) if self.opt is not None else None
        )
        # with the C gradients, its worker threads are the parallelism: torch's own OpenMP threads would
        # spin on the same cores after each small op (measured: 6.1 s vs 4.8 s per modern epoch on 2 cores)
        self.loop_threads = 1 if self.batch_grad is not None else self.threads
        self.y_train = self.data.train_y.to(self.device)
        self.started = time.time() - self.st.wall
        self.written = 0

    def restore(self, saved) -> None:
        """The checkpoint's weights, optimizer and State; one that is not this run's is a UserError."""
        try:
            self.model.load_state_dict(saved.pop("model"))
            if self.opt is not None:
                self.opt.load_state_dict(saved.pop("optimizer"))
            self.st = State(**saved)
        except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as e:
            raise UserError(
                f"{self.ckpt}: damaged or not this run's checkpoint ({type(e).__name__})"
            ) from None

    def checkpoint(self) -> None:
        self.st.wall = time.time() - self.started
        if self.cfg.train.sdlm.hessian == "running" and self.stepper is not None and self.st.pos > 0:
            self.st.sigma = self.stepper.running_hessian()  # where a resumed pass picks it up
        state = dict(dataclasses.asdict(self.st), model=self.model.state_dict())
        if self.opt is not None:
            state["optimizer"] = self.opt.state_dict()
        files.save_torch(self.ckpt, state)
        self.written += 1
        checkpoint_written(self.written)

    def rates(self, e: int, x_train) -> tuple[float, dict | None, tuple]:
        """This pass's global rate, SDLM's eps_k (h_kk estimated first when due) and their range."""
        t = self.cfg.train
        if t.optimizer != "sdlm":
            return t.lr, None, (None, None, None)
        lr = eta_for_epoch(t.sdlm.eta, e)
        if self.st.hess is None:  # h_kk from hessian_samples patterns, fixed until the next estimate
            pick = hessian_pick(self.cfg, self.n, e).to(self.device)
            self.st.hess = curvature(self.model, x_train[pick], self.y_train[pick], t.loss, t.map_j)
        rates = sdlm_rates(self.model, self.st.hess, lr, t.sdlm.mu)
        if self.per_sample:
            self.stepper.set_rates(rates)
            if t.sdlm.hessian == "running":  # SN2.8: h_kk moves with every pattern from this start
                self.stepper.set_running(self.st.sigma or self.st.hess, lr, t.sdlm.mu, t.sdlm.gamma)
        return lr, rates, rate_stats(rates)

    def steps(self, e: int, x_train, order, rates) -> None:
        """The updates of pass e from the current position, with a checkpoint every checkpoint_every."""
        t, st, n = self.cfg.train, self.st, self.n
        tty, last_ckpt = sys.stdout.isatty(), st.pos
        while st.pos < n:
            if self.per_sample:  # chunks end where a checkpoint is due
                idx = order[st.pos : st.pos + min(CHUNK, t.checkpoint_every - (st.pos - last_ckpt))]
                err, ls = self.stepper.run(x_train, self.y_train, idx.cpu())
            else:
                idx = order[st.pos : st.pos + t.batch_size]
                if self.opt is not None:
                    step = (e - 1) * math.ceil(n / t.batch_size) + st.pos // t.batch_size
                    for g in self.opt.param_groups:
                        g["lr"] = minibatch_lr(self.cfg, step, t.epochs * math.ceil(n / t.batch_size))
                    err, ls = minibatch_step(
                        self.model, self.opt, x_train, self.y_train, idx, self.cfg, self.batch_grad
                    )
                else:
                    err, ls = _sdlm_batch(self.model, x_train, self.y_train, idx, rates, self.cfg)
            st.pos += len(idx)
            st.errors += err
            st.loss_sum += ls
            if st.pos - last_ckpt >= t.checkpoint_every and st.pos < n:
                self.checkpoint()
                last_ckpt = st.pos
            if tty:
                print(f"\r  pass {e}: {100 * st.pos / n:5.1f}%", end="", flush=True)
        if tty:
            print("\r", end="")

    def end_pass(self, e: int, lr: float, eff: tuple, t0: float) -> None:
        """Score the pass, log its row, move the State to the next pass and checkpoint."""
        t, st, n = self.cfg.train, self.st, self.n
        if t.sdlm.hessian == "running" and self.stepper is not None:
            st.hess, st.sigma = self.stepper.running_hessian(), None  # carried into the next pass
        torch.set_num_threads(self.threads)  # evaluation: torch's batched ops
        test = held_out(self.model, self.data, self.cfg, self.device)
        full = (
            evaluate(
                self.model,
                self.data.train_x.to(self.device),
                self.y_train,
                t.loss,
                t.map_j,
                t.eval_batch_size,
            )
            if t.full_train_eval
            else None
        )
        if self.opt is not None:
            lr = self.opt.param_groups[0]["lr"]
        row = {
            "epoch": e,
            "train_error": st.errors / n,
            "train_loss": st.loss_sum / n,
            f"{test['split']}_error": test["error"],
            f"{test['split']}_loss": test["loss"],
            "lr": lr,
            "eff_lr_min": eff[0],
            "eff_lr_median": eff[1],
            "eff_lr_max": eff[2],
            "seconds": round(time.time() - t0, 3),
        }
        if full is not None:
            row["train_error_full"] = full["error"]
        st.metrics.append(row)
        self.log(
            f"pass {e:2d}/{t.epochs}  train {100 * row['train_error']:.2f}% (on the fly)  "
            f"{test['split']} {100 * test['error']:.2f}%  loss {row['train_loss']:.4f}  lr {lr:.2e}  "
            + (f"eps [{eff[0]:.1e}, {eff[2]:.1e}]  " if eff[0] is not None else "")
            + f"{row['seconds']:.1f}s"
        )
        st.epoch, st.pos, st.errors, st.loss_sum = e + 1, 0, 0, 0.0
        st.hess = None if hessian_due(self.cfg, e + 1) else st.hess
        rundir.write_metrics(self.out, st.metrics)
        self.checkpoint()

    def one_pass(self) -> None:
        e, t0 = self.st.epoch, time.time()
        torch.set_num_threads(self.loop_threads)
        x_train = pass_inputs(self.cfg, self.data, e).to(self.device)
        order = pass_order(self.cfg, self.n, e).to(self.device)
        lr, rates, eff = self.rates(e, x_train)
        self.steps(e, x_train, order, rates)
        self.end_pass(e, lr, eff, t0)

    def finish(self) -> dict:
        """The final weights, test predictions and summary (equal to the last pass's row)."""
        if self.batch_grad is not None:
            self.batch_grad.close()
        test = held_out(self.model, self.data, self.cfg, self.device)
        return _finish(self.cfg, self.out, self.model, self.st, test, self.n)


def train(cfg: Config, out: Path, resume: bool = False, log=print, data=None) -> dict:
    """Run (or continue) one network's training into `out`; returns the summary. data: see Trainer.
    (make.make_run decides which kind of run a config is; this is the network kind.)"""
    out = Path(out)
    set_threads(cfg)  # before env.json records them
    with rundir.open_run(cfg, out, resume, log) as done:
        if done is not None:
            return done
        run = Trainer(cfg, out, log, data)
        while run.st.epoch <= cfg.train.epochs:
            run.one_pass()
        return run.finish()


def held_out(model, data, cfg: Config, device) -> dict:
    """The test set's figures, or with data.validation the validation split's (the test set is then
    never scored: a run that chooses a setting must not see it). `split` says which."""
    t = cfg.train
    if data.val_x is not None:
        res = evaluate(
            model, data.val_x.to(device), data.val_y.to(device), t.loss, t.map_j, t.eval_batch_size
        )
        return dict(res, split="val", labels=data.val_y)
    return dict(
        evaluate(model, data.test_x.to(device), data.test_y.to(device), t.loss, t.map_j, t.eval_batch_size),
        split="test",
        labels=data.test_y,
    )


def _finish(cfg, out, model, st, test, n) -> dict:
    files.save_torch(out / "model.pt", model.state_dict())
    split, last = test["split"], st.metrics[-1]
    best = {f"best_{split}_error": min(m[f"{split}_error"] for m in st.metrics)}
    # fmt: off
    summary = rundir.write_summary(out, cfg, split, test["predictions"], test["labels"], test["margins"],
                                   n_train=n, train_error=last.get("train_error_full", last["train_error"]),
                                   wall=st.wall, train_error_on_the_fly=last["train_error"], **best)
    # fmt: on
    (out / "checkpoint.pt").unlink(missing_ok=True)
    return summary


def _sdlm_batch(model, x, y, idx, rates, cfg):
    """One SDLM update on a minibatch (the per-sample case is the steppers' job)."""
    params = list(model.named_parameters())
    out = model(x[idx])
    loss = loss_fn(cfg.train.loss, out, y[idx], cfg.train.map_j)
    grads = torch.autograd.grad(loss, [p for _, p in params])
    sdlm_update([p for _, p in params], grads, [rates[name] for name, _ in params])
    with torch.no_grad():
        errors = int((model.scores(out).argmax(1) != y[idx]).sum().item())
    return errors, loss.item() * len(idx)


def minibatch_step(model, opt, x, y, idx, cfg, batch_grad=None):
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
