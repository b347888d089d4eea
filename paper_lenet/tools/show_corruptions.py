"""`paper-lenet show-corruptions --out F.png`: MNIST-C's 15 corruptions of the first test digits, one row
each under the clean row, then the six rubbish sets' first images (the robustness study's test data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.download import resolve_root
from ..data.idx import load_split
from ..data.mnist_c import CORRUPTIONS, corrupt
from ..data.rubbish import RUBBISH, rubbish
from .pictures import save_labelled_rows

ZOOM = 3
LABEL_W = 90


def corruption_grid(
    test_x: np.ndarray, train_x: np.ndarray, train_y: np.ndarray, n: int = 8, seed: int = 0
) -> tuple[list[str], np.ndarray]:
    """(row names, uint8 (rows, 28, 28 n)): clean, each corruption of the first n test digits, each
    rubbish set's first n images (the same images as the full set's first n: one image draws after
    another)."""
    names, rows = ["clean"], [test_x[:n]]
    for c in CORRUPTIONS:
        names.append(c.replace("_", " "))
        rows.append(corrupt(test_x[:n], c, seed))
    for r in RUBBISH:
        names.append(f"rubbish: {r}")
        rows.append(rubbish(r, n, seed, train_x, train_y))
    return names, np.stack([np.concatenate(list(r), axis=1) for r in rows])


def save_corruption_picture(path, root=None, n: int = 8, seed: int = 0) -> Path:
    folder = resolve_root(root)
    test_x, _ = load_split(folder, "test")
    train_x, train_y = load_split(folder, "train")
    names, rows = corruption_grid(test_x, train_x, train_y, n, seed)
    return save_labelled_rows(path, names, rows, ZOOM, LABEL_W)
