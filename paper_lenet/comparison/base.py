"""What the fitted methods share: FittedModel (the defaults of registry.Fitted's contract) and the
seeded training subset their training error is scored on."""

from __future__ import annotations

import torch

TRAIN_ERROR_N = 10000  # the training error is scored on this many training images (a seeded subset)


def train_subset(n: int, seed: int, size: int = TRAIN_ERROR_N) -> torch.Tensor:
    """`size` of n training images (seeded), in order; all of them when there are fewer (the fitted
    methods' train_index: their training error is scored on these)."""
    if n <= size:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:size].sort().values


class FittedModel:
    """A fitted method's result (registry.Fitted): subclasses define `scores`; the rest has defaults.
    An instance sets `summary` (summary.json's extra keys, Figs. 11-12's macs and memory when the fit
    decides them), `metrics` (metrics.jsonl's) and `extra_scores` (other readouts) when it has any."""

    summary: dict = {}
    metrics: dict = {}
    extra_scores: dict = {}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)

    def cost(self) -> dict:
        return {k: self.summary[k] for k in ("macs", "memory") if k in self.summary}

    def train_index(self, n: int) -> torch.Tensor | None:
        """The training images its training error is scored on (None: all of them)."""
        return None

    def save(self, path) -> None:
        torch.save({"class": type(self).__name__, "state": self.__dict__}, path)

    @classmethod
    def load(cls, path) -> FittedModel:
        saved = torch.load(path, weights_only=False)  # our own file: plain tensors, numbers and functions
        if saved["class"] != cls.__name__:
            raise ValueError(f"{path}: holds a {saved['class']}, not a {cls.__name__}")
        obj = cls.__new__(cls)
        obj.__dict__.update(saved["state"])
        return obj
