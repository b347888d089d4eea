"""The fuzz suite's strategies and its property (tests/test_fuzz.py): overrides from the config schema's
keys with wrong values, YAML documents, damaged bytes; exit 0 or one line and exit 2; sound run folders."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import tempfile
import typing
from pathlib import Path

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from paper_lenet.cli import main
from paper_lenet.config import Config, known_configs, optional_sections, section_types
from paper_lenet.runs.runlock import LOCK

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
SLOW_SCALE = 50  # slow: 50x each default budget, about 4,000 cases in all (some 15 min on 2 cores)


def budget(n: int, slow: int | None = None):
    """n examples in the default profile (each test's own, a few seconds at most), `slow` (default
    SLOW_SCALE x n) in the slow one. deadline=None: never a timed assertion; database=None: nothing
    written into the checkout; the default run is derandomized, so it tries the same cases every time."""
    return settings(
        max_examples=(slow or n * SLOW_SCALE) if PROFILE == "slow" else n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=PROFILE != "slow",
    )


# -- the schema's keys, walked from the dataclasses --------------------------------------------------


def schema_keys(cls=Config, prefix="") -> list[str]:
    keys = []
    hints = section_types() if cls is Config else typing.get_type_hints(cls)  # Config: its sections too
    for name in hints if cls is Config else [f.name for f in dataclasses.fields(cls)]:
        t = hints[name]
        inner = [a for a in typing.get_args(t) if dataclasses.is_dataclass(a)]
        t = inner[0] if inner else t
        if dataclasses.is_dataclass(t):
            keys += schema_keys(t, f"{prefix}{name}.")
        keys.append(f"{prefix}{name}")  # a section itself, set to a scalar: a wrong type too
    return keys


KEYS = schema_keys()
assert {"seed", "model.arch", "data.distortions.prob", "train.sdlm.eta", "knn.k", "boost.net1"} <= set(KEYS)
SECTIONS = ("model", "data", "train", *optional_sections())

VALUES = st.one_of(
    st.sampled_from(
        [
            "-1",
            "0",
            "1",
            "2",
            "3",
            "-3.5",
            "0.5",
            "1e309",
            "-1e309",
            ".nan",
            ".inf",
            "-.inf",
            "1e30",
            "99999999999999999999",
            "-99999999999999999999",
            "2147483648",
            "true",
            "false",
            "null",
            "''",
            "[]",
            "{}",
            "[1, -2]",
            "[[1, 5.0e-4]]",
            "[[1]]",
            "[-5]",
            "[0]",
            "[100000000]",
            "abc",
            "lenet5",
            "knn",
            "rbf",
            "mse",
            "cross_entropy",
            "sgd",
            "adam",
            "max",
            "deslant",
            "16x16",
            "cuda",
            "auto",
            "{a: 1}",
            "[",
            "]:",
            "!!python/object/apply:os.system [ls]",
            "&a [*a]",
            "0x10",
            "1_000",
            "-0",
            " ",
            "\t",
            "a: b: c",
            "{seed}",
            "/nonexistent/run",
            "~",
        ]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=10),
)
KEY = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(lambda k: k + ".x"),
    st.sampled_from(["nosuch", "model.nosuch", "data..root", ".seed", "seed.", "=", ""]),
)
OVERRIDES = st.lists(st.tuples(KEY, VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"), max_size=3)
CONFIGS = st.sampled_from(known_configs())

# pinned after the fuzzed overrides: whatever they say, training is tiny and local
TINY = (
    "data.train_size=50",
    "data.download=false",
    "train.epochs=1",
    "train.threads=1",
    "train.sdlm.hessian_samples=10",
    "train.checkpoint_every=20",
    "boost.size=20",
    "boost.max_draws=40",
    "boost.exit_sample=20",
)


def tiny(root) -> list[str]:
    return [f"data.root={root}", *TINY]


# -- the property ----------------------------------------------------------------------------------


def run(argv) -> tuple[int, str]:
    """main(argv) in-process: (exit code, stderr). A traceback (any other exception) fails the test."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, err.getvalue()


def check(argv, ok=(0,)) -> int:
    rc, err = run(argv)
    assert "Traceback" not in err, (argv, err)
    if rc not in ok:
        assert rc == 2, (argv, rc, err)
        assert err.count("\n") == 1 and err.startswith("paper-lenet"), (argv, err)
    return rc


def runs_sound(folder: Path) -> None:
    """Every run directory under folder is finished (summary.json) or resumable (checkpoint.pt, or a
    boosted run's sub-run); no config-only orphan, no temporary file."""
    if not folder.exists():
        return
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        names = {p.name for p in d.iterdir()}
        assert not [n for n in names if n.startswith(".") and n != LOCK], (d, names)  # half-written files
        if names & {"config.yaml", "env.json", "metrics.jsonl", "model.pt"}:
            assert names & {"summary.json", "checkpoint.pt", "net2", "net3"}, (d, names)


@contextlib.contextmanager
def scratch():
    with tempfile.TemporaryDirectory(prefix="paper_lenet_fuzz_") as d:
        yield Path(d)


def damage(data: bytes, how) -> bytes:
    kind, x = how
    if kind == "truncate":
        return data[: int(len(data) * x)]
    if kind == "flip":  # one byte changed at a relative position
        i = min(len(data) - 1, int(len(data) * x[0])) if data else 0
        return data[:i] + bytes([x[1]]) + data[i + 1 :]
    return x  # "random": these bytes instead


DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 0.999)),
    st.tuples(st.just("flip"), st.tuples(st.floats(0, 1), st.integers(0, 255))),
    st.tuples(st.just("random"), st.binary(max_size=300)),
)


def yaml_docs():
    scalar = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(), st.text(max_size=8)
    )
    key = st.one_of(
        st.sampled_from([*SECTIONS, "seed", "name", "base", *(k.split(".")[-1] for k in KEYS)]),
        st.text(max_size=6),
    )
    tree = st.recursive(
        scalar,
        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(key, c, max_size=4)),
        max_leaves=12,
    )
    docs = st.dictionaries(key, tree, max_size=5).map(lambda d: yaml.safe_dump(d).encode())
    return st.one_of(
        docs,
        st.text(max_size=200).map(str.encode),
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"base: lenet5_1998\nseed: -1\n",
                b"base: base.yaml\n",
                b"\tmodel: {}\n",
                b"model: [\n",
                b"a: &a [*a, *a]\n",
                b"[" * 200,
                b"base: /\n",
                b"base: 7\nname: 1\n",
                b"model:\n  arch: knn\nknn: {k: 100000}\n",
            ]
        ),
    )
