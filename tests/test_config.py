"""Typed configs: inheritance, overrides, type conversion, typos, bad values, CLI exit codes."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from paper_lenet.config import load_config
from paper_lenet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "experiments" / "configs"  # the study's own configs: validation, explore, previous


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_paper_config_has_paper_switches():
    cfg = load_config(ROOT / "configs" / "lenet5_1998.yaml")
    m, sd = cfg.model, cfg.train.sdlm
    assert (m.activation, m.pooling, m.subsample_mode, m.c3, m.head) == (
        "scaled_tanh",
        "subsample",
        "sum",
        "table",
        "rbf",
    )
    assert (m.init, m.init_v, m.init_p) == (
        "forget",
        1.0,
        2.0,
    )  # the authors' forget 1 2 (docs/deviations.md)
    assert cfg.train.optimizer == "sdlm" and cfg.train.batch_size == 1 and cfg.train.order == "fixed"
    assert sd.mu == 0.02 and cfg.train.loss == "mse"
    assert (sd.hessian, sd.hessian_pick, sd.hessian_samples) == ("per_block", "first", 1000)
    assert cfg.train.epochs == 30 and sd.eta == [[10, 1e-4], [20, 1e-5], [30, 1e-6]]
    assert cfg.data.scaling == "lecun98" and cfg.data.pad and cfg.data.validation == 0


def test_headline_config_is_its_validation_candidate_on_all_data():
    """lenet5_1998 trains exactly as experiments/configs/validation/val-block30.yaml, on all 60,000 images."""
    from paper_lenet.config import to_dict

    def strip(d):
        d = dict(d, name=None, data=dict(d["data"], train_size=None, validation=None))
        return d

    head = to_dict(load_config(ROOT / "configs" / "lenet5_1998.yaml"))
    cand = to_dict(load_config(STUDY / "validation" / "val-block30.yaml"))
    assert strip(head) == strip(cand)
    assert cand["data"]["validation"] == 10000 and head["data"]["train_size"] == 60000


def test_modern_config():
    cfg = load_config(ROOT / "configs" / "modern.yaml")
    assert (cfg.model.activation, cfg.model.pooling, cfg.model.c3, cfg.model.head) == (
        "relu",
        "max",
        "full",
        "linear",
    )
    assert cfg.train.loss == "cross_entropy" and cfg.train.optimizer == "adam"


def test_inheritance_deep_merge_and_relative_base(tmp_path):
    (tmp_path / "sub").mkdir()
    write(
        tmp_path / "base.yaml", "seed: 3\nmodel: {activation: relu, pooling: max}\ntrain: {sdlm: {mu: 0.5}}\n"
    )
    child = write(tmp_path / "sub" / "child.yaml", "base: ../base.yaml\nmodel: {pooling: avg}\n")
    cfg = load_config(child)
    assert cfg.seed == 3 and cfg.model.activation == "relu" and cfg.model.pooling == "avg"
    assert cfg.train.sdlm.mu == 0.5 and cfg.name == "child"


def test_base_may_name_a_shipped_config(tmp_path):
    child = write(tmp_path / "child.yaml", "base: lenet5_1998\nname: child\nmodel: {pooling: max}\n")
    cfg, shipped = load_config(child), load_config("lenet5_1998")
    assert cfg.model.pooling == "max" and cfg.name == "child"
    assert cfg.train == shipped.train and cfg.data == shipped.data  # everything else is the shipped config's
    write(tmp_path / "typo.yaml", "base: lenet5_19988\n")
    with pytest.raises(ConfigError, match=r"typo.yaml: base: lenet5_19988: .*did you mean lenet5_1998\?"):
        load_config(tmp_path / "typo.yaml")


def test_base_cycle_detected(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")


def test_overrides_and_type_conversion(tmp_path):
    f = write(tmp_path / "c.yaml", "train: {lr: 1e-3}\n")  # PyYAML reads 1e-3 as a string
    cfg = load_config(
        f,
        ["train.sdlm.mu=1e-2", "train.epochs=3", "data.distortions.enabled=true", "train.fast=off", "seed=7"],
    )
    assert cfg.train.lr == 0.001 and isinstance(cfg.train.lr, float)
    assert cfg.train.sdlm.mu == 0.01 and cfg.train.epochs == 3 and cfg.seed == 7
    assert cfg.data.distortions.enabled is True and cfg.train.fast == "off"


@pytest.mark.parametrize(
    "override,match",
    [
        (["model.activaton=relu"], "did you mean model.activation"),
        (["trian.lr=1"], "did you mean train"),
        (["train.sdlm.muu=1"], "did you mean train.sdlm.mu"),
        (["model.pooling=mean"], "allowed: subsample, avg, max"),
        (["train.epochs=two"], "train.epochs: expected an integer"),
        (["train.epochs=1.5"], "train.epochs: expected an integer"),
        (["train.lr=fast"], "train.lr: expected a number"),
        (["train.loss=cross_entropy"], "needs model.head=linear"),
        (["model.head=linear"], "needs model.head=rbf"),
        (["data.train_size=0"], "data.train_size"),
        (["epochs"], "expected section.key=value"),
    ],
)
def test_bad_values_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(ROOT / "configs" / "lenet5_1998.yaml", override)


def test_cli_config_error_is_one_line_exit_2():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "paper_lenet",
            "info",
            str(ROOT / "configs" / "lenet5_1998.yaml"),
            "model.activaton=relu",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert (
        r.stderr.strip().count("\n") == 0 and "model.activation" in r.stderr and "Traceback" not in r.stderr
    )


def test_cli_info_json_has_paper_totals():
    import json

    r = subprocess.run(
        [sys.executable, "-m", "paper_lenet", "info", str(ROOT / "configs" / "lenet5_1998.yaml"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(r.stdout)
    assert info["total"]["params"] == 60000 and info["total"]["connections"] == 340908
    assert info["layers"][0] == {
        "name": "C1",
        "output_shape": [6, 28, 28],
        "params": 156,
        "connections": 122304,
        "macs": 117600,
    }


EXPLORE_RUNS = sorted((ROOT / "results" / "explore").glob("*/seed*/config.yaml"))


@pytest.mark.parametrize("saved", EXPLORE_RUNS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_explore_run_has_a_config_that_reproduces_it(saved):
    """experiments/configs/explore/<variant>.yaml with the run's seed gives exactly the committed run's
    settings."""
    from paper_lenet.config import to_dict

    ran = to_dict(load_config(saved))
    cfg = STUDY / "explore" / f"{saved.parent.parent.name}.yaml"
    mine = to_dict(load_config(cfg, [f"seed={ran['seed']}", f"train.threads={ran['train']['threads']}"]))
    assert mine == ran


def test_dataclass_defaults_are_the_paper_config():
    """Config() is configs/lenet5_1998.yaml: the defaults are the model (nanoGPT's rule)."""
    from paper_lenet.config import Config, to_dict

    assert to_dict(Config()) == to_dict(load_config(ROOT / "configs" / "lenet5_1998.yaml"))


@functools.cache  # one scan of the config folders for all the parametrized runs
def _config_files_by_name() -> dict:
    out = {}
    for p in sorted((ROOT / "configs").rglob("*.yaml")) + sorted(STUDY.rglob("*.yaml")):
        if p.name.startswith("_"):
            continue
        out.setdefault(load_config(p).name, p)
    return out


RUNS = sorted((ROOT / "results" / "runs").glob("*/seed*/config.yaml")) + sorted(
    (ROOT / "results" / "validation").glob("*/seed*/config.yaml")
)


@pytest.mark.parametrize("saved", RUNS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_committed_run_has_a_config_that_reproduces_it(saved):
    """configs/**/ or experiments/configs/**/<the run's name>.yaml with the run's seed gives exactly the
    committed run's settings."""
    from paper_lenet.config import to_dict

    ran = to_dict(load_config(saved))
    files = _config_files_by_name()
    assert ran["name"] in files, f"no config file in configs/ is named {ran['name']}"
    mine = to_dict(
        load_config(files[ran["name"]], [f"seed={ran['seed']}", f"train.threads={ran['train']['threads']}"])
    )
    assert mine == ran


def test_configs_resolve_by_name_from_the_package():
    from paper_lenet.config import CONFIGS, known_configs

    assert load_config("lenet5_1998") == load_config(ROOT / "configs" / "lenet5_1998.yaml")
    assert load_config("ablations/paper-relu").model.activation == "relu"
    assert load_config("lenet5_lush.yaml").name == "lenet5_lush"
    assert CONFIGS.parent.name == "paper_lenet" and "fig9/lenet4" in known_configs()
    assert not any(
        n.split("/")[0] in ("validation", "explore", "previous") for n in known_configs()
    )  # the study's own
    assert (
        load_config(STUDY / "validation" / "fig9" / "val-linear-ridge0.1.yaml").linear.ridge == 0.1
    )  # base by name
    with pytest.raises(ConfigError, match="did you mean lenet5_1998"):
        load_config("lenet5_1989")
    r = subprocess.run(
        [sys.executable, "-m", "paper_lenet", "info", "lenet5_1998"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "60,000" in r.stdout


def _readme_components() -> list[dict]:
    """The README's component table: one dict per row, column header -> cell."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| component |"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split(" | ")])
    head = rows[0]
    return [dict(zip(head, r, strict=False)) for r in rows[2:]]


def test_the_readme_component_table_names_values_the_config_accepts():
    """Each row's modern column names its setting as `key=value`: a value the config accepts, the value
    configs/modern.yaml holds, under a key of the row's key column (the table once said `dense` for
    model.c3, which allows only table and full)."""
    rows = _readme_components()
    modern_col = next(h for h in rows[0] if h.startswith("modern"))
    modern = load_config("modern")
    assert len(rows) == 7
    for row in rows:
        named = re.findall(r"`([a-z_0-9]+(?:\.[a-z_0-9]+)+)=([^`]+)`", row[modern_col])
        keys = re.findall(r"`([a-z_0-9.*]+)`", row["key"])
        assert named, f"row {row['component']!r}: its modern setting is not named as `key=value`"
        load_config(
            "lenet5_1998", [f"{k}={v}" for k, v in named]
        )  # accepted together (a ConfigError otherwise)
        for key, value in named:
            assert key in keys, (row["component"], key, keys)
            obj = modern
            for part in key.split("."):
                obj = getattr(obj, part)
            assert str(obj) == value, (key, obj)  # what configs/modern.yaml holds
