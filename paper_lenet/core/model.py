"""LeNet-5 (Sec. II-B, Fig. 2): one class for the paper model, the modern one and every ablation.

    input 1x32x32 -> C1 6x28x28 -> S2 6x14x14 -> C3 16x10x10 -> S4 16x5x5 -> C5 120x1x1
          -> F6 84 -> F7 10 (Euclidean RBF, argmin; or linear logits / squashed outputs, argmax)

`cfg` is a config's `model:` section (config.ModelConfig): the model core reads it and imports nothing
of the config, which sits above it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import ConfigError
from ..paper import C3_TABLE
from .heads import head
from .layers import Conv, Full, Pool, Subsampling, init_layer
from .registry import method

STAGES = ("C1", "S2", "C3", "S4", "C5", "F6")  # the layers before the output F7


def in_batches(fn, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """fn over x in batches, concatenated: evaluation without one huge activation tensor."""
    return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


class Classifier(nn.Module):
    """What LeNet-5 and the comparison's other nets share: class scores and batched prediction."""

    def scores(self, out):
        """Higher is better: the output itself (LeNet-5's RBF head negates its distances)."""
        return out

    @torch.no_grad()
    def predict(self, x, batch_size: int = 1000):
        """Predicted class for each input, in evaluation batches."""
        return in_batches(lambda b: self.scores(self(b)).argmax(1), x, batch_size)


class LeNet5(Classifier):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        act = cfg.activation

        def pool(maps):
            return (
                Subsampling(maps, act, cfg.subsample_mode)
                if cfg.pooling == "subsample"
                else Pool(cfg.pooling)
            )

        self.C1 = Conv(1, 6, 5, act)
        self.S2 = pool(6)
        self.C3 = Conv(6, 16, 5, act, table=C3_TABLE if cfg.c3 == "table" else None)
        self.S4 = pool(16)
        self.C5 = Conv(16, 120, 5, act)  # a convolution: larger inputs give larger C5 maps
        c5 = (cfg.input_size - 28) // 4  # C5 map side
        self.F6 = Full(120 * c5 * c5, 84, act)
        self.head = head(cfg.head)
        self.F7 = self.head.layer(act)  # heads.py: RBF, linear, or squashed (the authors' Lush net)

    def stages(self):
        """The layers before the output, in order."""
        return [getattr(self, n) for n in STAGES]

    def trace(self, x):
        """The forward pass stage by stage: [(name, layer, its input, its pre-activation a)] for
        C1..F6, and F6's output. The model, SDLM's curvature pass, the accounting and the
        diagnosis script all run this one loop."""
        stages = []
        for name in STAGES:
            layer = getattr(self, name)
            if name == "F6":
                x = x.flatten(1)  # (N, 120 * c5 * c5)
            a = layer.pre(x)
            stages.append((name, layer, x, a))
            x = layer.act(
                a
            )  # C1 (N,6,28,28) S2 (N,6,14,14) C3 (N,16,10,10) S4 (N,16,5,5) C5 (N,120,1,1) F6 (N,84)
        return stages, x

    def features(self, x):
        return self.trace(x)[1]  # (N, 84): F6's output

    def forward(self, x):
        return self.F7(self.features(x))  # (N, 10): RBF distances (rbf), logits or squashed outputs

    def scores(self, out):
        """Higher is better for every head: -distance for RBF, the output itself otherwise."""
        return self.head.scores(out)

    def trainable_layers(self):
        layers = self.stages() + ([self.F7] if self.head.trainable else [])
        return [m for m in layers if any(True for _ in m.parameters(recurse=False))]


def build_model(cfg, seed: int | None = None) -> nn.Module:
    """Build and initialise the `model:` section's network (the registry's builder for model.arch),
    seeded when seed is given."""
    m = method(cfg.arch)
    if m.build is None:
        raise ConfigError(
            f"model.arch: {cfg.arch!r} is fitted by `paper-lenet train`, not built as a network"
        )
    model = m.build(cfg)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for layer in model.trainable_layers():
        init_layer(layer, cfg.init, cfg.bias_init, gen, cfg.init_v, cfg.init_p)
    return model
