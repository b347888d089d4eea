"""The compiled lenet5.c behind two interfaces.

FastStepper: the ReferenceStepper's per-sample SDLM loop. The C code reads and writes the model's
own parameter tensors through their data pointers (re-read at every run(), so a load_state_dict in
between is seen), so there is nothing to copy back, as for the reference.

FastBatchGrad: the same forward/backward with the weights held fixed, each sample's gradient
summed into buffers; the minibatch optimizers (Adam, SGD) then step from .grad as usual.
"""

from __future__ import annotations

import ctypes
from concurrent.futures import ThreadPoolExecutor

import torch

from ..core.model import LeNet5
from ..paper import INPUT_SIDE
from . import build
from .abi import ACT, HEAD, LOSS, POOL, SLOTS, opts

RUNNING = ("mse", "map", "cross_entropy", "edist")  # lenet5_curv.h: these losses, each with its own head


def fast_supported(model, cfg, per_sample: bool = True) -> str | None:
    """None when the fast path covers this model, config and device; else the reason it does not.

    per_sample: the SDLM stepper (optimizer=sdlm, batch_size=1); else FastBatchGrad, which serves
    any minibatch optimizer (the gradient is the same C code's, the update torch's).
    """
    if not isinstance(model, LeNet5):
        return f"the fast path implements LeNet5 only (got {type(model).__name__})"
    t, m = cfg.train, model.cfg
    if per_sample and (t.optimizer != "sdlm" or t.batch_size != 1):
        return "the fast path implements per-sample SDLM (optimizer=sdlm, batch_size=1) only"
    if per_sample and t.sdlm.hessian == "running" and (m.pooling == "avg" or t.loss not in RUNNING):
        return (
            f"hessian=running in lenet5_curv.h: {', '.join(RUNNING)} losses (each with its head), "
            "no avg pooling"
        )
    if m.activation not in ACT or m.pooling not in POOL or m.head not in HEAD or t.loss not in LOSS:
        return (
            "model/loss switch not implemented in the fast path "
            f"({m.activation}, {m.pooling}, {m.head}, {t.loss})"
        )
    if m.input_size < INPUT_SIDE or (m.input_size - INPUT_SIDE) % 4:
        return f"input_size {m.input_size} is not {INPUT_SIDE} + 4k"
    why = check_tensors(model)
    if why:
        return why
    if not (bool((model.C1.mask == 1).all()) and bool((model.C5.mask == 1).all())):
        return "C1/C5 connection masks are not all ones"
    return build.unavailable(m.input_size)  # off, no compiler, or it does not compile here


def check_tensors(model) -> str | None:
    """None when every parameter and buffer is a contiguous float32 CPU tensor (or an index), else why not."""
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if tensor.device.type != "cpu":
            return f"the fast path runs on the CPU ({name} is on {tensor.device})"
        if tensor.is_floating_point() and tensor.dtype != torch.float32:  # (C3.slot is an index)
            return f"the fast path is float32 only ({name} is {tensor.dtype})"
        if not tensor.is_contiguous():
            return f"{name} is not contiguous"
    return None


def checked_inputs(x, y, idx, side: int):
    """Checked CPU float32 inputs for the C code, gathered when x is not usable in place."""
    idx = idx.to("cpu", torch.int64).contiguous()
    if x.shape[1:] != (1, side, side):
        raise ValueError(f"expected inputs [N,1,{side},{side}], got {tuple(x.shape)}")
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(x)):
        raise IndexError("sample index out of range")
    if x.dtype != torch.float32 or not x.is_contiguous() or x.device.type != "cpu":
        x, y, idx = x[idx].to("cpu", torch.float32).contiguous(), y[idx], torch.arange(len(idx))
    return x, y.to("cpu", torch.int64).contiguous(), idx


def checked_rates(model, names, rates: dict) -> dict:
    """eps_k for every parameter: float32 CPU copies of the parameters' shapes, which the caller keeps
    alive while the C code reads them."""
    params, out = dict(model.named_parameters()), {}
    for n in names:
        r = rates[n].detach().to("cpu", torch.float32).contiguous()
        if r.shape != params[n].shape:
            raise ValueError(f"rate for {n} has shape {tuple(r.shape)}, parameter {tuple(params[n].shape)}")
        out[n] = r
    return out


class _Fast:
    """What both fast paths share: the compiled library, the switches, argument checks, one call."""

    def __init__(self, model, loss: str, map_j: float):
        self.model, self.loss, self.map_j = model, loss, float(map_j)
        c = model.cfg
        self.lib = build.load(c.input_size)  # compiles on first use: RuntimeError if it cannot
        self.side = c.input_size
        self.opts = opts(
            c.activation,
            c.pooling,
            c.head,
            loss,
            float(model.S2.k) if c.pooling == "subsample" else 0.0,
            self.map_j,
        )
        self.names = [n for n, _ in model.named_parameters()]

    @staticmethod
    def _pointers(tensors: dict) -> ctypes.Array:
        return (ctypes.c_void_p * len(SLOTS))(
            *[tensors[s].data_ptr() if s in tensors else None for s in SLOTS]
        )

    def _inputs(self, x, y, idx):
        return checked_inputs(x, y, idx, self.side)

    def _weights(self) -> dict:
        """The tensors the C code reads, by slot (re-read each call: load_state_dict is seen)."""
        model = self.model
        tensors = dict(model.named_parameters())
        tensors["C3.mask"] = model.C3.mask
        tensors.update(model.head.fast_slots(model.F7))  # the RBF's fixed centres in F7's weight slot
        return tensors

    def _run(self, P, D, R, x, y, idx) -> tuple[int, float]:
        errors, loss_sum = ctypes.c_int64(0), ctypes.c_double(0.0)
        rc = self.lib.lenet5_run(
            P,
            D,
            R,
            ctypes.byref(self.opts),
            x.data_ptr(),
            y.data_ptr(),
            idx.data_ptr(),
            len(idx),
            ctypes.byref(errors),
            ctypes.byref(loss_sum),
        )
        return self._checked(rc, errors, loss_sum)

    @staticmethod
    def _checked(rc: int, errors, loss_sum) -> tuple[int, float]:
        if rc == -2:
            raise RuntimeError("lenet5_run: options struct of another ABI version")
        if rc != 0:
            raise MemoryError("lenet5_run could not allocate its work area")
        return int(errors.value), float(loss_sum.value)


class FastStepper(_Fast):
    """Same interface and results (within float32 rounding) as steppers.ReferenceStepper."""

    name = "fast"

    def __init__(self, model, loss: str, map_j: float):
        super().__init__(model, loss, map_j)
        self.rates = None
        self.sigma = None  # hessian=running: the running h_kk, by parameter (as the reference's)

    def set_rates(self, rates: dict) -> None:
        self.rates = checked_rates(self.model, self.names, rates)

    def set_running(self, hess: dict, eta: float, mu: float, gamma: float) -> None:
        """The reference's running average (SN2.8), per pattern in lenet5_run_running: sigma starts
        from hess; each pattern's rates eta / (mu + |sigma|) are written into self.rates."""
        # float32 copies (clone: checked_rates hands back a float32 CPU tensor itself, which C would
        # overwrite)
        self.sigma = {n: v.clone() for n, v in checked_rates(self.model, self.names, hess).items()}
        if self.rates is None:
            self.rates = {n: torch.empty_like(v) for n, v in self.sigma.items()}
        params = dict(self.model.named_parameters())
        self.scratch = [{n: torch.empty_like(p) for n, p in params.items()} for _ in range(2)]  # Q, H
        self.scratch.append({n: torch.full_like(p, -1.0) for n, p in params.items()})  # M: a plain sum
        self.sizes = (ctypes.c_int64 * len(SLOTS))(*[params[s].numel() if s in params else 0 for s in SLOTS])
        self.hyper = (ctypes.c_float * 4)(eta, mu, gamma, 1.0 - gamma)

    def running_hessian(self) -> dict:
        return {n: v.clone() for n, v in self.sigma.items()}

    def run(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[int, float]:
        if self.rates is None:
            raise RuntimeError("set_rates() must be called before run()")
        x, y, idx = self._inputs(x, y, idx)
        if len(idx) == 0:
            return 0, 0.0
        P = self._pointers(self._weights())
        with torch.no_grad():  # D == P: every sample updates the weights in place
            if self.sigma is None:
                return self._run(P, P, self._pointers(self.rates), x, y, idx)
            errors, loss_sum = ctypes.c_int64(0), ctypes.c_double(0.0)
            Q, H, M = (self._pointers(d) for d in self.scratch)
            rc = self.lib.lenet5_run_running(
                P,
                self._pointers(self.rates),
                self._pointers(self.sigma),
                Q,
                H,
                M,
                self.sizes,
                self.hyper,
                ctypes.byref(self.opts),
                x.data_ptr(),
                y.data_ptr(),
                idx.data_ptr(),
                len(idx),
                ctypes.byref(errors),
                ctypes.byref(loss_sum),
            )
            return self._checked(rc, errors, loss_sum)


class FastBatchGrad(_Fast):
    """The minibatch gradient by the same C code: mean over the batch of dE_p/dw, written into each
    parameter's .grad (as loss_fn(...).mean().backward() would), for any torch optimizer to apply.

    The batch is split into `threads` contiguous parts, one C call each on its own accumulators
    (ctypes releases the GIL), summed in a fixed order: the result does not depend on timing.
    """

    name = "fast"

    def __init__(self, model, loss: str, map_j: float, threads: int = 1):
        super().__init__(model, loss, map_j)
        self.threads = max(1, int(threads))
        params = dict(model.named_parameters())
        self.minus_one = {n: torch.full_like(p, -1.0) for n, p in params.items()}  # D -= (-1) g: a sum
        self.acc = [{n: torch.zeros_like(p) for n, p in params.items()} for _ in range(self.threads)]
        self.acc_ptrs = [self._pointers(acc) for acc in self.acc]  # these buffers live as long as self
        self.minus_one_ptrs = self._pointers(self.minus_one)
        self.pool = None
        if self.threads > 1:
            self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="lenet5")

    def __call__(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[int, float]:
        """Set p.grad for the batch x[idx]; returns (errors, summed loss) scored before any update."""
        x, y, idx = self._inputs(x, y, idx)
        n = len(idx)
        if n == 0:
            raise ValueError("empty batch")
        P = self._pointers(self._weights())
        parts = [p for p in idx.tensor_split(min(self.threads, n)) if len(p)]

        def work(k):
            for a in self.acc[k].values():
                a.zero_()
            return self._run(P, self.acc_ptrs[k], self.minus_one_ptrs, x, y, parts[k].contiguous())

        with torch.no_grad():
            res = (
                list(self.pool.map(work, range(len(parts))))
                if self.pool and len(parts) > 1
                else [work(k) for k in range(len(parts))]
            )
            for name, p in self.model.named_parameters():
                g = self.acc[0][name]  # becomes p.grad: rewritten (not accumulated) by the next call
                for k in range(1, len(parts)):
                    g += self.acc[k][name]
                p.grad = g.div_(n)
        return sum(e for e, _ in res), sum(loss for _, loss in res)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
