"""The networks of the registry: LeNet-5 (model.py) and the comparison's other nets (nets.py: LeNet-1,
LeNet-4, the MLPs), all trained by train.py, each with its compiled per-sample stepper (fast/), its
cost, its Fig. 9 row and the paper's own counts for `paper-lenet info`. The fitted methods register
next to their code in comparison/ (registry.py)."""

from __future__ import annotations

from collections.abc import Callable

from .. import paper
from ..core.accounting import count
from ..core.model import LeNet5, build_model
from ..core.nets import SeqNet
from ..core.registry import Method, fig9_row, method, paper_cost, preprocess_tag, register
from ..fast.seqnet import SeqStepper, seqnet_supported
from ..fast.stepper import FastStepper, fast_supported


def describe(cfg) -> dict:
    """A network's per-layer counts (accounting.count) with the paper's beside them."""
    info = count(build_model(cfg.model, seed=cfg.seed))
    return dict(info, paper=method(cfg.model.arch).paper_counts(cfg))


def _network_cost(cfg) -> dict:
    total = count(build_model(cfg.model))["total"]
    return {"macs": total["macs"], "memory": total["params"]}


def _seqnet_fast() -> tuple[Callable, type]:
    return seqnet_supported, SeqStepper


def _lenet_row(cfg) -> str | None:
    if cfg.model.arch == "lenet4" and cfg.boost is not None:
        return "[dist] Boosted LeNet-4"
    name = {"lenet5": "LeNet-5", "lenet1": "LeNet-1", "lenet4": "LeNet-4"}[cfg.model.arch]
    return fig9_row(preprocess_tag(cfg) + name)


def _mlp_row(cfg) -> str | None:
    side = cfg.model.input_size
    return fig9_row(preprocess_tag(cfg) + "-".join([f"{side}x{side}", *map(str, cfg.model.hidden), "10"]))


def _outline(total: dict, note: str) -> dict:
    return {"layers": {}, "total": total, "note": note}


def _lenet1_counts(cfg) -> dict:
    return _outline(
        {"params": paper.LENET1["params"], "connections": None, "macs": paper.LENET1["macs"]},
        'Sec. III-C: "about"',
    )


def _lenet4_counts(cfg) -> dict:
    return _outline(
        {
            "params": paper.LENET4["params"],
            "connections": paper.LENET4["connections"],
            "macs": paper.FIG11_12["LeNet-4"][0] * 1000,
        },
        'Sec. III-C and Fig. 11: "about"',
    )


def _mlp_counts(cfg) -> dict:
    p = paper_cost(cfg)
    return _outline(
        {"params": p.get("memory"), "connections": None, "macs": p.get("macs")},
        f"Figs. 11-12, {p['row']}, in thousands" if p else "the paper gives no cost for this net",
    )


def _lenet5_fast(model, cfg):
    return fast_supported(model, cfg, per_sample=True)


register(
    Method(
        "lenet5",
        "network",
        _network_cost,
        _lenet_row,
        "II-B",
        build=LeNet5,
        fast=(_lenet5_fast, FastStepper),
        paper_counts=lambda cfg: paper.PAPER,
    )
)
register(
    Method(
        "lenet1",
        "network",
        _network_cost,
        _lenet_row,
        "III-C",
        build=SeqNet,
        fast=_seqnet_fast(),
        paper_counts=_lenet1_counts,
    )
)
register(
    Method(
        "lenet4",
        "network",
        _network_cost,
        _lenet_row,
        "III-C",
        build=SeqNet,
        fast=_seqnet_fast(),
        paper_counts=_lenet4_counts,
    )
)
register(
    Method(
        "mlp",
        "network",
        _network_cost,
        _mlp_row,
        "III-C",
        build=SeqNet,
        fast=_seqnet_fast(),
        paper_counts=_mlp_counts,
    )
)
