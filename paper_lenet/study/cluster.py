"""The runner on Ray: each (config, seed) run is one Ray task with one CPU, on this machine or a cluster.

No shared filesystem is assumed. A task trains into a temporary folder on its worker (MNIST through
the package's own verified download chain, cached per machine) and returns the run's files; the
driver writes them atomically into results/runs/<name>/seed<k>/. While a run trains, its task copies
every new checkpoint to a small actor on the driver's node, so a task that dies (worker lost,
SIGKILL) is retried from its last checkpoint, else from the start. Ctrl-C cancels every task and
leaves no half-written run directory. Finished runs are skipped before submission; a run killed
in a local process run is sent with its checkpoint and continues from it.

Ray starts its workers at niceness 15: on a machine that also runs other jobs its tasks yield to
them (and run slowly); on dedicated nodes this costs nothing.

    paper-lenet sweep lenet5_1998 --seeds 5 --out runs --backend ray                      # local Ray
    paper-lenet sweep lenet5_1998 --seeds 5 --out runs --backend ray --address HOST:6379  # a cluster

Ray is imported only here, and only when this backend is asked for (`pip install 'paper-lenet[cluster]'`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..config import load_config, to_dict
from ..errors import UserError
from ..files import atomic_write
from ..runs.rundir import claim, finished, rmdirs
from ..runs.runlock import LOCK, unlock

RUN_FILES = (
    "config.yaml",
    "env.json",
    "metrics.jsonl",
    "summary.json",
    "model.pt",
    "test_predictions.txt",
    "test_margins.npy",
    "val_margins.npy",
    "val_predictions.txt",
)
RESUME_FILES = ("config.yaml", "env.json", "metrics.jsonl", "checkpoint.pt")
LOCAL_IP = "127.0.0.1"  # where a Ray started by this package (no --address) binds
RETRIES = 3  # attempts after the first, each from the last checkpoint that came back


def _read(folder: Path, names) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}


def train_files(cfg: dict, resume: dict[str, bytes], store, key: str, env: dict, poll_s: float = 1.0) -> dict:
    """On a worker: train the resolved config `cfg` in a temporary folder (continuing from `resume`,
    a checkpoint's files, when given), send each new checkpoint to `store`, return the run's files."""
    with tempfile.TemporaryDirectory(prefix="paper_lenet_") as tmp:
        tmp = Path(tmp)
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        run = tmp / "run"
        cmd = [sys.executable, "-m", "paper_lenet", "train", str(tmp / "config.yaml"), "--out", str(run)]
        if resume:
            run.mkdir()
            for name, data in resume.items():
                (run / name).write_bytes(data)
            cmd.append("--resume")
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, OMP_NUM_THREADS="1", **env),
        )
        seen = None

        def upload():
            nonlocal seen
            ck = run / "checkpoint.pt"
            stamp = ck.stat().st_mtime_ns if ck.is_file() else None
            if stamp is not None and stamp != seen:
                seen = stamp
                store.put.remote(key, _read(run, RESUME_FILES))

        while proc.poll() is None:  # a poll, not a timing assumption: what it misses, a later one sends
            time.sleep(poll_s)
            upload()
        upload()  # the last checkpoint, also when the run was killed
        err = proc.stderr.read()
        if proc.returncode != 0:
            raise RuntimeError(
                f"{key}: paper-lenet train exited with {proc.returncode}: {err.strip()[-500:]}"
            )
        return _read(run, RUN_FILES)


def write_run(out: Path, files: dict[str, bytes]) -> None:
    """A finished run's files into its directory (which the driver holds locked), each atomically,
    summary.json last since it marks the run finished; then a killed local run's checkpoint goes.
    Stopped at any point, the directory is resumable or finished."""
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda n: n == "summary.json"):
        atomic_write(out / name, lambda f, data=files[name]: f.write(data))
    (out / "checkpoint.pt").unlink(missing_ok=True)


class Progress:
    """Runs done of all, running, waiting, and the time to go (the finished runs' mean duration x
    the runs left / the runs that go side by side): one line, updated in place on a terminal."""

    def __init__(self, total: int, jobs: int = 1, done: int = 0, stream=None):
        self.total, self.jobs, self.done, self.seconds = total, max(1, jobs), done, []
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()

    def finished(self, seconds: float | None = None) -> None:
        """One more run over (done, failed); `seconds`: how long it took, when it ran here."""
        self.done += 1
        if seconds is not None:
            self.seconds.append(seconds)

    def line(self, running: int) -> str:
        left = self.total - self.done
        eta = ""
        if self.seconds and left:
            per_run = sum(self.seconds) / len(self.seconds)
            eta = f", about {per_run * left / min(self.jobs, left) / 60:.1f} min to go"
        return f"runs: {self.done}/{self.total} done, {running} running, {left - running} waiting{eta}"

    def show(self, running: int, note: str = "") -> None:
        if note:
            print(("\r\033[K" if self.tty else "") + note, file=self.stream, flush=True)
        print(
            ("\r\033[K" if self.tty else "") + self.line(running),
            end="" if self.tty else "\n",
            file=self.stream,
            flush=True,
        )


def run_set_ray(
    pairs,
    runs: Path,
    extra=(),
    address: str | None = None,
    env: dict | None = None,
    retries: int = RETRIES,
    log=print,
    jobs: int | None = None,
) -> int:
    """Every (config, seed) pair as a Ray task; returns the number of runs that failed or were skipped
    (another process writes them: runlock.py).
    jobs: the CPUs of a local Ray (default: all of this machine's); with `address`, the cluster's."""
    import ray

    todo, claimed, skipped = [], [], 0
    try:
        for config, seed in pairs:
            cfg = load_config(config, [f"seed={seed}", *extra])
            out = Path(runs) / cfg.name / f"seed{seed}"
            try:  # the driver writes this run's directory: held for the whole set, as train holds its own
                claimed.append((out, claim(out)))
            except UserError as e:  # another sweep or a hand-run --resume is writing it
                skipped += 1
                log(f"{cfg.name} seed {seed}: skipped, {e}")
                continue
            if finished(cfg, out):
                log(f"{cfg.name} seed {seed}: finished already")
                continue
            resume = (
                _read(out, RESUME_FILES) if (out / "checkpoint.pt").is_file() else {}
            )  # a killed local run
            todo.append((f"{cfg.name}/seed{seed}", to_dict(cfg), out, resume))
        return skipped + (_run_tasks(ray, todo, len(pairs), address, env, retries, jobs) if todo else 0)
    finally:
        for out, created in reversed(claimed):
            if created is not None and [p.name for p in out.iterdir()] == [LOCK]:
                (out / LOCK).unlink()  # a run that never came back: no empty folder (unlinked while held)
                unlock(out)
                rmdirs(out, created)
            else:
                unlock(out)


def _run_tasks(ray, todo, total: int, address, env, retries: int, jobs) -> int:
    """The runs of `todo` as Ray tasks, each retried from its last checkpoint; the number that failed."""
    cpus = None if address else (jobs or os.cpu_count())
    # a local Ray listens on the loopback address only (Ray has no authentication: README, "Security")
    local = {} if address else {"_node_ip_address": LOCAL_IP}
    ray.init(address=address, num_cpus=cpus, log_to_driver=False, include_dashboard=False, **local)
    store = ray.remote(_Store).options(num_cpus=0).remote()
    task = ray.remote(num_cpus=1, max_retries=0)(train_files)  # retries are ours: from the last checkpoint
    env = dict(env or {})
    refs, attempts, failed = {}, {}, 0
    width = int(ray.cluster_resources().get("CPU", 1))
    progress = Progress(total, jobs=width, done=total - len(todo))

    def submit(key, cfg, out, resume):
        refs[task.remote(cfg, resume, store, key, env if attempts.get(key, 0) == 0 else {})] = (key, cfg, out)

    try:
        for key, cfg, out, resume in todo:
            submit(key, cfg, out, resume)
        progress.show(len(refs))
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            key, cfg, out = refs.pop(ready[0])
            try:
                files = ray.get(ready[0])
                write_run(out, files)
                progress.finished(json.loads(files["summary.json"]).get("wall_seconds"))
                progress.show(len(refs), f"{key}: done")
            except Exception as e:  # the task died or the run failed: again, from its last checkpoint
                attempts[key] = attempts.get(key, 0) + 1
                if attempts[key] > retries:
                    failed += 1
                    progress.finished()
                    progress.show(len(refs), f"{key}: failed after {attempts[key]} attempts ({str(e)[:200]})")
                    continue
                resume = ray.get(store.get.remote(key))
                submit(key, cfg, out, resume)
                progress.show(
                    len(refs),
                    f"{key}: retry {attempts[key]} from "
                    + ("its last checkpoint" if resume else "the start"),
                )
    except KeyboardInterrupt:
        for r in refs:
            ray.cancel(r, force=True)
        print(
            "\ninterrupted: tasks cancelled; finished runs are written, no other run directory was touched",
            file=sys.stderr,
        )
        raise
    finally:
        if progress.tty:
            print(file=progress.stream)
        ray.shutdown()
    return failed


class _Store:
    """The driver-side copy of each run's last checkpoint (a Ray actor: no shared disk needed)."""

    def __init__(self):
        self.files: dict[str, dict[str, bytes]] = {}

    def put(self, key: str, files: dict[str, bytes]) -> None:
        self.files[key] = files

    def get(self, key: str) -> dict[str, bytes]:
        return self.files.get(key, {})
