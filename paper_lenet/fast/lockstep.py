"""K LeNet-5 models stepped together by lockstep.c: the per-sample SDLM steps of several seeds of one
configuration in one call, lane k of every vector holding model k's value.

Each model keeps its own weights, rates, running h_kk, training images and sample order: the maths of
every lane is FastStepper's (lenet5.c), up to summation order. The models' own tensors stay the
truth: each run() packs them into model-minor buffers (value i of lane k at [i, k]), runs, and
unpacks the weights (and running h_kk) back, so a checkpoint or a load_state_dict in between is
always of the model itself. A run may step any subset of the models (a resumed seed catching up
with the others): the library's K lanes not in use step a copy of a lane that is, and are dropped.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import torch

from . import build
from .abi import SLOTS, opts
from .stepper import checked_inputs, checked_rates

LANES_ENV = "PAPER_LENET_LANES"  # overrides default_lanes(): the most models one lockstep call steps
MAX_LANES = 16


def default_lanes() -> int:
    """The most models per lockstep call on this machine: 8 with AVX (one 256-bit register of float32),
    else 4 (SSE2, NEON); $PAPER_LENET_LANES overrides it. Not 16 on AVX-512: measured on a Zen 4 core
    (benchmarks/README.md), 16 lanes step slower per model than 8: its 512-bit FMAs do no more work
    per cycle, and 16 models' dense weights stream from L3 at twice the bytes per step."""
    env = os.environ.get(LANES_ENV, "").strip()
    if env:
        if env not in ("1", "2", "4", "8", "16"):
            raise ValueError(f"{LANES_ENV}={env!r}: expected 1, 2, 4, 8 or 16")
        return int(env)
    try:
        flags = next(
            (line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), ""
        ).split()
    except OSError:
        flags = []
    return 8 if "avx" in flags else 4


def lanes_for(n: int) -> int:
    """The library width for n models: the smallest power of two >= n (vector types need one), and at
    least 4 (a 128-bit vector: narrower ones are emulated, measured 2-8x slower per model)."""
    if not 1 <= n <= MAX_LANES:
        raise ValueError(f"{n} models in one lockstep call: expected 1..{MAX_LANES}")
    return max(4, 1 << (n - 1).bit_length())


class LockstepStepper:
    """Per-sample SDLM for models[0..n-1] (same architecture, loss and switches), stepped together."""

    name = "lockstep"

    def __init__(self, models, loss: str, map_j: float, lanes: int | None = None):
        self.models = list(models)
        self.K = lanes or lanes_for(len(self.models))
        if self.K < len(self.models) or self.K & (self.K - 1):
            raise ValueError(f"lanes={self.K} for {len(self.models)} models: a power of two >= the models")
        c = self.models[0].cfg
        if any(m.cfg != c for m in self.models):
            raise ValueError("lockstep models must share one model config")
        self.lib = build.load(c.input_size, "lockstep", self.K)
        self.side = c.input_size
        self.opts = opts(
            c.activation,
            c.pooling,
            c.head,
            loss,
            float(self.models[0].S2.k) if c.pooling == "subsample" else 0.0,
            float(map_j),
        )
        self.names = [n for n, _ in self.models[0].named_parameters()]
        n = len(self.models)
        self.rates, self.sigma, self.hyper = [None] * n, [None] * n, [None] * n

    def set_rates(self, k: int, rates: dict) -> None:
        self.rates[k] = checked_rates(self.models[k], self.names, rates)

    def set_running(self, k: int, hess: dict, eta: float, mu: float, gamma: float) -> None:
        """Model k's running h_kk from hess (FastStepper.set_running)."""
        self.sigma[k] = {n: v.clone() for n, v in checked_rates(self.models[k], self.names, hess).items()}
        if self.rates[k] is None:
            self.rates[k] = {n: torch.empty_like(v) for n, v in self.sigma[k].items()}
        self.hyper[k] = (float(eta), float(mu), float(gamma))

    def running_hessian(self, k: int) -> dict:
        return {n: v.clone() for n, v in self.sigma[k].items()}

    def _slots(self, k: int) -> dict:
        m = self.models[k]
        t = dict(m.named_parameters())
        t["C3.mask"] = m.C3.mask
        t.update(m.head.fast_slots(m.F7))
        return t

    def _pack(self, per_lane: list) -> dict:
        """{slot: (numel, K) float32} from one {slot: tensor} per lane (the first repeated into the spare
        lanes)."""
        per_lane = per_lane + [per_lane[0]] * (self.K - len(per_lane))
        return {
            s: torch.stack([d[s].detach().reshape(-1).float() for d in per_lane], 1).contiguous()
            for s in per_lane[0]
        }

    @staticmethod
    def _pointers(packed: dict) -> ctypes.Array:
        return (ctypes.c_void_p * len(SLOTS))(*[packed[s].data_ptr() if s in packed else None for s in SLOTS])

    def run(self, lanes, xs, ys, idxs) -> list[tuple[int, float]]:
        """Models `lanes` (indices into models, at most K) each take len(idxs[0]) steps, model
        lanes[j] on xs[j][idxs[j]] (its own images, labels and order); returns each one's
        (on-the-fly errors, summed loss), as FastStepper.run."""
        lanes = list(lanes)
        if not 1 <= len(lanes) <= self.K or len(set(lanes)) != len(lanes):
            raise ValueError(f"lanes {lanes}: 1..{self.K} distinct models")
        if any(self.rates[k] is None for k in lanes):
            raise RuntimeError("set_rates() must be called before run()")
        running = [self.sigma[k] is not None for k in lanes]
        if any(running) and (not all(running) or len({self.hyper[k] for k in lanes}) > 1):
            raise ValueError("lockstep lanes with hessian=running must share eta, mu and gamma")
        inputs = [checked_inputs(x, y, i, self.side) for x, y, i in zip(xs, ys, idxs, strict=False)]
        n = len(inputs[0][2])
        if any(len(i) != n for _, _, i in inputs):
            raise ValueError("every lane takes the same number of steps")
        if n == 0:
            return [(0, 0.0)] * len(lanes)
        inputs += [inputs[0]] * (self.K - len(lanes))
        P = self._pack([self._slots(k) for k in lanes])
        R = self._pack([self.rates[k] for k in lanes])
        X = (ctypes.c_void_p * self.K)(*[x.data_ptr() for x, _, _ in inputs])
        Y = (ctypes.c_void_p * self.K)(*[y.data_ptr() for _, y, _ in inputs])
        idx = torch.stack([i for _, _, i in inputs], 1).contiguous()
        errors, loss_sum = (ctypes.c_int64 * self.K)(), (ctypes.c_double * self.K)()
        S = Q = H = M = sizes = hyper = None
        if running[0]:
            Sd = self._pack([self.sigma[k] for k in lanes])
            S = self._pointers(Sd)
            scratch = [{s: torch.empty_like(v) for s, v in Sd.items()} for _ in range(2)]  # Q, H
            scratch.append({s: torch.full_like(v, -1.0) for s, v in Sd.items()})  # M: a plain sum
            Q, H, M = (self._pointers(d) for d in scratch)  # scratch stays alive through the call
            params = dict(self.models[lanes[0]].named_parameters())
            sizes = (ctypes.c_int64 * len(SLOTS))(*[params[s].numel() if s in params else 0 for s in SLOTS])
            eta, mu, gamma = self.hyper[lanes[0]]
            hyper = (ctypes.c_float * 4)(eta, mu, gamma, 1.0 - gamma)
        rc = self.lib.lockstep_run(
            self._pointers(P),
            self._pointers(R),
            S,
            Q,
            H,
            M,
            sizes,
            hyper,
            ctypes.byref(self.opts),
            X,
            Y,
            idx.data_ptr(),
            n,
            errors,
            loss_sum,
        )
        if rc == -2:
            raise RuntimeError("lockstep_run: options struct of another ABI version")
        if rc != 0:
            raise MemoryError("lockstep_run could not allocate its work area")
        with torch.no_grad():
            for j, k in enumerate(lanes):
                for name, p in self.models[k].named_parameters():
                    p.copy_(P[name][:, j].view_as(p))
                if running[0]:
                    for name, v in self.sigma[k].items():
                        v.copy_(Sd[name][:, j].view_as(v))
                        self.rates[k][name].copy_(R[name][:, j].view_as(v))
        return [(int(errors[j]), float(loss_sum[j])) for j in range(len(lanes))]


class LaneStepper:
    """Model k of a LockstepStepper behind FastStepper's interface (set_rates, set_running,
    running_hessian; run() steps this model alone), for the Trainer that owns it."""

    name = "lockstep"

    def __init__(self, lockstep: LockstepStepper, k: int):
        self.lockstep, self.k = lockstep, k

    def set_rates(self, rates: dict) -> None:
        self.lockstep.set_rates(self.k, rates)

    def set_running(self, hess: dict, eta: float, mu: float, gamma: float) -> None:
        self.lockstep.set_running(self.k, hess, eta, mu, gamma)

    def running_hessian(self) -> dict:
        return self.lockstep.running_hessian(self.k)

    def run(self, x, y, idx) -> tuple[int, float]:
        return self.lockstep.run([self.k], [x], [y], [idx])[0]
