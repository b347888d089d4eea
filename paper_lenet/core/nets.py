"""The other networks of the paper's comparison (Sec. III-C, Fig. 9): LeNet-1, LeNet-4 and the fully
connected nets 28x28-300-10 ... 28x28-500-150-10, built from LeNet-5's own layers.

    LeNet-1 (model.arch lenet1), 16x16 digits centred in 28x28 (data.preprocess 16x16):
      input 1x28x28 -> C1 4x24x24 -> S2 4x12x12 -> C3 12x8x8 (22 kernels) -> S4 12x4x4 -> F 10
    LeNet-4 (lenet4), 32x32 input:
      input 1x32x32 -> C1 4x28x28 -> S2 8x14x14 (two per C1 map) -> C3 16x10x10 (4 of 8 maps each)
            -> S4 16x5x5 -> C5 120x1x1 (4 or 5 of 16 maps each) -> F 10
    mlp (hidden [h1, ...]): input flattened -> F h1 -> ... -> F 10

Every layer squashes (1.7159 tanh(2/3 a) by default) and so does the 10-unit output (head
`squashed`, loss `edist`: targets +-1), as in the authors' nets before LeNet-5's RBF layer. The paper
gives only outlines and counts (paper.LENET1, paper.LENET4); the connection tables below are our
choice, made so those counts come out (docs/deviations.md), and `paper-lenet info` prints both.
"""

from __future__ import annotations

from ..errors import ConfigError
from .heads import SQUASHED, head
from .layers import Conv, Full, Subsampling
from .model import Classifier

# LeNet-1's C3: 12 maps over S2's 4 -- every single map, every pair, and two of the triples (22 kernels):
# 2,628 free parameters and 97,792 multiply-adds, the paper's "about 2,600" and "about 100,000".
LENET1_C3 = [[0], [1], [2], [3], [0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [0, 1, 2], [1, 2, 3]]
# LeNet-4's S2: maps 2c and 2c+1 both pool C1 map c ("8 subsampling maps connected in pairs").
LENET4_S2 = [c // 2 for c in range(8)]
# LeNet-4's C3: 16 maps reading 4 of S2's 8 each (64 kernels); maps 0-7 read 4 cyclic neighbours,
# maps 8-15 the pattern {o, o+2, o+3, o+5}: no two maps read the same set.
LENET4_C3 = [[(o + j) % 8 for j in range(4)] for o in range(8)] + [
    [(o + j) % 8 for j in (0, 2, 3, 5)] for o in range(8)
]
# LeNet-4's C5: 120 units on S4's 16 maps, units 0-79 reading 5 maps and 80-119 reading 4 (560 kernels),
# spread evenly: 17,098 free parameters and 268,306 connections (paper: about 17,000 and 260,000).
# The text calls this layer "fully connected", which would give 48,120 parameters in it alone.
LENET4_C5 = [sorted({(u + 3 * j + u // 16) % 16 for j in range(5 if u < 80 else 4)}) for u in range(120)]


def _check(cfg) -> None:
    if head(cfg.head) is not SQUASHED:
        raise ConfigError(
            f"model.head: {cfg.arch} has a squashed 10-unit output (head: squashed), got {cfg.head!r}"
        )
    if cfg.pooling != "subsample":
        raise ConfigError(
            f"model.pooling: {cfg.arch} uses the trainable subsampling layers, got {cfg.pooling!r}"
        )
    need = {"lenet1": 28, "lenet4": 32}.get(cfg.arch)
    if need is not None and cfg.input_size != need:
        raise ConfigError(f"model.input_size: {cfg.arch} takes {need}x{need} inputs, got {cfg.input_size}")
    if cfg.arch == "mlp" and any(h < 1 for h in cfg.hidden):
        raise ConfigError(f"model.hidden: layer sizes must be >= 1, got {cfg.hidden}")


class SeqNet(Classifier):
    """LeNet-1, LeNet-4 or an MLP: squashing layers in a row (`names`), then the squashed output F."""

    def __init__(self, cfg):
        super().__init__()
        _check(cfg)
        self.cfg = cfg
        act, mode = cfg.activation, cfg.subsample_mode
        if cfg.arch == "lenet1":
            layers = [
                ("C1", Conv(1, 4, 5, act)),
                ("S2", Subsampling(4, act, mode)),
                ("C3", Conv(4, 12, 5, act, table=LENET1_C3)),
                ("S4", Subsampling(12, act, mode)),
            ]
            n_last = 12 * 4 * 4
        elif cfg.arch == "lenet4":
            layers = [
                ("C1", Conv(1, 4, 5, act)),
                ("S2", Subsampling(8, act, mode, src=LENET4_S2)),
                ("C3", Conv(8, 16, 5, act, table=LENET4_C3)),
                ("S4", Subsampling(16, act, mode)),
                ("C5", Conv(16, 120, 5, act, table=LENET4_C5)),
            ]
            n_last = 120
        elif cfg.arch == "mlp":
            sizes = [cfg.input_size**2] + list(cfg.hidden)
            layers = [
                (f"H{i + 1}", Full(a, b, act)) for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False))
            ]
            n_last = sizes[-1]
        else:
            raise ConfigError(f"model.arch: {cfg.arch!r} is not a SeqNet")
        self.names = [n for n, _ in layers]
        for name, layer in layers:
            self.add_module(name, layer)
        self.head = SQUASHED
        self.F = self.head.layer(act, n_last)  # the squashed output layer

    @property
    def F7(self):  # the output layer under LeNet-5's name, for the curvature pass
        return self.F

    def stages(self):
        return [getattr(self, n) for n in self.names]

    def trace(self, x):
        """[(name, layer, its input, its pre-activation a)] for each layer before the output, and the
        last hidden layer's output (LeNet5.trace's contract)."""
        stages = []
        for name in self.names:
            layer = getattr(self, name)
            if isinstance(layer, Full):
                x = x.flatten(1)  # (N, features)
            a = layer.pre(x)
            stages.append((name, layer, x, a))
            x = layer.act(a)
        return stages, x.flatten(1)  # lenet1 (N, 192), lenet4 (N, 120), mlp (N, hidden[-1] or pixels)

    def features(self, x):
        return self.trace(x)[1]

    def forward(self, x):
        return self.F(self.features(x))  # (N, 10) squashed outputs; the class is the argmax

    def trainable_layers(self):
        return self.stages() + [self.F]
