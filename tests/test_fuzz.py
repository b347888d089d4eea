"""Every command under random bad input (issue 23), property-based with hypothesis: overrides built
from the config schema's keys (tests/fuzzing.py) with values of wrong types, signs and sizes; random YAML
documents;
random or truncated bytes as IDX files, run files and images. The property: exit 0, or exit 2 with
one line on stderr; never a traceback; no run directory left that is neither finished nor resumable.

Commands run in-process through paper_lenet.cli.main (fast); training is tiny (50 synthetic images,
one pass, one thread: pinned after the fuzzed overrides) or refused before it starts.

Budget: the default profile tries a few examples per test (a few seconds in all, so the normal run
stays fast); HYPOTHESIS_PROFILE=slow multiplies every budget by SLOW_SCALE (thousands of cases).
No example has a deadline: the machine is shared, a timed assertion would measure its load.
"""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from conftest import make_root
from fuzzing import CONFIGS, DAMAGE, OVERRIDES, budget, check, damage, runs_sound, scratch, tiny, yaml_docs
from hypothesis import given
from hypothesis import strategies as st

from paper_lenet import load_config
from paper_lenet.data import download as dl
from paper_lenet.tools.pictures import write_png
from paper_lenet.training.train import Trainer, train

# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("fuzz_mnist"), n_train=200, n_test=100)


@pytest.fixture(scope="module")
def finished(root, tmp_path_factory):
    """A finished tiny run in <folder>/lenet5_1998/seed0 (a config's folder, as compare wants)."""
    run = tmp_path_factory.mktemp("fuzz_runs") / "lenet5_1998" / "seed0"
    train(load_config("lenet5_1998", tiny(root)), run, log=lambda *_: None)
    return run


@pytest.fixture
def offline(monkeypatch, root):
    """download: the synthetic files are the verified ones; no mirror or npm reachable."""
    monkeypatch.setattr(
        dl,
        "SHA256",
        {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.iterdir()
            if p.name.endswith("ubyte")
        },
    )
    monkeypatch.setattr(dl, "MIRRORS", ["http://127.0.0.1:9/"])  # the discard port: refused at once
    monkeypatch.setattr(dl, "NPM_CMD", "paper-lenet-test-no-such-npm")
    monkeypatch.setattr(dl, "TIMEOUT_S", 2)


# -- the commands -----------------------------------------------------------------------------------


@budget(15)
@given(config=CONFIGS, overrides=OVERRIDES, as_json=st.booleans())
def test_info(config, overrides, as_json):
    check(["info", config, *overrides, *(["--json"] if as_json else [])])


@budget(4)
@given(config=CONFIGS, overrides=OVERRIDES, resume=st.booleans())
def test_train(root, config, overrides, resume):
    with scratch() as d:
        out = d / "run"
        rc = check(
            ["train", config, *overrides, *tiny(root), "--out", out, *(["--resume"] if resume else [])]
        )
        runs_sound(d)
        if rc == 0:  # a finished run: again, it is a no-op; without --resume, refused
            assert check(["train", config, *overrides, *tiny(root), "--out", out, "--resume"]) == 0
            assert check(["train", config, *overrides, *tiny(root), "--out", out]) == 2


@budget(15)
@given(doc=yaml_docs(), cmd=st.sampled_from(["info", "train"]))
def test_yaml_documents(root, doc, cmd):
    with scratch() as d:
        (d / "base.yaml").write_bytes(b"base: c.yaml\n")  # a cycle, for documents that name it
        cfg = d / "c.yaml"
        cfg.write_bytes(doc)
        argv = [cmd, cfg] + ([*tiny(root), "--out", d / "run"] if cmd == "train" else [])
        check(argv)
        runs_sound(d / "run")


IDX = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@budget(8)
@given(
    name=st.sampled_from(IDX),
    how=DAMAGE,
    header=st.none() | st.tuples(st.integers(0, 3), st.integers(0, 2**32 - 1)),
)
def test_idx_files(root, offline, name, how, header):
    with scratch() as d:
        data = d / "mnist"
        shutil.copytree(root, data)
        f = data / name
        raw = bytearray(damage(f.read_bytes(), how))
        if header is not None and len(raw) >= 16:  # a valid-looking header with one field changed
            i, v = header
            raw[4 * i : 4 * i + 4] = v.to_bytes(4, "big")
        f.write_bytes(bytes(raw))
        check(["train", "lenet5_1998", *tiny(data), "--out", d / "run"])
        runs_sound(d / "run")
        check(["download", "--root", data])


@budget(8)
@given(how=DAMAGE, suffix=st.sampled_from([".png", ".jpg", ".bmp", ".gif", ".tiff", ".webp"]))
def test_images(how, suffix):
    with scratch() as d:
        good = d / "good.png"
        grey = np.zeros((28, 28))
        grey[6:22, 12:15] = 255
        write_png(good, grey)
        bad = d / f"bad{suffix}"
        bad.write_bytes(damage(good.read_bytes(), how))
        check(["predict", bad])
        check(["predict", d, "--csv"])


RUN_FILES = (
    "model.pt",
    "summary.json",
    "metrics.jsonl",
    "config.yaml",
    "env.json",
    "test_predictions.txt",
    "test_margins.npy",
)


@budget(10)
@given(name=st.sampled_from(RUN_FILES), how=DAMAGE)
def test_damaged_run_files(root, finished, name, how):
    with scratch() as d:
        run = d / "lenet5_1998" / "seed0"
        shutil.copytree(finished, run)
        f = run / name
        f.write_bytes(damage(f.read_bytes(), how))
        png = write_png(d / "digit.png", np.pad(np.full((16, 3), 255.0), ((6, 6), (12, 13))))
        check(["eval", run, "--root", root])
        check(["predict", png, "--run", run])
        check(["compare", run.parent, "--root", root, "--format", "json"])
        check(["train", "lenet5_1998", *tiny(root), "--out", run, "--resume"])
        runs_sound(d)


@pytest.fixture(scope="module")
def killed(root, tmp_path_factory):
    """Runs stopped right after their 1st and 3rd checkpoint (mid pass, and the end of the pass): the
    checkpoint write raises, in-process, leaving what a SIGKILL there leaves (every file is atomic)."""
    runs = {}
    for k in (
        1,
        3,
    ):  # tiny(): 50 images, a checkpoint every 20: 2 mid-pass (20, 40), the 3rd at the pass's end
        run = tmp_path_factory.mktemp(f"killed{k}") / "run"
        real, n = Trainer.checkpoint, []

        def stop(self, real=real, n=n, k=k):
            real(self)
            n.append(1)
            if len(n) == k:
                raise KeyboardInterrupt

        Trainer.checkpoint = stop
        try:
            with pytest.raises(KeyboardInterrupt):
                train(load_config("lenet5_1998", tiny(root)), run, log=lambda *_: None)
        finally:
            Trainer.checkpoint = real
        runs[k] = run
    return runs


@budget(4)
@given(how=DAMAGE, when=st.sampled_from([1, 3]))
def test_damaged_checkpoint(root, killed, how, when):
    """A killed run's checkpoint damaged, then --resume."""
    with scratch() as d:
        run = d / "run"
        shutil.copytree(killed[when], run)
        f = run / "checkpoint.pt"
        f.write_bytes(damage(f.read_bytes(), how))
        check(["train", "lenet5_1998", *tiny(root), "--out", run, "--resume"])
        runs_sound(d)


@budget(10)
@given(
    dirs=st.lists(st.sampled_from(["run", "nosuch", "file", "empty", "."]), min_size=1, max_size=3),
    fmt=st.sampled_from(["md", "latex", "csv", "json", "html", ""]),
    baseline=st.none() | st.sampled_from(["run", "nosuch"]),
)
def test_compare(root, finished, dirs, fmt, baseline):
    with scratch() as d:
        (d / "file").write_text("x")
        (d / "empty").mkdir()
        where = {
            "run": finished.parent,
            "nosuch": d / "nosuch",
            "file": d / "file",
            "empty": d / "empty",
            ".": d,
        }
        argv = ["compare", *(where[x] for x in dirs), "--format", fmt, "--root", root]
        check(argv + (["--baseline", where[baseline]] if baseline else []))


@budget(1, slow=20)  # a sweep that runs starts a training process (~8 s here): one in the default run
@given(
    seeds=st.one_of(
        st.sampled_from(["1", "0", "-1", "2-1", "0,0", "a", "", "1-", "99999999999999999999"]),
        st.text(max_size=5),
    ),
    jobs=st.sampled_from(["1", "0", "-2", "x"]),
    overrides=OVERRIDES,
)
def test_sweep(root, seeds, jobs, overrides):
    with scratch() as d:
        check(
            [
                "sweep",
                "lenet5_1998",
                *overrides,
                *tiny(root),
                "--seeds",
                seeds,
                "--out",
                d / "runs",
                "--jobs",
                jobs,
            ],
            ok=(0, 1),
        )
        runs_sound(d / "runs")


@budget(6)
@given(root_kind=st.sampled_from(["file", "missing_parent_file", "empty"]))
def test_download_root(offline, root_kind):
    with scratch() as d:
        (d / "f").write_text("x")
        where = {"file": d / "f", "missing_parent_file": d / "f" / "sub", "empty": d / "e"}[root_kind]
        check(["download", "--root", where])
