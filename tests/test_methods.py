"""A Fig. 9 method is declared once, next to its code (registry.fitted): a toy method added the way
docs/architecture.md says, one Python file plus one YAML, is a model.arch with its own config section,
bounds, cost and run, and nothing else in the package changes. The registry is the one list."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from paper_lenet.config import Config, load_config, optional_sections, to_dict
from paper_lenet.core import registry
from paper_lenet.errors import ConfigError, UserError
from paper_lenet.runs.runpaths import seed_path
from paper_lenet.study.make import make_run

TOY = '''
"""A toy Fig. 9 method: it answers one class whatever the image."""
from dataclasses import dataclass

import torch

from paper_lenet.comparison.base import FittedModel
from paper_lenet.core.registry import bounded, fitted


@dataclass
class ToyConfig:
    answer: int = bounded(0, low=0, high=9)  # the class it always answers


class Toy(FittedModel):
    def __init__(self, answer):
        self.answer, self.summary = answer, {"answer": answer}

    def scores(self, x):
        return torch.nn.functional.one_hot(torch.full((len(x),), self.answer), 10).float()


def toy_cost(cfg):
    return {"macs": 0, "memory": 1}


@fitted("toy", section=ToyConfig, cost=toy_cost, row=lambda cfg: None, paper_section="none")
def fit_toy(cfg, x, y, log=print):
    return Toy(cfg.toy.answer)
'''

YAML = """name: toy-run
model: {arch: toy}
toy: {answer: 3}
data: {train_size: 50, download: false}
"""


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy_method.py").write_text(TOY)
    (tmp_path / "toy.yaml").write_text(YAML)
    spec = importlib.util.spec_from_file_location("toy_method", tmp_path / "toy_method.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the decorator registers model.arch toy
    yield module, tmp_path / "toy.yaml"
    registry.METHODS.pop("toy", None)
    sys.modules.pop("toy_method", None)


def test_a_toy_method_in_one_file_and_one_yaml_runs(toy, tmp_path, synthetic_root):
    module, path = toy
    assert "toy" in registry.methods() and registry.method_sections()["toy"] is module.ToyConfig
    assert "toy" in optional_sections()
    cfg = load_config(path, [f"data.root={synthetic_root}"])
    assert cfg.toy == module.ToyConfig(answer=3) and cfg.method_section() is cfg.toy and cfg.knn is None
    assert to_dict(cfg)["toy"] == {"answer": 3}
    assert Config(toy=module.ToyConfig(answer=1)).toy.answer == 1
    summary = make_run(cfg, tmp_path / "run", log=lambda *_: None)
    assert summary["arch"] == "toy" and summary["answer"] == 3 and summary["memory"] == 1
    assert 0.5 < summary["test_error"] < 1  # it answers 3 to every digit
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["test_error"] == summary["test_error"]
    fitted = module.fit_toy(cfg, None, None)
    assert isinstance(fitted, registry.Fitted) and fitted.cost() == {}
    fitted.save(tmp_path / "toy.pt")
    assert module.Toy.load(tmp_path / "toy.pt").answer == 3


def test_the_toy_methods_bounds_and_section_are_checked(toy, synthetic_root):
    _, path = toy
    with pytest.raises(ConfigError, match=r"toy.answer must be <= 9 \(got 12\)"):
        load_config(path, ["toy.answer=12"])
    with pytest.raises(ConfigError, match="unknown key toy.nosuch"):
        load_config(path, ["toy.nosuch=1"])
    with pytest.raises(ConfigError, match="section toy: is for model.arch=toy"):
        load_config("lenet5_1998", ["toy.answer=1"])


def test_without_the_toy_its_name_is_refused():
    with pytest.raises(ConfigError, match="model.arch: invalid value 'toy'; allowed: knn, lenet1"):
        load_config("lenet5_1998", ["model.arch=toy"])
    with pytest.raises(ConfigError, match="unknown key toy"):
        load_config("lenet5_1998", ["toy.answer=1"])


def test_every_fitted_method_is_declared_whole():
    fitted = [m for m in registry.METHODS.values() if m.kind == "fitted"]
    assert {m.name for m in fitted} == set(registry.method_sections()) >= {"linear", "knn", "svm", "tangent"}
    for m in fitted:
        assert m.fit and m.section and m.cost and m.row and m.paper_section.startswith("III-C"), m.name
    nets = {m.name for m in registry.METHODS.values() if m.kind == "network"}
    assert nets == {"lenet5", "lenet1", "lenet4", "mlp"}
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(registry.Method("knn", "network", lambda c: {}, lambda c: None))


def test_every_section_bound_is_enforced():
    """Each method's bounded fields: the bound itself loads, one past it is a one-line error."""
    from dataclasses import fields

    checked = 0
    for arch, section in registry.method_sections().items():
        for f in fields(section):
            low = f.metadata.get("low")
            if low is None:
                continue
            cfg = load_config(None, [f"model.arch={arch}", f"{arch}.{f.name}={low}"])
            assert getattr(cfg.method_section(), f.name) == low
            with pytest.raises(ConfigError, match=f"{arch}.{f.name} must be >= {low}"):
                load_config(None, [f"model.arch={arch}", f"{arch}.{f.name}={low - 1}"])
            checked += 1
    assert checked >= 12


def test_one_seed_template_resolver(tmp_path):
    assert str(seed_path("runs/x/seed{seed}", 3, "knn.features")) == "runs/x/seed3"
    for bad in ("runs/{name}/seed{seed}", "runs/{0}", "runs/{seed"):
        with pytest.raises(UserError, match=r"^boost.net1: .*only \{seed\} is filled in"):
            seed_path(bad, 0, "boost.net1")
