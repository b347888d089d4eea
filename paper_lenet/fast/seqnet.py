"""The compiled seqnet.c behind the per-sample SDLM stepper of nets.SeqNet (LeNet-1, LeNet-4, MLPs).

SeqStepper has the ReferenceStepper's interface (set_rates, run) and reads and writes the model's
own parameter tensors in place, as FastStepper does for LeNet-5.
"""

from __future__ import annotations

import ctypes

import torch

from ..core.layers import Conv, Subsampling
from ..core.nets import SeqNet
from . import build
from .abi import ACT, LAYER, Layer, opts
from .stepper import check_tensors, checked_inputs, checked_rates


def seqnet_supported(model, cfg) -> str | None:
    """None when seqnet.c covers this SeqNet and config, else the reason it does not."""
    if not isinstance(model, SeqNet):
        return f"seqnet.c implements nets.SeqNet only (got {type(model).__name__})"
    t, m = cfg.train, model.cfg
    if t.optimizer != "sdlm" or t.batch_size != 1 or t.sdlm.hessian == "running":
        return "seqnet.c implements per-sample SDLM (optimizer=sdlm, batch_size=1, no running h_kk) only"
    if m.activation not in ACT or t.loss != "edist":
        return f"model/loss switch not implemented in seqnet.c ({m.activation}, {t.loss})"
    return check_tensors(model) or build.unavailable(0, "seqnet")


class SeqStepper:
    """Per-sample SDLM steps of a SeqNet in C; results equal the ReferenceStepper's within float32
    rounding."""

    name = "fast"

    def __init__(self, model, loss: str, map_j: float):
        self.model, self.lib = model, build.load(0, "seqnet")
        self.side = model.cfg.input_size
        self.opts = opts(
            model.cfg.activation,
            "subsample",
            "squashed",
            loss,
            float(model.S2.k) if hasattr(model, "S2") else 1.0,
            float(map_j),
        )
        layers, self.keep, side = [], [], self.side
        for name in model.names:
            layer = getattr(model, name)
            kid = src = None
            if isinstance(layer, Conv):
                n_out, n_in, _, _ = layer.dense_shape
                kid = torch.full((n_out * n_in,), -1, dtype=torch.int16)
                kid[layer.mask.flatten().nonzero().flatten()] = torch.arange(
                    int(layer.mask.sum()), dtype=torch.int16
                )
                desc = (LAYER["conv"], n_in, n_out, side, side - 4)
                side -= 4
            elif isinstance(layer, Subsampling):
                n = len(layer.coef)
                src = (layer.src if layer.src is not None else torch.arange(n)).to(torch.int32).contiguous()
                desc = (LAYER["pool"], n, n, side, side // 2)
                side //= 2
            else:
                desc = (LAYER["full"], layer.weight.shape[1], layer.weight.shape[0], 1, 1)
            self.keep += [t for t in (kid, src) if t is not None]  # alive while C reads them
            layers.append(
                Layer(
                    *desc,
                    0,
                    kid.data_ptr() if kid is not None else None,
                    src.data_ptr() if src is not None else None,
                )
            )
        self.layers = (Layer * max(1, len(layers)))(*layers)
        self.n_layers = len(layers)
        self.names = [n for n, _ in model.named_parameters()]  # (weight|coef, bias) per layer, then F's
        self.rates = None

    def set_rates(self, rates: dict) -> None:
        self.rates = checked_rates(self.model, self.names, rates)

    def _pointers(self, tensors: dict) -> ctypes.Array:
        return (ctypes.c_void_p * len(self.names))(*[tensors[n].data_ptr() for n in self.names])

    def run(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[int, float]:
        if self.rates is None:
            raise RuntimeError("set_rates() must be called before run()")
        x, y, idx = checked_inputs(x, y, idx, self.side)
        if len(idx) == 0:
            return 0, 0.0
        errors, loss_sum = ctypes.c_int64(0), ctypes.c_double(0.0)
        with torch.no_grad():
            rc = self.lib.seqnet_run(
                self.layers,
                self.n_layers,
                self._pointers(dict(self.model.named_parameters())),
                self._pointers(self.rates),
                ctypes.byref(self.opts),
                x.data_ptr(),
                self.side,
                y.data_ptr(),
                idx.data_ptr(),
                len(idx),
                ctypes.byref(errors),
                ctypes.byref(loss_sum),
            )
        if rc == -2:
            raise RuntimeError("seqnet_run: options struct of another ABI version")
        if rc == -3:
            raise RuntimeError(
                "seqnet_run: a layer order it does not implement (pool after a non-conv, conv after conv)"
            )
        if rc != 0:
            raise MemoryError("seqnet_run could not allocate its work area")
        return int(errors.value), float(loss_sum.value)
