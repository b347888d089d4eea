"""`paper-lenet sweep`: every config x seed into DIR/<config name>/seed<k>/, `jobs` at a time.

Each run is its own one-thread `python -m paper_lenet train` process (OMP_NUM_THREADS=1), logged to
DIR/<name>/seed<k>.log, so a crash or a kill affects one run only. With lockstep (the default where the
fast path applies) the seeds of a config share up to `jobs` processes of at least lockstep.MIN_GROUP
seeds each (`train --seeds`, paper_lenet.training.lockstep, logged to DIR/<name>/seeds<a>+<b>.log), each seed
still in its own locked, resumable run directory. Finished runs (summary.json
present) are skipped, unless they hold another config (a one-line error); killed ones are resumed
(--resume-if-possible, which refuses another config); one that another process is writing (its lock,
runlock.py)
is skipped and reported. A run directory is only ever resumable or
finished (the trainer writes every file atomically, summary.json last). Ctrl-C (SIGINT), SIGTERM and
SIGHUP, also when the sweep was started with SIGINT ignored (`cmd &`), are forwarded to every training
process; the sweep waits for each to exit, which leaves it resumable, and exits 130 / 143 / 129. With
`backend="ray"` the same runs
are Ray tasks (paper_lenet.study.cluster), on this machine or on a cluster at `address`.

    sweep(["ablations/paper-maxpool", "lenet5_1998"], ["data.train_size=5000"], "0-4", "runs", jobs=2)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..config import load_config, resolve_config
from ..errors import UserError
from ..runs.rundir import finished
from ..runs.runlock import holder
from ..runs.signals import Stopped, handling, stop_on_signals
from ..training.lockstep import groups
from .cluster import Progress, run_set_ray

THREADS = ("train.threads=1",)  # two one-thread processes use two cores; two-thread ones fight over them
MAX_SEEDS = 1000  # runs per config in one sweep: far past any study here, and a typo's 10^20 is refused
STOP_WAIT_S = 60  # after a stop signal: how long a run may take to exit on it before it is SIGKILLed


def parse_seeds(spec) -> list[int]:
    """`5`: seeds 0..4; `0-4`: 0..4; `0,3,7`: those. Anything else is a one-line UserError."""
    s = str(spec).strip()
    seeds = _seeds(s)
    n = seeds.stop - seeds.start if isinstance(seeds, range) else len(seeds)  # len() overflows past 2^63
    if n > MAX_SEEDS:
        raise UserError(f"--seeds {s}: {n} seeds; at most {MAX_SEEDS} per config")
    return list(seeds)


def _seeds(s: str) -> range | list[int]:
    if re.fullmatch(r"\d+", s) and int(s) >= 1:
        return range(int(s))
    m = re.fullmatch(r"(\d+)-(\d+)", s)
    if m:
        a, b = int(m[1]), int(m[2])
        if a > b:
            raise UserError(f"--seeds {s}: the range ends before it starts (write {b}-{a})")
        return range(a, b + 1)
    if re.fullmatch(r"\d+(,\d+)+", s):
        seeds = [int(x) for x in s.split(",")]
        if len(set(seeds)) != len(seeds):
            raise UserError(f"--seeds {s}: a seed is listed twice")
        return seeds
    raise UserError(f"--seeds {s!r}: expected N >= 1 (seeds 0..N-1), a range A-B or a list like 0,3,7")


def plan(configs, overrides=(), seeds=(0,)) -> list[tuple[Path, str, int]]:
    """(config file, config name, seed) for every run, seed-major (every config gets a first seed
    early); every config is loaded with its overrides first, so a bad one stops the sweep before any run."""
    if not configs:
        raise UserError("sweep: no config given")
    if any(o.split("=", 1)[0].strip() == "seed" for o in overrides):
        raise UserError("sweep: seed= is not an override here; give the seeds with --seeds")
    files, names = [], {}
    for c in configs:
        path = resolve_config(c).resolve()
        name = load_config(path, [*THREADS, *overrides]).name
        if name in names:
            raise UserError(
                f"sweep: {c} and {names[name]} are both named {name!r}; they would share a directory"
            )
        names[name] = c
        files.append((path, name))
    return [(path, name, seed) for seed in seeds for path, name in files]


def sweep(
    configs,
    overrides=(),
    seeds="5",
    out="runs",
    jobs: int = 2,
    backend: str = "process",
    address: str | None = None,
    log=print,
    env: dict | None = None,
    lockstep: bool = True,
) -> int:
    """Run every config x seed into out/<name>/seed<k>/; returns the number of runs that failed or were
    skipped because another process holds their directory (runlock: `paper-lenet train` takes it).
    configs: files or shipped names; seeds: a spec (parse_seeds) or a list of ints; env: extra
    environment of the training processes; lockstep: seeds of one config share processes (lockstep.groups)."""
    seeds = parse_seeds(seeds) if isinstance(seeds, (str, int)) else list(seeds)
    if backend not in ("process", "ray"):
        raise UserError(f"--backend {backend}: expected process or ray")
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: expected at least 1")
    if address is not None and backend != "ray":
        raise UserError(f"--address {address}: only with --backend ray")
    runs = plan(configs, overrides, seeds)
    out = Path(out).resolve()
    extra = (*THREADS, *overrides)
    if backend == "ray":
        try:
            import ray  # noqa: F401  (only to say clearly when it is missing)
        except ImportError:
            raise UserError("--backend ray needs ray: pip install 'paper-lenet[cluster]'") from None
        with stop_on_signals():  # SIGTERM and SIGHUP cancel the tasks as Ctrl-C does (cluster.py)
            return run_set_ray(
                [(p, s) for p, _, s in runs],
                out,
                extra,
                address=address,
                env=env,
                log=log,
                jobs=None if address else jobs,
            )
    return _run_processes(
        runs, out, extra, jobs, log, dict(os.environ, OMP_NUM_THREADS="1", **(env or {})), lockstep
    )


def _command(path: Path, seeds: list[int], extra, out: Path) -> list[str]:
    """One seed: `train CONFIG seed=K --out OUT/seedK`; several: `train CONFIG --seeds A,B --out OUT`, each
    with --resume-if-possible where there is something to continue (a run stopped before it began starts)."""
    if len(seeds) > 1:
        return [
            sys.executable,
            "-m",
            "paper_lenet",
            "train",
            str(path),
            *extra,
            "--seeds",
            ",".join(map(str, seeds)),
            "--out",
            str(out),
            "--resume-if-possible",
        ]
    run = out / f"seed{seeds[0]}"
    cmd = [
        sys.executable,
        "-m",
        "paper_lenet",
        "train",
        str(path),
        f"seed={seeds[0]}",
        *extra,
        "--out",
        str(run),
    ]
    return cmd + ["--resume-if-possible"] if run.exists() else cmd


def _run_processes(runs, out: Path, extra, jobs: int, log, env: dict, lockstep: bool = True) -> int:
    waiting = []
    for path, name, seed in runs:
        if finished(load_config(path, [f"seed={seed}", *extra]), out / name / f"seed{seed}"):
            log(f"{name} seed {seed}: finished already")
        else:
            waiting.append((path, name, seed))
    names = {path: name for path, name, _ in runs}
    if lockstep:  # seeds of one config in shared processes where the lockstep kernel applies
        waiting = groups(
            list(names),
            [(p, s) for p, _, s in waiting],
            jobs,
            lambda p, s: load_config(p, [f"seed={s}", *extra]),
            log,
        )
    else:
        waiting = [(path, [seed]) for path, _, seed in waiting]
    progress = Progress(len(runs), jobs=jobs, done=len(runs) - sum(len(s) for _, s in waiting))
    running: dict = {}  # Popen -> (key, start time, log path, log file, number of seeds)
    failed, skipped = 0, 0
    caught: list[int] = []  # stop signals, noted by the handler and acted on in the loop (never mid-Popen)
    try:
        with handling(lambda signum, frame: caught.append(signum)):  # also while _stop waits
            try:
                failed, skipped = _loop(waiting, names, running, jobs, out, extra, env, progress, caught)
            except KeyboardInterrupt as e:
                _stop(running, getattr(e, "signum", signal.SIGINT))
                print(
                    f"\ninterrupted: {len(running)} run(s) stopped, each resumable; the same command "
                    f"continues",
                    file=sys.stderr,
                )
                raise
        if skipped:
            log(
                f"{skipped} run(s) skipped: another process is writing them (run the sweep again when it "
                f"ends)"
            )
    finally:
        if progress.tty:
            print(file=progress.stream)
    return failed + skipped


def _loop(waiting, names, running, jobs, out, extra, env, progress, caught) -> tuple[int, int]:
    """Start and wait for the runs (a group of seeds per process), `jobs` processes at a time;
    (failed, skipped) in seeds. Stopped when a stop signal is in `caught`, with `running` holding every
    process started."""
    failed, skipped, note = 0, 0, ""

    def seeds_running():
        return sum(r[4] for r in running.values())

    while waiting or running:
        while waiting and len(running) < jobs:
            if caught:
                raise Stopped(caught[0])
            path, seeds = waiting.pop(0)
            name, free = names[path], []
            for seed in seeds:
                pid = holder(out / name / f"seed{seed}")
                if pid is not None:  # another sweep or a hand-run --resume is writing it: not ours to touch
                    skipped += 1
                    progress.finished()
                    progress.show(seeds_running(), f"{name}/seed{seed}: skipped, in use by pid {pid}")
                else:
                    free.append(seed)
            if not free:
                continue
            key = f"{name}/seed{'s ' if len(free) > 1 else ''}{','.join(map(str, free))}"
            logpath = out / name / f"seed{'s' if len(free) > 1 else ''}{'+'.join(map(str, free))}.log"
            logpath.parent.mkdir(parents=True, exist_ok=True)
            f = open(logpath, "a")
            # its own session: Ctrl-C reaches it only through _stop, which waits for it to exit
            proc = subprocess.Popen(
                _command(path, free, extra, out / name),
                stdout=f,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            running[proc] = (key, time.time(), logpath, f, len(free))
        if not running:  # the last ones were skipped
            continue
        progress.show(seeds_running(), note)
        done = _wait_any(running, caught=caught)
        key, t0, logpath, f, n_seeds = running.pop(done)
        f.close()
        failed += n_seeds if done.returncode != 0 else 0
        for _ in range(n_seeds):
            progress.finished(time.time() - t0 if done.returncode == 0 else None)
        note = (
            f"{key}: done in {time.time() - t0:.0f}s"
            if done.returncode == 0
            else f"{key}: failed (exit {done.returncode}; see {logpath})"
        )
    progress.show(0, note)
    return failed, skipped


def _wait_any(running: dict, poll_s: float = 0.2, caught=()):
    """The first process of `running` to exit (a poll loop: a process that exits between polls is
    found at the next one); Stopped as soon as a stop signal is in `caught`."""
    while True:
        if caught:
            raise Stopped(caught[0])
        for proc in running:
            if proc.poll() is not None:
                return proc
        time.sleep(poll_s)


def _stop(running: dict, signum: int = signal.SIGINT) -> None:
    """The stop signal to every training process (the train command exits through its
    KeyboardInterrupt, files intact), then wait for each; one that has not exited after STOP_WAIT_S is
    SIGKILLed (its files are atomic). Further signals meanwhile are only noted by the sweep's handler."""
    for proc in running:
        if proc.poll() is None:
            os.killpg(proc.pid, signum)
    for proc, (_, _, _, f, _) in running.items():
        try:
            proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        f.close()
