"""The config schema: dataclasses whose defaults are the paper's model (configs/lenet5_1998.yaml), and
`load_config` (YAML through yamlconf.py: `base:` inheritance, overrides, typed conversion).

A config file has sections `model`, `data`, `train` plus `seed` and `name`; a fitted method of the
comparison has its own section (`knn:`, ...), boosting has `boost:`. Runs written before the
method sections existed (their keys under `model:`, an empty `boost:`) still load (`migrate`).
Every error is a one-line ConfigError.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import yaml

from .config_methods import (METHOD_SECTIONS, OPTIONAL_SECTIONS, BoostConfig, KNNConfig, LinearConfig, LocalConfig,
                             PairwiseConfig, PCAQuadraticConfig, RBFLinearConfig, SVMConfig, TangentConfig)
from .config_checks import validate
from .errors import ConfigError
from .paper import AUTHORS_ETA, MU
from .yamlconf import apply_override, build, read_yaml


# model.arch names a method of the registry (registry.py: the networks; comparison/: the methods fitted
# in closed form). A fitted method's own keys live in the config section of its name (`knn:`, ...).
Arch = Literal["lenet5", "lenet1", "lenet4", "mlp", "linear", "pairwise", "knn", "pca_quadratic", "rbf_linear",
               "svm", "local", "tangent"]


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
    input_size: int = 32


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
    root: Optional[str] = None  # None: $PAPER_LENET_DATA, else ~/.cache/paper_lenet/mnist
    download: bool = True
    train_size: int = 60000
    subset: Literal["stratified", "first"] = "stratified"
    pad: bool = True  # 28x28 -> 32x32 with background
    scaling: Literal["lecun98", "lush", "unit", "standardize"] = "lecun98"  # lush: pixel x 0.01
    preprocess: Literal["none", "deslant", "16x16", "deskew"] = "none"  # Fig. 9's [deslant] (20x20) and [16x16]
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
class Config:
    """Every default is configs/lenet5_1998.yaml's value (tests/test_config.py checks it)."""
    name: str = "lenet5_1998"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # a fitted method's section (the one named by model.arch), or boosting's; None elsewhere
    linear: Optional[LinearConfig] = None
    pairwise: Optional[PairwiseConfig] = None
    knn: Optional[KNNConfig] = None
    pca_quadratic: Optional[PCAQuadraticConfig] = None
    rbf_linear: Optional[RBFLinearConfig] = None
    svm: Optional[SVMConfig] = None
    local: Optional[LocalConfig] = None
    tangent: Optional[TangentConfig] = None
    boost: Optional[BoostConfig] = None

    def method_section(self):
        """The section of model.arch's own keys (None for the networks)."""
        return getattr(self, self.model.arch, None)




CONFIGS = Path(__file__).resolve().parent / "configs"  # shipped with the package


def known_configs() -> list[str]:
    """Every shipped config by name: `lenet5_1998`, `ablations/paper-relu`, ..."""
    return sorted(str(p.relative_to(CONFIGS).with_suffix("")) for p in CONFIGS.rglob("*.yaml")
                  if not p.name.startswith("_"))


def resolve_config(path: str | Path) -> Path:
    """A config file: `path` itself when it exists, else the shipped config of that name
    (`lenet5_1998`, `ablations/paper-relu`; `.yaml` optional)."""
    p = Path(path)
    if p.is_file():
        return p
    name = str(path)[:-5] if str(path).endswith(".yaml") else str(path)
    shipped = CONFIGS / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    names = known_configs()
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]}?" if near else f"; shipped configs: {', '.join(names[:12])}, ..."
    raise ConfigError(f"{path}: config file not found (neither a file nor a shipped config name{hint})")


# keys that lived under model: before each method had its own section
_LEGACY_MODEL_KEYS = {"k": ("knn",), "features": ("knn",), "components": ("pca_quadratic",),
                      "centers": ("rbf_linear",), "ridge": ("linear", "pairwise", "pca_quadratic", "rbf_linear")}


# a run's saved config.yaml lists every data key (rundir.prepare dumps the whole Config; every run
# saved since the first has these); a config file lists only what it changes
_SAVED_DATA_KEYS = {"root", "download", "train_size", "subset", "pad", "scaling", "validation", "distortions"}


def migrate(raw: dict) -> dict:
    """An old run's config in today's layout: model.k/features/components/centers/ridge move to the
    section of model.arch (dropped where that method has no such key), `boost:` without net1 goes,
    a saved deslanted run without data.deslant gets grey_crop.
    Returns a new mapping; `raw` is left as it was."""
    raw = copy.deepcopy(raw)
    model = raw.get("model")
    if isinstance(model, dict):
        arch = model.get("arch", "lenet5")
        for key, owners in _LEGACY_MODEL_KEYS.items():
            if key in model:
                value = model.pop(key)
                if arch in owners:
                    raw.setdefault(arch, {}).setdefault(key, value)
    if isinstance(raw.get("boost"), dict) and not raw["boost"].get("net1"):
        raw.pop("boost")
    data = raw.get("data")
    if isinstance(data, dict) and data.get("preprocess") == "deslant" and "deslant" not in data \
            and _SAVED_DATA_KEYS <= set(data):
        data["deslant"] = "grey_crop"  # a run saved before data.deslant: the only deslant there was
    return raw


def config_dict(path: str | Path | None = None, overrides=()) -> dict:
    raw = read_yaml(resolve_config(path), resolve_config) if path is not None else {}
    for item in overrides:
        apply_override(raw, item)
    return migrate(raw)


def load_config(path: str | Path | None = None, overrides=()) -> Config:
    """Load a YAML config (following `base:`), apply `section.key=value` overrides, validate."""
    raw = config_dict(path, overrides)
    if path is not None and "name" not in raw:
        raw["name"] = resolve_config(path).stem
    return config_from_dict(raw, path)


def config_from_dict(raw: dict, path=None) -> Config:
    """A Config from a mapping (a YAML file's, a run's saved config.yaml, or built in code), validated."""
    raw = migrate(raw)
    try:
        cfg = build(Config, raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path is not None else str(e)) from None
    arch = cfg.model.arch
    for name in OPTIONAL_SECTIONS:  # a method's section: only in its own runs, with defaults when omitted
        if getattr(cfg, name) is not None and name != arch and name != "boost":
            raise ConfigError(f"{path or 'config'}: section {name}: is for model.arch={name} (got {arch})")
    if arch in METHOD_SECTIONS and getattr(cfg, arch) is None:
        setattr(cfg, arch, METHOD_SECTIONS[arch]())
    validate(cfg, path)
    return cfg


def to_dict(cfg: Config) -> dict:
    """The config as a dict; sections that do not apply (None) are left out."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if v is not None}


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
