"""Per-sample (batch 1) SDLM steps: the readable reference loop, and the choice of the fast path.

A stepper runs the updates for a chunk of sample indices in order and returns the on-the-fly
error count and loss sum of that chunk (each measured before the sample's own update, as the
paper's Fig. 5 training error is).
"""

from __future__ import annotations

import contextlib

import torch

from ..core.losses import per_sample_loss
from ..core.registry import method
from ..core.sdlm import curvature, sdlm_rates, sdlm_update
from ..errors import ConfigError
from ..fast.stepper import FastBatchGrad, fast_supported


@contextlib.contextmanager
def no_onednn():
    """Native convolutions for batch 1 (torch.backends.mkldnn.flags also warns about TF32)."""
    old = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = old


class ReferenceStepper:
    """Autograd over the nn.Modules, one update per image: the reference every fast path must match."""

    name = "reference"

    def __init__(self, model, loss: str, map_j: float):
        self.model, self.loss, self.map_j = model, loss, map_j
        self.params = [p for _, p in model.named_parameters()]
        self.names = [n for n, _ in model.named_parameters()]
        self.rates = None
        self.sigma = None  # hessian=running: the running h_kk, by parameter

    def set_rates(self, rates: dict) -> None:
        self.rates = [rates[n] for n in self.names]

    def set_running(self, hess: dict, eta: float, mu: float, gamma: float) -> None:
        """SN2.8's running average (gbp.c): before each pattern's update, sigma <- (1 - gamma) sigma
        + gamma h_p (h_p that pattern's Gauss-Newton diagonal), eps_k = eta / (mu + |sigma_k|)."""
        self.sigma = {n: hess[n].clone() for n in self.names}
        self.eta, self.mu, self.gamma = eta, mu, gamma

    def running_hessian(self) -> dict:
        return dict(self.sigma)

    def run(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[int, float]:
        model, errors, loss_sum = self.model, 0, 0.0
        # oneDNN convolutions are several times slower than PyTorch's native ones at batch 1
        with no_onednn():
            for i in idx.tolist():  # x and y may live on any device
                out = model(x[i : i + 1])  # (1, 10)
                target = y[i : i + 1]
                loss = per_sample_loss(self.loss, out, target, self.map_j).sum()
                grads = torch.autograd.grad(loss, self.params)
                if self.sigma is not None:
                    self._running_rates(x[i : i + 1], target)
                sdlm_update(self.params, grads, self.rates)  # w_k <- w_k - eps_k dE/dw_k
                with torch.no_grad():
                    errors += int(model.scores(out).argmax(1).item() != target.item())
                loss_sum += loss.item()
        return errors, loss_sum

    def _running_rates(self, x, target) -> None:
        h_p = curvature(self.model, x, target, self.loss, self.map_j)
        for n in self.names:
            self.sigma[n].mul_(1 - self.gamma).add_(h_p[n], alpha=self.gamma)
        rates = sdlm_rates(self.model, {n: v.abs() for n, v in self.sigma.items()}, self.eta, self.mu)
        self.set_rates(rates)  # SN2.8's step: eps / (mu + |sigma|)


def _fast_or_none(cfg, supported, make, log):
    """make() when the fast path covers this model and device (train.fast: auto|on), else None
    (with a notice; train.fast=on makes that a config error)."""
    mode = cfg.train.fast
    if mode == "off":
        return None
    try:
        why = supported()
        if why is None:
            return make()
    except ImportError as e:  # no fast path built in this install
        why = str(e)
    except RuntimeError as e:  # e.g. no C compiler on this machine
        why = str(e)
    if mode == "on":
        raise ConfigError(f"train.fast=on but the fast path is unavailable: {why}")
    log(f"notice: fast path unavailable ({why}); using autograd")
    return None


def make_stepper(model, cfg, log=print):
    """Per-sample SDLM: the registry's compiled stepper when it covers this model and device, else the
    reference."""
    fast = method(cfg.model.arch).fast
    t = cfg.train
    if fast is None:
        return ReferenceStepper(model, t.loss, t.map_j)
    supported, stepper = fast
    return _fast_or_none(
        cfg, lambda: supported(model, cfg), lambda: stepper(model, t.loss, t.map_j), log
    ) or ReferenceStepper(model, t.loss, t.map_j)


def make_batch_grad(model, cfg, threads: int, log=print):
    """Minibatch optimizers: a FastBatchGrad when the fast path covers this model, else None
    (the training loop then uses autograd)."""
    return _fast_or_none(
        cfg,
        lambda: fast_supported(model, cfg, per_sample=False),
        lambda: FastBatchGrad(model, cfg.train.loss, cfg.train.map_j, threads),
        log,
    )
