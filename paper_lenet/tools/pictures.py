"""Every picture the package draws, in one place, with one save helper (files.save: folders made, the
file written whole or not at all) and one tile-grid helper: the PNG tile grids of `show-preprocessing`,
`show-tangents` and `show-corruptions`, and the matplotlib plots of `compare --plot` and `robustness
--plot` (maps.py draws `show-maps`, `show-distortions` and `predict --show` with `figure` and
`save_figure` from here). matplotlib is imported here only, and only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.idx import IMAGE_SIDE
from ..data.preprocess import apply
from ..errors import UserError
from ..files import save


def need_matplotlib(what: str = "drawing") -> None:
    """A one-line UserError when matplotlib is missing (checked before any work is done)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(f"{what} needs matplotlib: pip install 'paper-lenet[plot]'") from None


def figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot state); a one-line error without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("drawing needs matplotlib: pip install 'paper-lenet[plot]'") from None

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi: int = 100) -> Path:
    return save(path, lambda f: fig.savefig(f, format="png", dpi=dpi))


def write_png(path, grey: np.ndarray, zoom: int = 1) -> Path:
    """An 8-bit greyscale PNG from a uint8 array (H, W), each pixel drawn zoom x zoom, written whole."""
    grey = np.ascontiguousarray(grey, np.uint8)
    if zoom > 1:
        grey = np.kron(grey, np.ones((zoom, zoom), np.uint8))
    img = Image.fromarray(grey)  # 2-D uint8: mode 'L'
    return save(path, lambda f: img.save(f, format="PNG", optimize=True))


def tile_grid(rows, side: int, gap: int, line: float = 0.0, cell: float | None = None) -> np.ndarray:
    """A float canvas of rows of 2-D tiles, each centred in a side x side cell; cells `gap` apart and
    from the edges, the lines between them `line`, each cell first filled with `cell` (None: line)."""
    step = side + gap
    canvas = np.full((len(rows) * step + gap, max(len(r) for r in rows) * step + gap), line, np.float32)
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            y, x = r * step + gap, c * step + gap
            if cell is not None:
                canvas[y : y + side, x : x + side] = cell
            t = np.asarray(tile)
            oy, ox = (side - t.shape[0]) // 2, (side - t.shape[1]) // 2
            canvas[y + oy : y + oy + t.shape[0], x + ox : x + ox + t.shape[1]] = t
    return canvas


def save_preprocessing_grid(
    raw, modes, path, zoom: int = 4, gap: int = 2, variant: str = "text", threshold: float = 128
) -> Path:
    """`show-preprocessing`: a PNG with one column per image of raw [n,28,28] and one row per mode
    (`none` = the raw digit), each tile centred in a 28x28 cell, dark ink on white, enlarged `zoom`
    times; deslant rows use data.deslant `variant` and `threshold`."""
    rows = [list(apply(raw, mode, variant, threshold).clamp(0, 255).numpy()) for mode in modes]
    canvas = tile_grid(rows, IMAGE_SIDE, gap, line=48, cell=0)  # light grey lines
    return write_png(path, (255 - np.rint(canvas)).astype(np.uint8), zoom)


def save_tangent_picture(rows, side: int, path, zoom: int = 6, gap: int = 2) -> Path:
    """`show-tangents`: rows of tiles in [0, 1] (comparison/tangent.tangent_tiles: the image, its
    smoothed version, its 7 tangent vectors with 0 at mid grey), dark = 1. Returns the path."""
    canvas = tile_grid([[np.clip(t, 0, 1) for t in r] for r in rows], side, gap)
    return write_png(path, (255 - np.rint(255 * canvas)).astype(np.uint8), zoom)


def save_labelled_rows(path, names, rows: np.ndarray, zoom: int = 3, label_width: int = 90) -> Path:
    """`show-corruptions`: uint8 image strips (rows, H, W), each enlarged `zoom` times, its name left of
    it."""
    h, w = rows.shape[1] * zoom, rows.shape[2] * zoom
    canvas = Image.new("L", (label_width + w, h * len(rows)), 255)
    draw = ImageDraw.Draw(canvas)
    for i, (name, row) in enumerate(zip(names, rows, strict=False)):
        canvas.paste(Image.fromarray(row).resize((w, h), Image.NEAREST), (label_width, i * h))
        draw.text((4, i * h + h // 2 - 6), name, fill=0)
    return save(path, lambda f: canvas.save(f, format="PNG", optimize=True))


def _interval(ax, x: dict, y: float, **kw) -> None:
    """A mean with its 95% interval ({"mean", "ci95"}; no interval: the mean alone)."""
    lo, hi = x["ci95"] if x["ci95"] else (x["mean"], x["mean"])
    ax.errorbar([x["mean"]], [y], xerr=[[x["mean"] - lo], [hi - x["mean"]]], fmt="o", **kw)


def compare_plot(result: dict, path) -> Path:
    """`compare --plot`: each config's mean error with its 95% t-interval (and each seed's error as a dot)."""
    configs = result["configs"]
    fig = figure(6.4, 0.6 + 0.45 * len(configs))
    ax = fig.subplots()
    for y, c in enumerate(configs):
        _interval(ax, c, y, color="C0", capsize=4)
        ax.plot(c["errors"], [y] * c["n"], "x", color="C1", alpha=0.7)
    ax.set_yticks(range(len(configs)), [c["name"] for c in configs])
    ax.set_ylim(len(configs) - 0.5, -0.5)
    ax.set_xlabel("test error (%): mean and 95% t-interval over seeds (x: each seed)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def robustness_plot(result: dict, path) -> Path:
    """`robustness --plot`. Left: mean corrupted error per config (95% t-interval); right: AUROC of each
    head's first score per rubbish set (95% t-interval)."""
    cfgs = result["configs"]
    fig = figure(11, 0.9 + 0.5 * len(cfgs))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    for y, c in enumerate(cfgs):
        _interval(ax1, c["mean_corruption"], y, color="C0", capsize=3)
        _interval(ax1, c["clean"], y + 0.2, color="C2", capsize=3)
        for k, g in enumerate(result["rubbish"]):
            s = next(iter(c["rejection"][g]))
            off = y + (k - len(result["rubbish"]) / 2) * 0.1
            _interval(
                ax2, c["rejection"][g][s]["auroc"], off, color=f"C{k}", capsize=2, label=g if y == 0 else None
            )
    for ax in (ax1, ax2):
        ax.set_yticks(range(len(cfgs)), [c["name"] for c in cfgs])
        ax.set_ylim(len(cfgs) - 0.5, -0.5)
    ax2.set_yticklabels([])
    ax1.set_xlabel("error %: mean corrupted (blue), clean (green)")
    ax2.set_xlabel("AUROC, digits vs rubbish (min distance / max softmax)")
    ax2.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
