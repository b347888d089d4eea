"""Shared fixtures: a small synthetic MNIST root (learnable: each class is a distinct stroke)."""

from __future__ import annotations

import numpy as np
import pytest

from paper_lenet.data.idx import write_idx


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 uint8 images: class c is a bar at a class-specific place, jittered, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    imgs = np.zeros((n, 28, 28), np.uint8)
    for i, c in enumerate(labels):
        dx, dy = rng.integers(-1, 2, 2)
        r = 4 + 2 * (c % 5) + dy
        if c < 5:
            imgs[i, r : r + 3, 6 + dx : 22 + dx] = 255  # horizontal bar, row by class
        else:
            imgs[i, 6 + dy : 22 + dy, r : r + 3] = 255  # vertical bar, column by class
    noise = rng.integers(0, 40, imgs.shape).astype(np.uint8)
    return np.maximum(imgs, noise), labels


def make_root(path, n_train=600, n_test=200):
    path.mkdir(parents=True, exist_ok=True)
    x, y = synthetic_digits(n_train, 0)
    write_idx(path / "train-images-idx3-ubyte", x)
    write_idx(path / "train-labels-idx1-ubyte", y)
    x, y = synthetic_digits(n_test, 1)
    write_idx(path / "t10k-images-idx3-ubyte", x)
    write_idx(path / "t10k-labels-idx1-ubyte", y)
    return path


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("synthetic_mnist"))
