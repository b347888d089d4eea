#!/usr/bin/env bash
# Issue 33's figures in one run on one machine (benchmarks/README.md, "Seeds in lockstep"):
#   1. paper-lenet bench --lockstep: model-steps/s for K = 1, 2, 4, 8, 16 and the FMA peak;
#   2. a 5-seed, 30-pass sweep of lenet5_1998 in lockstep (one process, K = 5 on 8 lanes);
#   3. the same sweep one process per seed, two side by side (--lockstep off --jobs 2).
# Usage: bash benchmarks/lockstep_study.sh OUT_DIR      (about 25 min on an idle 2-core machine)
set -euo pipefail
OUT=${1:?usage: lockstep_study.sh OUT_DIR}
mkdir -p "$OUT"
stamp() { echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg) $*" >> "$OUT/timeline.txt"; }
stamp start; lscpu | grep -E 'Model name|L2|L3' > "$OUT/machine.txt"; gcc --version | head -1 >> "$OUT/machine.txt"
paper-lenet bench --lockstep > "$OUT/bench_lockstep.txt" 2>&1
stamp bench-done
/usr/bin/time -f '%e s wall, %U s user, %S s sys' -o "$OUT/time_lockstep.txt" \
    paper-lenet sweep lenet5_1998 --seeds 5 --jobs 1 --lockstep on --out "$OUT/lockstep" > "$OUT/sweep_lockstep.log" 2>&1
stamp lockstep-done
/usr/bin/time -f '%e s wall, %U s user, %S s sys' -o "$OUT/time_off.txt" \
    paper-lenet sweep lenet5_1998 --seeds 5 --jobs 2 --lockstep off --out "$OUT/off" > "$OUT/sweep_off.log" 2>&1
stamp off-done
