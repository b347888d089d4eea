"""The config's dataclasses: every default is the paper's model (configs/lenet5_1998.yaml). A fitted
method's section is not listed here: its dataclass comes with its registration (registry.method_sections()).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.registry import method_sections
from ..paper import AUTHORS_ETA, INPUT_SIDE, MU

# model.arch names a method of the registry (registry.methods(): the networks and the fitted methods);
# load_config checks it there. A fitted method's own keys live in the config section of its name.
Arch = str


@dataclass
class ModelConfig:
    arch: Arch = "lenet5"
    hidden: list[int] = field(default_factory=list)  # mlp: hidden layer sizes (28x28-300-100-10: [300, 100])
    activation: Literal["scaled_tanh", "tanh", "relu"] = "scaled_tanh"
    pooling: Literal["subsample", "avg", "max"] = "subsample"
    subsample_mode: Literal["sum", "average"] = "sum"  # S2/S4: paper's LeNet-5 text says sum
    c3: Literal["table", "full"] = "table"
    head: Literal["rbf", "linear", "squashed"] = "rbf"  # squashed: 10 squashed outputs (authors' Lush code)
    init: Literal["lecun98", "lecun98_sqrt", "forget", "torch_default", "kaiming"] = "forget"
    init_v: float = 1.0  # forget: weights +-v/F^(1/p), S coefficients v/4^(1/p), biases 0 (Lush)
    init_p: float = 2.0
    bias_init: Literal["zero", "uniform"] = "zero"  # paper silent; see docs/deviations.md
    input_size: int = INPUT_SIDE


@dataclass
class DistortConfig:
    """The paper's planar affine family (Sec. III-C); it gives no ranges."""

    enabled: bool = False
    prob: float = 0.9  # 540k of the 600k pool are distorted copies
    translate: float = 2.0  # pixels, uniform in [-t, t], each axis
    scale: float = 0.15  # isotropic scale uniform in [1-s, 1+s]
    squeeze: float = 0.15  # x *= (1+q), y /= (1+q), q uniform in [-s, s]
    shear: float = 0.3  # horizontal shear factor uniform in [-s, s]


@dataclass
class DataConfig:
    root: str | None = None  # None: $PAPER_LENET_DATA, else ~/.cache/paper_lenet/mnist
    download: bool = True
    train_size: int = 60000
    subset: Literal["stratified", "first"] = "stratified"
    pad: bool = True  # 28x28 -> 32x32 with background
    scaling: Literal["lecun98", "lush", "unit", "standardize"] = "lecun98"  # lush: pixel x 0.01
    preprocess: Literal["none", "deslant", "16x16", "deskew"] = (
        "none"  # Fig. 9's [deslant] (20x20) and [16x16]
    )
    # (in 28x28); deskew: the MNIST page's 28x28 deskewing (data/deskew.py)
    # preprocess deslant (data/deslant.py): text = moments of pixels counted 1/0, shear, size-normalised
    # into 20x20 as MNIST was made; grey_crop = grey-weighted moments, shear, 20x20 window on the ink box
    # (runs saved before this key existed: migrate). Chosen on validation (docs/deviations.md).
    deslant: Literal["text", "grey_crop"] = "text"
    deslant_threshold: int = 128  # text: a pixel counts 1 when its grey level (0..255) is at least this
    validation: int = 0  # hold the last N of the 60,000 training images out; log val_error, no test
    distortions: DistortConfig = field(default_factory=DistortConfig)


@dataclass
class SDLMConfig:
    mu: float = MU
    hessian_samples: int = 1000  # the paper's text: PAPER_HESSIAN_SAMPLES
    # when h_kk is estimated: before every pass (the paper's text), when eta changes (the authors'
    # Lush/QMNIST code), once before pass 1, or SN2.8's per-pattern running average (gamma)
    hessian: Literal["per_pass", "per_block", "once", "running"] = "per_block"
    hessian_pick: Literal["random", "first"] = "first"  # which hessian_samples images
    gamma: float = 0.05  # running: sigma <- (1 - gamma) sigma + gamma h_p (SN2.8's default)
    eta: list[list[float]] = field(default_factory=lambda: [list(r) for r in AUTHORS_ETA])  # text: PAPER_ETA


@dataclass
class TrainConfig:
    loss: Literal["mse", "map", "cross_entropy", "edist"] = "mse"  # edist: 1/2 |out - (+-1)|^2 (Lush)
    map_j: float = 10.0  # MAP "rubbish class" constant; paper silent
    optimizer: Literal["sdlm", "sgd", "adam"] = "sdlm"
    epochs: int = 30
    batch_size: int = 1
    order: Literal["fixed", "reshuffle", "file"] = "fixed"  # paper: "a constant random order"
    lr: float = 1e-3  # sgd/adam base rate (sdlm uses sdlm.eta)
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: Literal["constant", "step", "cosine"] = "cosine"  # sgd/adam only
    step_size: int = 10
    gamma: float = 0.1
    sdlm: SDLMConfig = field(default_factory=SDLMConfig)
    fast: Literal["auto", "on", "off"] = "auto"  # compiled C path: SDLM steps (batch 1), minibatch gradients
    threads: int = 0  # 0: one thread for batch 1, else torch's default
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    eval_batch_size: int = 1000
    full_train_eval: bool = False  # also score the whole training set after each pass (costs a pass of eval)
    checkpoint_every: int = 10000  # samples between mid-pass checkpoints (resume granularity)


@dataclass
class BoostConfig:
    """[dist] Boosted LeNet-4 (Sec. III-C): nets 2 and 3 trained on patterns that net 1 (and 2) select."""

    net1: str = ""  # net 1's run directory ({seed} filled in)
    size: int = 60000  # patterns in net 2's and net 3's training sets
    max_draws: int = 3000000  # distorted training patterns examined at most to find them
    exit_agree: float = 0.999  # net 1 alone when its top-two margin >= the smallest threshold that keeps
    exit_sample: int = (
        20000  # this share of decisions equal to all three nets', on these distorted training patterns
    )


@dataclass(init=False)
class Config:
    """Every default is configs/lenet5_1998.yaml's value (tests/test_config.py checks it).

    A fitted method's section (the one named by model.arch) is in `sections` and reads as an attribute
    of its name (`cfg.knn`: None in any other run); `Config(knn=KNNConfig(k=1))` sets it."""

    name: str = "lenet5_1998"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    boost: BoostConfig | None = None  # boosting's section (a network run)
    sections: dict = field(default_factory=dict)  # model.arch -> its section (registry.method_sections())

    def __init__(
        self,
        name: str = "lenet5_1998",
        seed: int = 0,
        model: ModelConfig | None = None,
        data: DataConfig | None = None,
        train: TrainConfig | None = None,
        boost: BoostConfig | None = None,
        sections: dict | None = None,
        **more,
    ):
        unknown = sorted(set(more) - set(method_sections()))
        if unknown:
            raise TypeError(
                f"Config() got unexpected keyword arguments {unknown} (sections: {sorted(method_sections())})"
            )
        self.name, self.seed, self.boost = name, seed, boost
        self.model = model if model is not None else ModelConfig()
        self.data = data if data is not None else DataConfig()
        self.train = train if train is not None else TrainConfig()
        self.sections = {k: v for k, v in {**(sections or {}), **more}.items() if v is not None}

    def __getattr__(self, name: str):  # only when no attribute has the name: a method's section, or None
        if name in method_sections():
            return self.__dict__.get("sections", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def method_section(self):
        """The section of model.arch's own keys (None for the networks)."""
        return self.sections.get(self.model.arch)


CORE = ("name", "seed", "model", "data", "train")  # a config's keys besides the optional sections


def optional_sections() -> tuple[str, ...]:
    """The sections a config may leave out: each fitted method's (the registry's), and boost."""
    return (*method_sections(), "boost")


def section_types() -> dict[str, Any]:
    """Every top-level key of a config and its type (the core, the methods' sections, boost)."""
    hints = typing.get_type_hints(Config)
    return {
        **{k: hints[k] for k in CORE},
        **{k: t | None for k, t in method_sections().items()},
        "boost": hints["boost"],
    }
