"""Parameter, connection and multiply-accumulate counts derived from a built model.

Nothing here is typed in; registry.describe puts the paper's figures (paper.py) beside these.
Each layer counts its own (`counts` in layers.py): a connection is one input->unit link plus one for
the bias (the paper's convention: C1 has (25 + 1) x 28 x 28 x 6 = 122,304); a MAC is one weight
multiply-accumulate per input link.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def count(model) -> dict:
    """Per-layer output shape, trainable params, connections and MACs, and their totals (LeNet-5 or a
    SeqNet: any model with `trace` and an output layer F7)."""
    size = model.cfg.input_size
    stages, feats = model.trace(torch.zeros(1, 1, size, size))
    shapes = [(name, layer, list(a.shape[1:])) for name, layer, _, a in stages]
    shapes.append(("F7", model.F7, list(model.F7(feats).shape[1:])))
    layers = []
    for name, layer, shape in shapes:
        p, c, m = layer.counts(shape)  # each layer counts its own (layers.py)
        layers.append({"name": name, "output_shape": shape, "params": p, "connections": c, "macs": m})
    total = {k: sum(row[k] for row in layers) for k in ("params", "connections", "macs")}
    assert total["params"] == sum(p.numel() for p in model.parameters()), "a layer is missing from the count"
    return {"layers": layers, "total": total}


def fmt_count(v) -> str:
    return "-" if v is None else f"{v:,}" if isinstance(v, int) else str(v)


def format_table(info: dict) -> str:
    """Ours next to the paper's, layer by layer ("-": the paper gives none)."""
    paper = info["paper"]["layers"]
    rows = [
        f"{'layer':5} {'output':>12} {'params':>8} {'paper':>8} {'connections':>12} {'paper':>9} {'MACs':>9}"
    ]
    for row in info["layers"]:
        pp, pc = paper.get(row["name"], ("-", "-"))
        shape = "x".join(map(str, row["output_shape"]))
        rows.append(
            f"{row['name']:5} {shape:>12} {row['params']:>8,} {fmt_count(pp):>8} {row['connections']:>12,} "
            f"{fmt_count(pc):>9} {row['macs']:>9,}"
        )
    t, pt = info["total"], info["paper"]["total"]
    rows.append(
        f"{'total':5} {'':>12} {t['params']:>8,} {fmt_count(pt['params']):>8} {t['connections']:>12,} "
        f"{fmt_count(pt['connections']):>9} {t['macs']:>9,}"
    )
    rows.append(f"paper MACs: about {fmt_count(pt['macs'])} ({info['paper']['note']})")
    return "\n".join(rows)
