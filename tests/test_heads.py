"""The output head as an object (heads.py): one class per model.head owns its layer, its scores and
their meaning, its paired losses, its curvature term and its label; no other module compares
model.head to a name, and the layers count themselves for accounting.py."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
import torch

from paper_lenet.config import ModelConfig, load_config
from paper_lenet.core.heads import HEADS, head
from paper_lenet.core.layers import RBF, Full
from paper_lenet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_the_configs_head_names_are_the_heads():
    assert typing.get_args(typing.get_type_hints(ModelConfig)["head"]) == tuple(HEADS)


def _compares_head_to_a_string(tree) -> list[int]:
    def is_head(n):
        return (isinstance(n, ast.Attribute) and n.attr == "head") or (
            isinstance(n, ast.Name) and n.id == "head"
        )

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_head(s) for s in sides) and any(
                isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides
            ):
                lines.append(node.lineno)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict) and is_head(node.slice):
            lines.append(node.lineno)  # {"rbf": ..., "linear": ...}[head]
    return lines


def test_no_module_but_the_heads_compares_model_head_to_a_name():
    found = {
        str(p.relative_to(ROOT)): lines
        for pkg in ("paper_lenet", "experiments")
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if p.name != "heads.py"
        if (lines := _compares_head_to_a_string(ast.parse(p.read_text())))
    }
    assert found == {}
    assert _compares_head_to_a_string(ast.parse('x = 1 if cfg.head == "rbf" else 2')) == [1]


@pytest.mark.parametrize(
    "name,layer,losses,distance",
    [
        ("rbf", RBF, ("mse", "map"), True),
        ("linear", Full, ("cross_entropy",), False),
        ("squashed", Full, ("edist",), False),
    ],
)
def test_each_head_owns_its_layer_scores_and_losses(name, layer, losses, distance):
    h = head(name)
    assert isinstance(h.layer("scaled_tanh"), layer) and h.losses == losses and h.distance == distance
    out = torch.tensor([[3.0, 1.0, 2.0]])
    assert int(h.scores(out).argmax(1)) == (1 if distance else 0)  # a distance: the smallest wins
    assert h.output == ("rbf_distance" if distance else "score")
    for loss in ("mse", "map", "cross_entropy", "edist"):
        if loss in losses:
            h.check_loss(loss)
        else:
            with pytest.raises(ConfigError, match=f"train.loss={loss} needs model.head="):
                h.check_loss(loss)


def test_an_unknown_head_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match="not a head"):
        head("softmax")
    with pytest.raises(ConfigError):
        load_config(None, ["model.head=softmax"])


def test_the_squashed_head_squashes_and_the_linear_does_not():
    x = torch.full((1, 84), 10.0)
    for name, bounded in (("squashed", True), ("linear", False)):
        f = head(name).layer("scaled_tanh")
        torch.nn.init.constant_(f.weight, 1.0)
        torch.nn.init.zeros_(f.bias)
        assert (f(x).abs().max() <= 1.7159 + 1e-6) == bounded
