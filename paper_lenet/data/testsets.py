"""The robustness study's test sets, made once and kept: MNIST-C's corrupted copies of the MNIST test set
(data/mnist_c.py) and the rubbish sets (data/rubbish.py), each cached as a .npy under
$PAPER_LENET_CACHE (default ~/.cache/paper_lenet)/robustness, keyed by a hash of the code that makes it,
its name, seed and size, and the images it is made from: a change to any of them makes a new file.
Written through a temporary file, so a killed run never leaves half a set.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from ..files import atomic_write
from . import image, mnist_c, mnist_c_ops
from . import rubbish as rubbish_mod

# every module whose code draws a set: rubbish's digits are placed by image.to_mnist, so a change there
# (issue 36's centring) must make the sets again, not reuse ones drawn by the old code
_SOURCES = (mnist_c, mnist_c_ops, rubbish_mod, image)


def cache_dir() -> Path:
    root = os.environ.get("PAPER_LENET_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "paper_lenet") / "robustness"


def _key(*parts) -> str:
    h = hashlib.sha256()
    for mod in _SOURCES:
        h.update(Path(mod.__file__).read_bytes())
    for p in parts:
        h.update(p.tobytes() if isinstance(p, np.ndarray) else repr(p).encode())
    return h.hexdigest()[:16]


def _cached(name: str, key: str, make) -> np.ndarray:
    path = cache_dir() / f"{name}-{key}.npy"
    if path.is_file():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass  # damaged: made again below
    out = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.save(buf, out, allow_pickle=False)
        atomic_write(path, lambda f: f.write(buf.getvalue()))
    except Exception:  # noqa: BLE001  an unwritable cache only costs the time to make the set again
        pass
    return out


def corrupted(images: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """mnist_c.corrupt(images, name, seed), cached."""
    images = np.ascontiguousarray(images, np.uint8)
    return _cached(
        f"mnistc-{name}-s{seed}", _key("c", name, seed, images), lambda: mnist_c.corrupt(images, name, seed)
    )


def rubbish(
    name: str, digits: np.ndarray, labels: np.ndarray, n: int = rubbish_mod.SIZE, seed: int = 0
) -> np.ndarray:
    """rubbish.rubbish(name, n, seed, digits, labels), cached."""
    digits = np.ascontiguousarray(digits, np.uint8)
    labels = np.ascontiguousarray(labels, np.int64)
    uses = name in rubbish_mod.NEEDS_DIGITS
    key = _key("r", name, seed, n, *((digits, labels) if uses else ()))
    return _cached(
        f"rubbish-{name}-s{seed}-n{n}",
        key,
        lambda: rubbish_mod.rubbish(name, n, seed, digits if uses else None, labels if uses else None),
    )
