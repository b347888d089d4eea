"""What a model sees: any image (a file, a PIL image, an array, a tensor) -> the (1, S, S) tensor its
config expects. `predict`, `show-maps` and `pretrained(...).transforms` all use this one class."""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.image import read_grey, to_mnist
from ..data.mnist import preprocess


class Transform:
    """Any image -> the (1, S, S) float tensor a config's model expects: to_mnist's 28x28 field,
    then the config's data.preprocess, padding and scaling (data.mnist.preprocess), as in training."""

    def __init__(self, cfg):
        self.data, self.input_size, self.name = cfg.data, cfg.model.input_size, cfg.name

    def field(self, image, name: str | None = None) -> torch.Tensor:
        """(28, 28) float 0..255: what the model sees before scaling (centred as MNIST)."""
        name = name or (str(image) if isinstance(image, (str, Path)) else "image")
        return torch.tensor(to_mnist(read_grey(image), name), dtype=torch.float32)

    def from_fields(self, fields: torch.Tensor) -> torch.Tensor:
        """(N, 28, 28) fields -> (N, 1, S, S) model inputs."""
        return preprocess(fields, self.data, self.input_size)

    def __call__(self, image) -> torch.Tensor:
        return self.from_fields(self.field(image)[None])[0]

    def __repr__(self) -> str:
        d = self.data
        return (
            f"Transform({self.name}: MNIST centring in 28x28, preprocess={d.preprocess}, pad={d.pad}, "
            f"scaling={d.scaling}, input {self.input_size}x{self.input_size})"
        )
