"""`paper-lenet bench`: how long training and evaluation take on this machine, on real MNIST.

Per-sample SDLM steps (the paper's training) are timed on one thread, reference autograd loop
against the compiled fast path, from the same initialisation over the same samples: the median
per-step time over chunks of steps, after a warm-up. Also: the ablation variants, the comparison's
nets of Fig. 9 (seqnet.c), one modern
minibatch epoch (compiled gradients and autograd), evaluation throughput, the curvature (h_kk) estimate, and
from these a
projection of the whole configs/lenet5_1998.yaml run.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ..config import load_config
from ..core.model import build_model
from ..core.registry import method
from ..core.sdlm import curvature, sdlm_rates
from ..data.mnist import load_mnist
from ..fast import build
from ..training.evaluate import evaluate
from ..training.schedule import hessian_due, pass_order
from ..training.steppers import ReferenceStepper, make_batch_grad
from ..training.train import minibatch_step
from .bench_lockstep import bench_lockstep
from .bench_lockstep import table as lockstep_table

CHUNK = 50  # steps per timed chunk: long enough for the clock, short enough for a robust median
VARIANTS = {  # one switch away from the paper's model each
    "relu": ["model.activation=relu"],
    "max_pool": ["model.pooling=max"],
    "c3_full": ["model.c3=full"],
    "linear_ce": ["model.head=linear", "train.loss=cross_entropy"],
    "subsample_average": ["model.subsample_mode=average"],
    "map_loss": ["train.loss=map"],
    "running_hkk": ["train.sdlm.hessian=running"],  # SN2.8's h_kk: a curvature pass per step (lenet5_curv.h)
}


def _config(name="lenet5_1998", overrides=()):
    return load_config(name, overrides)  # the shipped config: bench runs from an installed wheel too


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _steps_us(stepper, x, y, idx) -> float:
    """Median microseconds per step over chunks of CHUNK steps (the first chunk is warm-up)."""
    times = []
    for i, chunk in enumerate(idx.split(CHUNK)):
        t0 = time.perf_counter()
        stepper.run(x, y, chunk)
        if i > 0:
            times.append((time.perf_counter() - t0) / len(chunk) * 1e6)
    return statistics.median(times)


def _step_times(cfg, data, steps: int, rates_from: int = 500) -> dict:
    """Reference and fast per-step time for one config, from the same init and samples."""
    ref = build_model(cfg.model, seed=cfg.seed)
    fast = copy.deepcopy(ref)
    x, y = data.train_x, data.train_y
    hess = curvature(ref, x[:rates_from], y[:rates_from], cfg.train.loss, cfg.train.map_j)
    rates = sdlm_rates(ref, hess, cfg.train.sdlm.eta[0][1], cfg.train.sdlm.mu)
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[: steps + CHUNK]
    out = {}
    supported, fast_stepper = method(cfg.model.arch).fast  # lenet5.c, or seqnet.c for the comparison's nets
    why = supported(fast, cfg)
    if why is not None:
        raise RuntimeError(f"bench needs the fast path: {why}")
    for name, stepper in (
        ("reference", ReferenceStepper(ref, cfg.train.loss, cfg.train.map_j)),
        ("fast", fast_stepper(fast, cfg.train.loss, cfg.train.map_j)),
    ):
        stepper.set_rates(rates)
        if cfg.train.sdlm.hessian == "running":
            stepper.set_running(hess, cfg.train.sdlm.eta[0][1], cfg.train.sdlm.mu, cfg.train.sdlm.gamma)
        out[name] = round(_steps_us(stepper, x, y, idx), 2)
    return {"per_sample_step_us": out, "speedup": round(out["reference"] / out["fast"], 2)}


FIG9_NETS = ("lenet1", "lenet4", "mlp-300", "mlp-1000")  # configs/fig9/: the comparison's nets, by size


def _fig9_step_times(steps: int) -> dict:
    """Per-step times of the comparison's nets (seqnet.c against autograd) and each one's training
    steps per run (passes x 60,000 steps, fast path; evaluation and h_kk not included)."""

    out = {}
    for name in FIG9_NETS:
        cfg = _config(f"fig9/{name}")
        data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
        t = _step_times(cfg, data, steps)
        t["run_steps_min"] = round(
            cfg.train.epochs * cfg.data.train_size * t["per_sample_step_us"]["fast"] * 1e-6 / 60, 1
        )
        out[name] = t
    return out


def _fresh_build_s(input_size: int) -> float:
    """Seconds for a cold compile of the fast path (into a throw-away cache)."""

    old = os.environ.get("PAPER_LENET_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PAPER_LENET_CACHE"] = tmp
        try:
            t0 = time.perf_counter()
            build.build(input_size)
            return round(time.perf_counter() - t0, 2)
        finally:
            if old is None:
                os.environ.pop("PAPER_LENET_CACHE", None)
            else:
                os.environ["PAPER_LENET_CACHE"] = old


def _minibatch_epoch_s(threads: int, fast: bool) -> float:
    """One epoch of configs/modern.yaml: batch-128 Adam over the 60,000 training images, with the
    compiled gradients (train.fast=auto picks them) or autograd (train.fast=off)."""

    cfg = _config("modern", [f"train.fast={'on' if fast else 'off'}"])
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=lambda *_: None)
    model = build_model(cfg.model, seed=cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    order = pass_order(cfg, len(data.train_y), 1)
    grad = make_batch_grad(model, cfg, threads)
    torch.set_num_threads(1 if grad is not None else threads)  # as train() does
    t0 = time.perf_counter()
    for i in range(0, len(order), cfg.train.batch_size):
        minibatch_step(model, opt, data.train_x, data.train_y, order[i : i + cfg.train.batch_size], cfg, grad)
    dt = round(time.perf_counter() - t0, 1)
    if grad is not None:
        grad.close()
    return dt


def _eval_images_per_s(model, data, cfg, threads: int) -> float:

    torch.set_num_threads(threads)
    evaluate(model, data.test_x[:1000], data.test_y[:1000], cfg.train.loss)  # warm-up
    t0 = time.perf_counter()
    evaluate(model, data.test_x, data.test_y, cfg.train.loss, cfg.train.map_j, cfg.train.eval_batch_size)
    return round(len(data.test_y) / (time.perf_counter() - t0))


def _curvature_s(model, data, cfg) -> float:

    n = cfg.train.sdlm.hessian_samples
    t0 = time.perf_counter()
    curvature(model, data.train_x[:n], data.train_y[:n], cfg.train.loss, cfg.train.map_j)
    return round(time.perf_counter() - t0, 3)


def bench(steps: int = 2000, log=print, only_lockstep: bool = False) -> dict:

    default_threads = torch.get_num_threads()
    res = {"machine": _machine()}
    cfg = _config()
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed, log=log)
    torch.set_num_threads(1)  # the per-sample path's setting (train.threads=0 with batch 1)
    log("timing seeds in lockstep (K = 1, 2, 4, 8, 16) and the FMA peak ...")
    res["lockstep"] = bench_lockstep(cfg, data, steps)
    if only_lockstep:
        torch.set_num_threads(default_threads)
        return res
    log("timing a cold build of the fast path ...")
    res["fast_build_s"] = _fresh_build_s(cfg.model.input_size)
    log(f"timing {steps} per-sample SDLM steps, reference and fast ...")
    res.update(_step_times(cfg, data, steps))
    res["variants"] = {}
    for name, over in VARIANTS.items():
        log(f"  variant {name} ...")
        res["variants"][name] = _step_times(_config(overrides=over), data, max(steps // 4, 2 * CHUNK))
    log("  the comparison's nets (configs/fig9/) ...")
    res["fig9"] = _fig9_step_times(max(steps // 4, 2 * CHUNK))
    model = build_model(cfg.model, seed=cfg.seed)
    res["curvature_s"] = _curvature_s(model, data, cfg)
    res["eval_images_per_s"] = _eval_images_per_s(model, data, cfg, default_threads)
    res["eval_images_per_s_1thread"] = _eval_images_per_s(model, data, cfg, 1)
    log("timing one minibatch epoch of configs/modern.yaml ...")
    res["minibatch_epoch_s"] = _minibatch_epoch_s(default_threads, fast=True)
    res["minibatch_epoch_s_1thread"] = _minibatch_epoch_s(
        1, fast=True
    )  # a busy shared core slows 2 threads most
    res["minibatch_epoch_s_autograd"] = _minibatch_epoch_s(default_threads, fast=False)
    torch.set_num_threads(default_threads)
    res["projected_lenet5_1998_s"] = projection(res, cfg)
    res["projected_passes"] = cfg.train.epochs
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return res


def projection(res: dict, cfg) -> dict:
    """The whole paper run from the measured parts: each pass is 60,000 steps and the evaluation of
    the test set (plus the full training set when the config sets train.full_train_eval), on one
    thread as train sets it for batch 1, plus the h_kk estimates the config's schedule makes (each
    scaled from the measured 500-sample one to its hessian_samples)."""

    n, passes = cfg.data.train_size, cfg.train.epochs
    step = res["per_sample_step_us"]
    ev = (10000 + (n if cfg.train.full_train_eval else 0)) / res["eval_images_per_s_1thread"]
    estimates = sum(hessian_due(cfg, e) for e in range(1, passes + 1))
    h = estimates * res["curvature_s"] * cfg.train.sdlm.hessian_samples / 500
    return {k: round(passes * (n * us * 1e-6 + ev) + h) for k, us in step.items()}


def _table(res: dict) -> str:
    if "per_sample_step_us" not in res:  # --lockstep: that part only
        return "\n".join(
            [f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores", ""]
            + lockstep_table(res["lockstep"])
        )
    m, st = res["machine"], res["per_sample_step_us"]
    rows = [
        f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads)",
        f"fast path cold build: {res['fast_build_s']:.1f} s",
        "",
        f"{'per-sample SDLM step (1 thread)':34s} {'reference us':>13s} {'fast us':>9s} {'speedup':>8s}",
        f"{'paper (lenet5_1998)':34s} {st['reference']:13.1f} {st['fast']:9.1f} {res['speedup']:7.1f}x",
    ]
    for name, v in res["variants"].items():
        s = v["per_sample_step_us"]
        rows.append(f"{'  ' + name:34s} {s['reference']:13.1f} {s['fast']:9.1f} {v['speedup']:7.1f}x")
    rows.append(f"{'Fig. 9 nets (seqnet.c)':34s} {'':13s} {'':9s} {'':8s}  steps of a run, fast")
    for name, v in res["fig9"].items():
        s = v["per_sample_step_us"]
        rows.append(
            f"{'  fig9/' + name:34s} {s['reference']:13.1f} {s['fast']:9.1f} {v['speedup']:7.1f}x  "
            f"{v['run_steps_min']:.1f} min"
        )
    p = res["projected_lenet5_1998_s"]
    rows += [
        "",
        f"h_kk estimate (500 samples): {res['curvature_s']:.2f} s",
        f"evaluation: {res['eval_images_per_s']:,} images/s ({res['eval_images_per_s_1thread']:,} on 1 "
        f"thread)",
        f"modern minibatch epoch (batch 128 Adam, 60,000 images): fast {res['minibatch_epoch_s']:.1f} s "
        f"({res['minibatch_epoch_s_1thread']:.1f} s on 1 thread), autograd "
        f"{res['minibatch_epoch_s_autograd']:.1f} s",
        f"projected lenet5_1998 run ({res['projected_passes']} passes): fast {p['fast'] / 60:.0f} min, "
        f"reference {p['reference'] / 3600:.1f} h",
        f"peak RSS: {res['peak_rss_mb']:.0f} MB",
        "",
    ] + lockstep_table(res["lockstep"])
    return "\n".join(rows)


def run_bench(as_json: bool = False, steps: int = 2000, only_lockstep: bool = False) -> dict:
    quiet = (lambda *_: None) if as_json else print
    res = bench(steps, log=quiet, only_lockstep=only_lockstep)
    print(json.dumps(res, indent=2) if as_json else _table(res))
    return res
