"""Pictures of what a model sees: `predict --show` (the centred 28x28 field beside the 10 outputs),
`paper-lenet show-maps` (the paper's Fig. 2 with a real digit: the input, every layer's feature maps
from the model's own `trace`, and the 10 outputs) and `paper-lenet show-distortions` (originals and
distorted copies, data/distort.distortion_grid). matplotlib is imported here only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.distort import distortion_grid
from .hub import load_model
from .pictures import figure, save_figure


def _bars(ax, values, axis: str, winner: int) -> None:
    colours = ["tab:red" if d == winner else "tab:grey" for d in range(len(values))]
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xticks(range(len(values)))
    ax.set_ylabel(axis, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.get_xticklabels()[winner].set_color("tab:red")


def _plain(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def draw_seen(fields: np.ndarray, results: list[dict], path, axis: str = "score") -> Path:
    """One row per image: the 28x28 field the model saw (after centring, ink bright as in MNIST)
    and its 10 outputs (`axis`: what they are, the head's `axis`), the chosen class in red."""
    fig = figure(7.0, 2.2 * len(fields))
    axes = fig.subplots(len(fields), 2, squeeze=False, gridspec_kw={"width_ratios": [1, 2.5]})
    for (a, b), field, r in zip(axes, fields, results, strict=False):
        a.imshow(field, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        _plain(a)
        a.set_title(Path(r["image"]).name, fontsize=8)
        _bars(b, r["values"], axis, r["class"])
        b.set_title(f"class {r['class']}  ({r['model']})", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def _as_grid(v: np.ndarray) -> np.ndarray:
    """A layer's vector of units as a picture: 84 (F6) -> 7x12 as the RBF codes, 120 -> 10x12."""
    n = v.size
    w = 12 if n % 12 == 0 else next(d for d in range(int(np.sqrt(n)), 0, -1) if n % d == 0)
    return v.reshape(-1, w)


@torch.no_grad()
def draw_maps(model, x: torch.Tensor, path, title: str = "") -> Path:
    """The input (1, S, S), each stage's output from model.trace (maps, or a vector drawn as a grid)
    and the 10 outputs, one row each, in the paper's Fig. 2 order."""
    stages, feats = model.trace(x[None])
    outs = model.F7(feats)[0]
    rows = []  # (label, [pictures], grey-scale limit)
    for name, t in [("input", x[None])] + [(name, layer.act(a)) for name, layer, _, a in stages]:
        t = t[0].numpy()
        maps = list(t) if t.ndim == 3 and t.shape[1:] != (1, 1) else [_as_grid(t.reshape(-1))]
        lim = max(float(np.abs(t).max()), 1e-6)  # one grey scale per layer, 0 in the middle
        rows.append((f"{name} {'x'.join(map(str, t.shape))}", maps, lim))
    cols = max(16, *(len(maps) for _, maps, _ in rows))
    fig = figure(cols * 0.75, 0.85 * (len(rows) + 2))
    grid = fig.add_gridspec(len(rows) + 1, cols + 2)
    for r, (label, maps, lim) in enumerate(rows):
        for c, m in enumerate(maps):
            ax = fig.add_subplot(grid[r, 2 + c] if len(maps) > 1 else grid[r, 2:4])
            ax.imshow(m, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
            _plain(ax)
        fig.add_subplot(grid[r, 0:2]).text(0.5, 0.5, label, ha="center", va="center", fontsize=9)
        fig.axes[-1].axis("off")
    winner = int(model.scores(outs[None]).argmax(1))
    ax = fig.add_subplot(grid[len(rows), 2:])
    _bars(ax, outs.numpy(), model.head.axis, winner)
    ax.set_title(f"output: class {winner}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def show_maps(image, out, run: str | None = None, name: str | None = None) -> Path:
    """`paper-lenet show-maps IMAGE --out F.png`: the packaged model (or a run's) on one image."""
    label, model, tf = load_model(run, name)
    return draw_maps(model, tf(image), out, title=f"{image}  ({label})")


def save_distortion_grid(raw, cfg, path, n: int = 10, copies: int = 6, seed: int = 0, labels=None) -> Path:
    """`paper-lenet show-distortions`: a PNG of distortion_grid (cfg a DistortConfig): column j is
    sample j, the top row its original, then `copies` rows of distorted versions."""
    idx, rows = distortion_grid(raw, cfg, n, copies, seed, labels)
    fig = figure(len(idx) * 0.9, len(rows) * 0.95)
    axes = fig.subplots(len(rows), len(idx), squeeze=False)
    for r, imgs in enumerate(rows):
        for c in range(len(idx)):
            ax = axes[r][c]
            ax.imshow(imgs[c].numpy(), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel("original" if r == 0 else f"copy {r}", fontsize=7)
    fig.suptitle(
        f"translate ±{cfg.translate:g}px  scale ±{cfg.scale:g}  squeeze ±{cfg.squeeze:g}"
        f"  shear ±{cfg.shear:g}",
        fontsize=8,
    )
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
