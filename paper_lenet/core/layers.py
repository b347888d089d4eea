"""The paper's building blocks, each a module with a paper/modern switch.

Every trainable layer splits into `pre(x)` (the weighted sum a = w.x + b) and `act(a)` (the
squashing function), because SDLM's curvature pass (App. C) needs both: `curvature(x, a, g2)`
back-propagates d2E/da^2 with squared weights and returns (h per parameter, d2E/dx^2 at the input).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight

from ..paper import INIT_RANGE, A, S


class Activation(nn.Module):
    """scaled_tanh (the paper's 1.7159 tanh(2/3 a)), tanh, relu, or identity; with f'(a)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, a):
        if self.name == "scaled_tanh":
            return A * torch.tanh(S * a)
        if self.name == "tanh":
            return torch.tanh(a)
        if self.name == "relu":
            return torch.relu(a)
        return a

    def derivative(self, a):
        if self.name == "scaled_tanh":
            return A * S * (1 - torch.tanh(S * a) ** 2)
        if self.name == "tanh":
            return 1 - torch.tanh(a) ** 2
        if self.name == "relu":
            return (a > 0).to(a.dtype)
        return torch.ones_like(a)

    def extra_repr(self):
        return self.name


def _params(layer: nn.Module) -> int:
    """Trainable scalars of a layer: its parameters' own sizes (C3 stores only its 60 kernels)."""
    return sum(p.numel() for p in layer.parameters())


class Layer(nn.Module):
    """a = pre(x); x' = act(a). Subclasses define pre, curvature_pre, the fan-in per output map and
    counts: (params, connections, MACs) given the output shape (C, H, W) or (D,), for accounting.py.
    A connection is one input->unit link plus one for the bias; a MAC one weight per input link."""

    def forward(self, x):
        return self.act(self.pre(x))

    def curvature(self, x, a, g2_out):
        """g2_out = d2E/dx'^2 at the output -> (h dict, d2E/dx^2 at the input), Gauss-Newton (eq. 25-27)."""
        g2_a = self.act.derivative(a) ** 2 * g2_out
        return self.curvature_pre(x, g2_a)


class Conv(Layer):
    """A convolution layer (C1, C3, C5). `table` restricts which input maps each output map reads
    (C3's Table I). With a table only the connected kernels are parameters: `weight` is
    (n_kernels, k, k), the kernels in (output map, input map) order, and `w()` scatters them into
    the dense (n_out, n_in, k, k) kernel the convolution uses, so C3 has exactly the paper's 1,516
    free parameters. Without one `weight` is the usual (n_out, n_in, k, k)."""

    def __init__(self, n_in, n_out, k, activation, table=None):
        super().__init__()
        self.dense_shape = (n_out, n_in, k, k)
        pairs = [
            (o, i) for o in range(n_out) for i in (sorted(table[o]) if table is not None else range(n_in))
        ]
        self.packed = table is not None
        self.weight = nn.Parameter(torch.empty((len(pairs), k, k) if self.packed else self.dense_shape))
        self.bias = nn.Parameter(torch.empty(n_out))
        mask = torch.zeros(n_out, n_in, 1, 1)
        for o, i in pairs:
            mask[o, i] = 1.0
        self.register_buffer("mask", mask)  # 1 where output map o reads input map i
        # kernel t of a packed weight sits at dense slot o * n_in + i (not saved: it follows from mask)
        self.register_buffer("slot", torch.tensor([o * n_in + i for o, i in pairs]), persistent=False)
        self.act = Activation(activation)

    def pack(self, dense: torch.Tensor) -> torch.Tensor:
        """A dense (n_out, n_in, k, k) per-weight tensor -> the parameter's shape (its connected kernels)."""
        k = self.dense_shape[-1]
        return dense.reshape(-1, k, k)[self.slot] if self.packed else dense

    def w(self):  # (n_out, n_in, k, k), unconnected kernels exactly 0
        if not self.packed:
            return self.weight
        n_out, n_in, k, _ = self.dense_shape
        dense = self.weight.new_zeros(n_out * n_in, k, k).index_copy(0, self.slot, self.weight)
        return dense.view(self.dense_shape)

    def fan_in(self):  # per output map: connected input maps x k x k
        return self.mask.sum(dim=(1, 2, 3)) * self.dense_shape[2] * self.dense_shape[3]

    def pre(self, x):
        return F.conv2d(x, self.w(), self.bias)

    def counts(self, out_shape) -> tuple[int, int, int]:
        hw = out_shape[1] * out_shape[2]
        fan = self.fan_in()
        return _params(self), int(((fan + 1) * hw).sum().item()), int((fan * hw).sum().item())

    def curvature_pre(self, x, g2):
        h_w = self.pack(conv2d_weight(x * x, self.dense_shape, g2))
        g2_x = conv2d_input(x.shape, self.w() ** 2, g2)
        return {"weight": h_w, "bias": g2.sum(dim=(0, 2, 3))}, g2_x

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Checkpoints written before C3 was packed hold a dense (16, 6, 5, 5) C3 weight: pack it."""
        key = prefix + "weight"
        if self.packed and key in state_dict and tuple(state_dict[key].shape) == self.dense_shape:
            state_dict[key] = self.pack(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class Subsampling(Layer):
    """S2/S4: the 2x2 inputs are added (`sum`, Sec. II-B) or averaged (`average`, Sec. II-A),
    multiplied by the map's trainable coefficient, plus the map's trainable bias, then squashed."""

    def __init__(self, maps, activation, mode="sum", src=None):
        super().__init__()
        # src[m]: the input map output map m pools (LeNet-4's S2: two maps per C1 map); None: map m
        self.register_buffer("src", None if src is None else torch.tensor(src), persistent=False)
        self.coef = nn.Parameter(torch.empty(maps))
        self.bias = nn.Parameter(torch.empty(maps))
        self.k = 1.0 if mode == "sum" else 0.25  # weight of each of the 4 connections per unit of coef
        self.act = Activation(activation)

    def fan_in(self):
        return torch.full_like(self.coef, 4.0)

    def counts(self, out_shape) -> tuple[int, int, int]:
        units = out_shape[0] * out_shape[1] * out_shape[2]
        return _params(self), 5 * units, 4 * units

    def _pool_sum(self, x):
        return F.avg_pool2d(x if self.src is None else x[:, self.src], 2) * 4.0

    def pre(self, x):
        return self._pool_sum(x) * (self.k * self.coef).view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def curvature_pre(self, x, g2):
        h_c = (g2 * self._pool_sum(x * x)).sum(dim=(0, 2, 3)) * self.k**2
        w2 = ((self.k * self.coef) ** 2).view(1, -1, 1, 1)
        g2_x = F.interpolate(g2 * w2, scale_factor=2, mode="nearest")
        if self.src is not None:  # an input map read by several output maps: its uses add up
            g2_x = x.new_zeros(x.shape).index_add_(1, self.src, g2_x)
        return {"coef": h_c, "bias": g2.sum(dim=(0, 2, 3))}, g2_x


class Pool(Layer):
    """Parameter-free modern pooling (`avg` or `max`), 2x2 stride 2, with no activation after it."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.act = Activation("identity")

    def pre(self, x):
        return F.max_pool2d(x, 2) if self.kind == "max" else F.avg_pool2d(x, 2)

    def counts(self, out_shape) -> tuple[int, int, int]:
        units = out_shape[0] * out_shape[1] * out_shape[2]
        return 0, 4 * units, 4 * units

    def curvature_pre(self, x, g2):
        if self.kind == "avg":  # each connection has weight 1/4; squared: 1/16
            return {}, F.interpolate(g2, scale_factor=2, mode="nearest") / 16.0
        _, idx = F.max_pool2d(x, 2, return_indices=True)  # the max's derivative is 0/1: squared is itself
        return {}, F.max_unpool2d(g2, idx, 2, output_size=x.shape[-2:])


class Full(Layer):
    """A fully connected layer (F6, and F7 of the linear head)."""

    def __init__(self, n_in, n_out, activation):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.bias = nn.Parameter(torch.empty(n_out))
        self.act = Activation(activation)

    def fan_in(self):
        return torch.full((self.weight.shape[0],), float(self.weight.shape[1]))

    def counts(self, out_shape) -> tuple[int, int, int]:
        n_out, n_in = self.weight.shape
        return _params(self), n_out * (n_in + 1), n_out * n_in

    def pre(self, x):
        return F.linear(x, self.weight, self.bias)

    def curvature_pre(self, x, g2):
        return {"weight": g2.t() @ (x * x), "bias": g2.sum(0)}, g2 @ (self.weight**2)


class RBF(nn.Module):
    """F7: y_i = sum_j (x_j - w_ij)^2 with w the paper's fixed +-1 bitmaps (a buffer, never trained)."""

    def __init__(self, codes: torch.Tensor):
        super().__init__()
        self.register_buffer("centers", codes.clone())

    def forward(self, x):  # (N, 84) -> (N, 10) squared distances; the predicted class is argmin
        return (x * x).sum(1, keepdim=True) - 2 * x @ self.centers.t() + (self.centers**2).sum(1)

    def counts(self, out_shape) -> tuple[int, int, int]:
        n_out, n_in = self.centers.shape
        return 0, n_out * n_in, n_out * n_in  # fixed centres: connections, no parameters


def init_layer(
    layer: nn.Module, scheme: str, bias_scheme: str, generator=None, v: float = 1.0, p: float = 2.0
) -> None:
    """lecun98: uniform +-2.4/F, F the fan-in of the unit (App. A); lecun98_sqrt: +-2.4/sqrt(F);
    forget: the authors' Lush code (`forget v p`): weights uniform +-v/F^(1/p), each S2/S4
    coefficient the constant v/4^(1/p), biases 0 (`forget 1 2`: +-1/sqrt(F), coefficients 0.5);
    torch_default: PyTorch's conv/linear default (uniform +-1/sqrt(F), biases too); kaiming:
    normal, std sqrt(2/F). Biases (paper silent): `zero`, or `uniform` in the weight range."""
    fan = layer.fan_in()  # per output map
    bound = {
        "lecun98": INIT_RANGE / fan,
        "lecun98_sqrt": INIT_RANGE * fan.rsqrt(),
        "forget": v / fan ** (1.0 / p),
        "torch_default": fan.rsqrt(),
        "kaiming": fan.rsqrt(),
    }[scheme]
    with torch.no_grad():
        for name, t in layer.named_parameters(recurse=False):
            # a packed C3 draws its dense kernel and keeps the connected ones: the same seed gives
            # the same initial weights as before C3 was packed (committed runs stay reproducible)
            shape = layer.dense_shape if name == "weight" and isinstance(layer, Conv) else t.shape
            b = bound.view(-1, *([1] * (len(shape) - 1)))
            uniform = (torch.rand(shape, generator=generator) * 2 - 1) * b
            if name == "bias" and scheme != "torch_default":
                zero = bias_scheme != "uniform" or scheme == "forget"
                value = torch.zeros(shape) if zero else uniform
            elif scheme == "kaiming":
                value = torch.randn(shape, generator=generator) * (2.0 * b * b).sqrt()
            elif scheme == "forget" and name == "coef":
                value = b.expand(shape).clone()  # v / 4^(1/p): a constant, not drawn
            else:
                value = uniform
            t.copy_(layer.pack(value) if shape != t.shape else value)
