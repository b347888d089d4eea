"""The registry: every `model.arch` name -> its method (builder or fit, compiled stepper, cost, paper row).

torchvision's model registry in spirit: code asks the registry what a name is instead of comparing
strings. The networks (LeNet-5 and the comparison's other nets, all trained by train.py) are
registered here; the methods fitted in closed form register themselves when `paper_lenet.comparison`
is imported (the core never imports it; make.py, above both, does).

    name      kind     builds / fits                     fast per-sample path
    lenet5    network  model.LeNet5                      fast.FastStepper (lenet5.c)
    lenet1    network  nets.SeqNet                       fast.seqnet.SeqStepper (seqnet.c)
    lenet4    network  nets.SeqNet                       fast.seqnet.SeqStepper
    mlp       network  nets.SeqNet                       fast.seqnet.SeqStepper
    linear, pairwise, knn, pca_quadratic, rbf_linear: fitted (comparison/__init__.py)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn as nn

from . import paper
from .accounting import count
from .config import Config, ModelConfig
from .errors import ConfigError
from .fast.seqnet import SeqStepper, seqnet_supported
from .fast.stepper import FastStepper, fast_supported
from .layers import init_layer
from .model import LeNet5
from .nets import SeqNet


@dataclass(frozen=True)
class Method:
    """One `model.arch`. A network has `build` (and `fast`: (supported(model, cfg) -> reason or None,
    stepper class)); a fitted method has `fit(cfg, out, resume, log) -> summary`. `cost(cfg)` gives
    Figs. 11-12's {"macs", "memory"}; `row(cfg)` the Fig. 9 row the config is for (None: none)."""
    name: str
    kind: str  # "network" | "fitted"
    cost: Callable[[Config], dict]
    row: Callable[[Config], Optional[str]]
    build: Optional[Callable[[ModelConfig], nn.Module]] = None
    fast: Optional[tuple[Callable, type]] = None
    fit: Optional[Callable] = None
    paper_counts: Optional[Callable[[ModelConfig], dict]] = None  # networks: the paper's counts for `info`


METHODS: dict[str, Method] = {}


def register(m: Method) -> Method:
    METHODS[m.name] = m
    return m


def method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"model.arch: {name!r} is not registered (registered: {', '.join(sorted(METHODS))}; "
                          "the comparison's fitted methods register when paper_lenet.comparison is imported)")
    return METHODS[name]


def build_model(cfg: ModelConfig, seed: int | None = None) -> nn.Module:
    """Build and initialise the `model:` section's network (seeded when seed is given)."""
    m = method(cfg.arch)
    if m.build is None:
        raise ConfigError(f"model.arch: {cfg.arch!r} is fitted by `paper-lenet train`, not built as a network")
    model = m.build(cfg)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for layer in model.trainable_layers():
        init_layer(layer, cfg.init, cfg.bias_init, gen, cfg.init_v, cfg.init_p)
    return model


def describe(cfg: Config) -> dict:
    """A network's per-layer counts (accounting.count) with the paper's beside them."""
    info = count(build_model(cfg.model, seed=cfg.seed))
    return dict(info, paper=method(cfg.model.arch).paper_counts(cfg))


def paper_cost(cfg: Config) -> dict:
    """Figs. 11-12's figures for the config's row ({} when it gives none), in MACs and variables. A
    row with a [dist] or [deslant] tag that Figs. 11-12 leave out costs what the plain row does
    (training distortions cost nothing at recognition; the paper's Linear 4K is the deslanted one)."""
    row = method(cfg.model.arch).row(cfg)
    for r in (row, row and row.split("] ", 1)[-1]):
        if r in paper.FIG11_12:
            macs, memory = paper.FIG11_12[r]
            return {"macs": macs * 1000, "memory": memory * 1000, "row": r}
    return {}


def fig9_row(label: str) -> Optional[str]:
    """label when it is one of Fig. 9's rows, else None."""
    return label if label in paper.FIG9 else None


def preprocess_tag(cfg: Config) -> str:
    """Fig. 9's prefix for the config's input: [dist], [deslant], [16x16] or none."""
    d = cfg.data
    return "[dist] " if d.distortions.enabled else {"deslant": "[deslant] ", "16x16": "[16x16] "}.get(d.preprocess, "")


# ---- the networks -----------------------------------------------------------------------------


def _network_cost(cfg: Config) -> dict:
    total = count(build_model(cfg.model))["total"]
    return {"macs": total["macs"], "memory": total["params"]}


def _seqnet_fast() -> tuple[Callable, type]:
    return seqnet_supported, SeqStepper


def _lenet_row(cfg: Config) -> Optional[str]:
    if cfg.model.arch == "lenet4" and cfg.boost is not None:
        return "[dist] Boosted LeNet-4"
    name = {"lenet5": "LeNet-5", "lenet1": "LeNet-1", "lenet4": "LeNet-4"}[cfg.model.arch]
    return fig9_row(preprocess_tag(cfg) + name)


def _mlp_row(cfg: Config) -> Optional[str]:
    side = cfg.model.input_size
    return fig9_row(preprocess_tag(cfg) + "-".join([f"{side}x{side}", *map(str, cfg.model.hidden), "10"]))


def _outline(total: dict, note: str) -> dict:
    return {"layers": {}, "total": total, "note": note}


def _lenet1_counts(cfg: Config) -> dict:
    return _outline({"params": paper.LENET1["params"], "connections": None, "macs": paper.LENET1["macs"]},
                    "Sec. III-C: \"about\"")


def _lenet4_counts(cfg: Config) -> dict:
    return _outline({"params": paper.LENET4["params"], "connections": paper.LENET4["connections"],
                     "macs": paper.FIG11_12["LeNet-4"][0] * 1000}, "Sec. III-C and Fig. 11: \"about\"")


def _mlp_counts(cfg: Config) -> dict:
    p = paper_cost(cfg)
    return _outline({"params": p.get("memory"), "connections": None, "macs": p.get("macs")},
                    f"Figs. 11-12, {p['row']}, in thousands" if p else "the paper gives no cost for this net")


def _lenet5_fast(model, cfg):
    return fast_supported(model, cfg, per_sample=True)


register(Method("lenet5", "network", _network_cost, _lenet_row, build=LeNet5, fast=(_lenet5_fast, FastStepper),
                paper_counts=lambda cfg: paper.PAPER))
register(Method("lenet1", "network", _network_cost, _lenet_row, build=SeqNet, fast=_seqnet_fast(),
                paper_counts=_lenet1_counts))
register(Method("lenet4", "network", _network_cost, _lenet_row, build=SeqNet, fast=_seqnet_fast(),
                paper_counts=_lenet4_counts))
register(Method("mlp", "network", _network_cost, _mlp_row, build=SeqNet, fast=_seqnet_fast(),
                paper_counts=_mlp_counts))
