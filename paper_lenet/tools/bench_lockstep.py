"""`paper-lenet bench`'s seeds-in-lockstep part: model-steps per second of K models stepped together
(fast/lockstep.c) for K = 1 (today's single-model path, FastStepper) and 2, 4, 8, 16, on one thread,
the useful GFLOP/s of each, and this core's FMA peak measured by a small loop in the same run.

Useful flops of one model-step: 2 per multiply-add of the forward pass, the input gradients (not
C1's) and the weight gradients, plus 2 per weight update (lockstep_flops); pooling, squashing and
the heads are left out, so the fraction of peak is a lower bound on the busy part's. Every time here
is the thread's CPU time (time.thread_time), steps and FMA loop alike: on a shared machine the
process's share of the core drops out of the ratios (cache contention from the others does not).
"""

from __future__ import annotations

import copy
import statistics
import time

import torch

from ..core.heads import head
from ..core.model import build_model
from ..core.sdlm import curvature, sdlm_rates
from ..fast import FastStepper, build
from ..fast.lockstep import LockstepStepper
from ..training.train import CHUNK as TRAIN_CHUNK

LANES = (1, 2, 4, 8, 16)
CHUNK = TRAIN_CHUNK  # steps per stepper call, as training makes them (a lockstep call packs its models first)
FMA_ROUNDS = 20_000_000  # lockstep_fma_peak rounds: ~0.1 s at 16 lanes


def lockstep_flops(cfg) -> int:
    """Useful flops of one per-sample SDLM step of cfg's LeNet-5 (see the module docstring)."""
    m = cfg.model
    h1 = m.input_size - 4
    h3 = h1 // 2 - 4
    h5 = h3 // 2 - 4
    c3 = 60 if m.c3 == "table" else 96  # connected C3 kernels (Table I)
    c1, c3m, c5, f6 = h1 * h1 * 6 * 25, h3 * h3 * c3 * 25, h5 * h5 * 120 * 16 * 25, h5 * h5 * 120 * 84
    f7 = 840  # the RBF distances or the linear head: 84 x 10
    macs = 2 * c1 + 3 * c3m + 3 * c5 + 3 * f6 + 2 * f7
    weights = (
        6 * 26
        + 12
        + c3 * 25
        + 16
        + 32
        + 120 * (16 * 25 + 1)
        + 84 * 121
        + (850 if head(m.head).trainable else 0)
    )
    return 2 * (macs + weights)


def fma_peak_gflops(lanes=(8, 16)) -> dict:
    """GFLOP/s of 12 independent chains of lane-vector FMAs (lockstep_fma_peak), per library width:
    the most this core's vector unit does, with the same compiler and flags as the kernel."""
    out = {}
    for k in lanes:
        lib = build.load(32, "lockstep", k)
        lib.lockstep_fma_peak(FMA_ROUNDS // 10)  # warm-up (clock ramp)
        best = 0.0
        for _ in range(3):
            t0 = time.thread_time()
            lib.lockstep_fma_peak(FMA_ROUNDS)
            best = max(best, 2 * 12 * k * FMA_ROUNDS / (time.thread_time() - t0) / 1e9)
        out[k] = round(best, 1)
    return out


def _median_step_s(run, chunks) -> float:
    times = []
    for i, c in enumerate(chunks):
        t0 = time.thread_time()
        run(c)
        if i > 0:  # the first chunk is warm-up
            times.append((time.thread_time() - t0) / len(c[0]))
    return statistics.median(times)


def lockstep_steps(cfg, data, steps: int) -> dict:
    """{K: model-steps/s}: K models (seeds 0..K-1, each its own init and sample order) stepped together
    in calls of CHUNK steps (max(2, steps // CHUNK) timed after one warm-up); K = 1 is FastStepper."""
    steps = max(2, steps // CHUNK) * CHUNK
    x, y = data.train_x, data.train_y
    base = build_model(cfg.model, seed=0)
    rates = sdlm_rates(
        base,
        curvature(base, x[:500], y[:500], cfg.train.loss, cfg.train.map_j),
        cfg.train.sdlm.eta[0][1],
        cfg.train.sdlm.mu,
    )
    out = {}
    for k in LANES:
        models = [build_model(cfg.model, seed=s) for s in range(k)]
        orders = [
            torch.randperm(len(y), generator=torch.Generator().manual_seed(s))[: steps + CHUNK]
            for s in range(k)
        ]
        chunks = [[o[i : i + CHUNK] for o in orders] for i in range(0, steps + CHUNK, CHUNK)]
        if k == 1:
            s = FastStepper(copy.deepcopy(models[0]), cfg.train.loss, cfg.train.map_j)
            s.set_rates(rates)
            dt = _median_step_s(lambda c, s=s: s.run(x, y, c[0]), chunks)
        else:
            ls = LockstepStepper(models, cfg.train.loss, cfg.train.map_j, lanes=k)
            for j in range(k):
                ls.set_rates(j, rates)
            dt = _median_step_s(lambda c, ls=ls, k=k: ls.run(range(k), [x] * k, [y] * k, c), chunks)
        out[k] = round(k / dt)
    return out


def bench_lockstep(cfg, data, steps: int) -> dict:
    """The lockstep figures of `paper-lenet bench`: model-steps/s and GFLOP/s per K, the FMA peak,
    and the best K's speed-up over K = 1 and fraction of peak."""
    torch.set_num_threads(1)
    flops = lockstep_flops(cfg)
    peak = fma_peak_gflops()
    rate = lockstep_steps(cfg, data, steps)
    gflops = {k: round(r * flops / 1e9, 1) for k, r in rate.items()}
    best = max(rate, key=rate.get)
    return {
        "model_steps_per_s": rate,
        "gflops": gflops,
        "flops_per_model_step": flops,
        "fma_peak_gflops": peak,
        "best_lanes": best,
        "speedup_best": round(rate[best] / rate[1], 2),
        "peak_fraction_best": round(gflops[best] / max(peak.values()), 3),
    }


def table(res: dict) -> list[str]:
    r, g = res["model_steps_per_s"], res["gflops"]
    peak = max(res["fma_peak_gflops"].values())
    rows = [
        (
            f"seeds in lockstep, 1 thread ({res['flops_per_model_step'] / 1e6:.2f} Mflop a model-step; "
            f"FMA peak {peak:.1f} GFLOP/s)"
        ),
        f"{'K':>4s} {'model-steps/s':>14s} {'GFLOP/s':>8s} {'of peak':>8s} {'vs K=1':>7s}",
    ]
    for k in r:
        rows.append(f"{k:4d} {r[k]:14,d} {g[k]:8.1f} {100 * g[k] / peak:7.1f}% {r[k] / r[1]:6.2f}x")
    return rows
