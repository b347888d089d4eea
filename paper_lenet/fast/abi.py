"""lenet5.c's and seqnet.c's calling conventions, typed: the options struct, the enum values and the
parameter slots.

The C library spells its own layout (`lenet5_opts_size()`) and names (`lenet5_names()`); `check`
compares them with this file when the library is loaded, so a change on one side only is an error
at load time, never a silent mix-up of switches or slots.
"""

from __future__ import annotations

import ctypes

from ..paper import A, S

ABI = 2
ACT = {"scaled_tanh": 0, "tanh": 1, "relu": 2, "identity": 3}
POOL = {"subsample": 0, "avg": 1, "max": 2}
HEAD = {"rbf": 0, "linear": 1, "squashed": 2}
LOSS = {"mse": 0, "map": 1, "cross_entropy": 2, "edist": 3}
# lenet5.c's parameter slots, in order; C3.mask and the RBF centers ride along read-only
SLOTS = (
    "C1.weight",
    "C1.bias",
    "S2.coef",
    "S2.bias",
    "C3.weight",
    "C3.bias",
    "S4.coef",
    "S4.bias",
    "C5.weight",
    "C5.bias",
    "F6.weight",
    "F6.bias",
    "F7.weight",
    "F7.bias",
    "C3.mask",
)


class Opts(ctypes.Structure):
    """opts_t in lenet5.c, field for field."""

    _fields_ = [
        ("abi", ctypes.c_int32),
        ("act", ctypes.c_int32),
        ("pool", ctypes.c_int32),
        ("head", ctypes.c_int32),
        ("loss", ctypes.c_int32),
        ("sub_k", ctypes.c_float),
        ("map_j", ctypes.c_float),
        ("tanh_a", ctypes.c_float),
        ("tanh_s", ctypes.c_float),
        ("tanh_as", ctypes.c_float),
    ]


def opts(act: str, pool: str, head: str, loss: str, sub_k: float, map_j: float) -> Opts:
    """The options of one configuration; the squashing constants are the paper's, from layers.py
    (A * S is taken in double and then rounded, as PyTorch's f'(a) does)."""
    return Opts(ABI, ACT[act], POOL[pool], HEAD[head], LOSS[loss], sub_k, map_j, A, S, A * S)


def names() -> str:
    enums = ";".join(
        f"{k}={','.join(d)}" for k, d in (("act", ACT), ("pool", POOL), ("head", HEAD), ("loss", LOSS))
    )
    return f"abi={ABI};{enums};slots={','.join(SLOTS)}"


def declare(lib: ctypes.CDLL) -> None:
    """Argument types of lenet5_run and lenet5_run_running, then the check: RuntimeError when the two sides
    disagree."""
    p = ctypes.c_void_p
    lib.lenet5_run.argtypes = [p, p, p, ctypes.POINTER(Opts), p, p, p, ctypes.c_int64, p, p]
    lib.lenet5_run.restype = ctypes.c_int
    lib.lenet5_run_running.argtypes = [
        p,
        p,
        p,
        p,
        p,
        p,
        p,
        p,
        ctypes.POINTER(Opts),
        p,
        p,
        p,
        ctypes.c_int64,
        p,
        p,
    ]
    lib.lenet5_run_running.restype = ctypes.c_int
    lib.lenet5_opts_size.restype = ctypes.c_size_t
    lib.lenet5_names.restype = ctypes.c_char_p
    size, theirs = lib.lenet5_opts_size(), lib.lenet5_names().decode()
    if size != ctypes.sizeof(Opts) or theirs != names():
        raise RuntimeError(
            f"lenet5.c and paper_lenet/fast/abi.py disagree (opts {size} vs {ctypes.sizeof(Opts)} "
            f"bytes; C: {theirs!r}; Python: {names()!r})"
        )


def declare_lockstep(lib: ctypes.CDLL) -> None:
    """Argument types of lockstep.c's lockstep_run and lockstep_fma_peak, then declare()'s check."""
    p = ctypes.c_void_p
    lib.lockstep_run.argtypes = [p, p, p, p, p, p, p, p, ctypes.POINTER(Opts), p, p, p, ctypes.c_int64, p, p]
    lib.lockstep_run.restype = ctypes.c_int
    lib.lockstep_fma_peak.argtypes = [ctypes.c_int64]
    lib.lockstep_fma_peak.restype = ctypes.c_float
    lib.lockstep_lanes.restype = ctypes.c_int
    lib.lockstep_opts_size.restype = ctypes.c_size_t
    lib.lockstep_names.restype = ctypes.c_char_p
    size, theirs = lib.lockstep_opts_size(), lib.lockstep_names().decode()
    if size != ctypes.sizeof(Opts) or theirs != names():
        raise RuntimeError(
            f"lockstep.c and paper_lenet/fast/abi.py disagree (opts {size} vs {ctypes.sizeof(Opts)} "
            f"bytes; C: {theirs!r}; Python: {names()!r})"
        )


SEQNET_ABI = 1
LAYER = {"conv": 0, "pool": 1, "full": 2}


class Layer(ctypes.Structure):
    """layer_t in seqnet.c, field for field."""

    _fields_ = [
        ("kind", ctypes.c_int32),
        ("n_in", ctypes.c_int32),
        ("n_out", ctypes.c_int32),
        ("si", ctypes.c_int32),
        ("so", ctypes.c_int32),
        ("pad_", ctypes.c_int32),
        ("kid", ctypes.c_void_p),
        ("src", ctypes.c_void_p),
    ]


def declare_seqnet(lib: ctypes.CDLL) -> None:
    """Argument types of seqnet_run, then the same check as declare()."""
    p = ctypes.c_void_p
    lib.seqnet_run.argtypes = [
        p,
        ctypes.c_int,
        p,
        p,
        ctypes.POINTER(Opts),
        p,
        ctypes.c_int,
        p,
        p,
        ctypes.c_int64,
        p,
        p,
    ]
    lib.seqnet_run.restype = ctypes.c_int
    for f in (lib.seqnet_opts_size, lib.seqnet_layer_size):
        f.restype = ctypes.c_size_t
    lib.seqnet_names.restype = ctypes.c_char_p
    want = f"seqnet_abi={SEQNET_ABI};layer={','.join(LAYER)}"
    sizes = (lib.seqnet_opts_size(), lib.seqnet_layer_size())
    theirs = lib.seqnet_names().decode()
    if sizes != (ctypes.sizeof(Opts), ctypes.sizeof(Layer)) or theirs != want:
        raise RuntimeError(
            f"seqnet.c and paper_lenet/fast/abi.py disagree (opts/layer sizes {sizes}; "
            f"C: {theirs!r}; Python: {want!r})"
        )
