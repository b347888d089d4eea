"""MNIST for the LeNet-5 reproduction: IDX files, a verified download chain, preprocessing and
the paper's affine distortions.

Names are resolved lazily so that `paper-lenet download` (idx + download only) does not pay for
importing torch; importing this package has no side effects.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "read_idx": "idx", "write_idx": "idx", "load_split": "idx",
    "resolve_root": "download", "ensure_mnist": "download",
    "MNIST": "mnist", "load_mnist": "mnist",
    "distort_batch": "distort", "distorted_pass": "distort", "distortion_grid": "distort",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
