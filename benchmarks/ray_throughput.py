"""Runs per hour with the process backend and with Ray (1 and 2 workers), and Ray's per-task cost.

    python benchmarks/ray_throughput.py [--runs 4] [--json]

Workload: `--runs` short runs of configs/lenet5_1998.yaml (one pass over 5,000 images: the same
per-sample SDLM as a full run, ~10x shorter), seeds 0..runs-1, into throw-away folders. Each
backend's wall clock covers everything a user waits for (Ray's start included). Per-task overhead
= (Ray wall with 1 worker - process wall with 1 job) / runs. Run it on an otherwise idle machine:
Ray's workers run at niceness 15 and yield to any other job.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from paper_lenet.study import cluster
from paper_lenet.study.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = ("data.train_size=5000", "train.epochs=1")  # sweep and run_set_ray add train.threads=1


def timed(fn) -> float:
    t0 = time.time()
    assert fn() == 0, "a run failed"
    return time.time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    config = ROOT / "configs" / "lenet5_1998.yaml"
    pairs = [(config, s) for s in range(a.runs)]
    res = {"runs": a.runs, "workload": " ".join(WORKLOAD)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in (1, 2):
            res[f"process_{jobs}_s"] = timed(
                lambda jobs=jobs: sweep(
                    [str(config)],
                    WORKLOAD,
                    list(range(a.runs)),
                    tmp / f"p{jobs}",
                    jobs=jobs,
                    log=lambda *_: None,
                )
            )
        for workers in (1, 2):
            import ray

            real_init = ray.init
            # workers = CPUs Ray may use
            ray.init = lambda *x, _init=real_init, _cpus=workers, **k: _init(*x, **dict(k, num_cpus=_cpus))
            try:
                res[f"ray_{workers}_s"] = timed(
                    lambda workers=workers: cluster.run_set_ray(
                        pairs, tmp / f"r{workers}", ("train.threads=1", *WORKLOAD), log=lambda *_: None
                    )
                )
            finally:
                ray.init = real_init
    for k in ("process_1", "process_2", "ray_1", "ray_2"):
        res[f"{k}_runs_per_hour"] = round(3600 * a.runs / res[f"{k}_s"], 1)
    res["ray_overhead_per_task_s"] = round((res["ray_1_s"] - res["process_1_s"]) / a.runs, 2)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
