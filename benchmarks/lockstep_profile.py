"""Where a lockstep step's time goes: fast/lockstep.c rebuilt (into a temporary folder) with a CPU-time
clock around every layer call of its forward and backward, then STEPS steps of K paper models.

    python benchmarks/lockstep_profile.py [K] [STEPS]     # default 8 2000

Prints microseconds of thread CPU time per K-model step for each call (the calls of hessian=running's
curvature pass are not timed), and their sum; thread CPU time, so a busy machine slows it less than
wall time. The clock reads (~0.1 us each, 20 a step) are in the figures.
"""

from __future__ import annotations

import copy
import ctypes
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from paper_lenet import build_model, load_config
from paper_lenet.core.sdlm import curvature, sdlm_rates
from paper_lenet.data.mnist import load_mnist
from paper_lenet.fast import abi, build
from paper_lenet.fast.lockstep import LockstepStepper

CLOCK = """#include <stdio.h>
#include <time.h>
static double T[64]; static const char *NM[64]; static int NN; static double t_last;
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec; }
#define TICK(i, name) do { double n_ = now(); T[i] += n_ - t_last; NM[i] = name; \
    if (i >= NN) NN = i + 1; t_last = n_; } while (0)
void profile_read(double *out, char *names, int size) { for (int i = 0; i < NN && i < 64; i++) {
    out[i] = T[i]; snprintf(names + 32 * i, 32, "%s", NM[i] ? NM[i] : ""); } out[63] = NN; (void)size; }
"""
CALL = re.compile(r"^(\s+)(ls_\w+|activate|mul|pad4)\((.*);\s*$")


def instrumented(src: Path, dst: Path) -> None:
    """lockstep.c with TICK() after each layer call in forward, backward_body and backward."""
    for h in build.SOURCES["lockstep"][1:]:
        shutil.copy(src / h, dst / h)
    out, inside, n = [], False, 0
    for line in (src / "lockstep.c").read_text().splitlines():
        if re.match(r"static void (forward|backward_body|backward)\(", line):
            inside = True
        elif inside and line.startswith("}"):
            inside = False
        m = CALL.match(line)
        if inside and m:
            name = f"{m[2]}({m[3].split(',')[0][:12]}"
            line = f'{m[1]}{{ t_last = now(); {line.strip()} TICK({n}, "{name}"); }}'
            n += 1
        out.append(line.replace('#include "lockstep_ops.h"', '#include "lockstep_ops.h"\n' + CLOCK))
    (dst / "lockstep.c").write_text("\n".join(out) + "\n")


def main(k: int = 8, steps: int = 2000) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        instrumented(build.HERE, tmp)
        so = tmp / "lockstep_profile.so"
        subprocess.run(
            [
                build.compiler(),
                *build.NATIVE,
                "-DIN_SIZE=32",
                f"-DLANES={k}",
                str(tmp / "lockstep.c"),
                "-o",
                str(so),
                "-lm",
            ],
            check=True,
            capture_output=True,
        )
        lib = ctypes.CDLL(str(so))
        abi.declare_lockstep(lib)
        build.load = lambda *a, **kw: lib  # the stepper below loads this build
        cfg = load_config("lenet5_1998")
        data = load_mnist(cfg.data, 32, 0, log=lambda *_: None)
        base = build_model(cfg.model, seed=0)
        rates = sdlm_rates(base, curvature(base, data.train_x[:500], data.train_y[:500], "mse"), 1e-4, 0.02)
        ls = LockstepStepper([copy.deepcopy(base) for _ in range(k)], "mse", 10.0, lanes=k)
        for j in range(k):
            ls.set_rates(j, rates)
        orders = [
            torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(s))[:steps]
            for s in range(k)
        ]
        ls.run(range(k), [data.train_x] * k, [data.train_y] * k, orders)
        t, names = (ctypes.c_double * 64)(), ctypes.create_string_buffer(32 * 64)
        lib.profile_read(t, names, 64)
    rows = [
        (names.raw[32 * i : 32 * i + 32].split(b"\0")[0].decode(), t[i] / steps * 1e6)
        for i in range(int(t[63]))
    ]
    rows = [(name, us) for name, us in rows if name not in ("", "(null)")]  # branches this config never takes
    total = sum(us for _, us in rows)
    print(f"K = {k}: thread CPU us per {k}-model step ({steps} steps)")
    for name, us in rows:
        print(f"  {name:28s} {us:7.1f}  {100 * us / total:5.1f}%")
    print(f"  {'sum':28s} {total:7.1f}  ({total / k:.1f} us a model-step)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
