"""The config schema: dataclasses whose defaults are the paper's model (configs/lenet5_1998.yaml), and
`load_config` (YAML through yamlconf.py: `base:` inheritance, overrides, typed conversion).

A config file has sections `model`, `data`, `train` plus `seed` and `name`; a fitted method of the
comparison has its own section (`knn:`, ...), whose dataclass its registration carries
(registry.method_sections(): the sections are not listed here), boosting has `boost:`. Runs written
before the method sections existed (their keys under `model:`, an empty `boost:`) still load
(`migrate`). Every error is a one-line ConfigError.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from ..core.registry import method_sections
from ..errors import ConfigError
from ..paper import AUTHORS_ETA, INPUT_SIDE, MU
from .checks import validate
from .yamlconf import apply_override, build, convert, read_yaml

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
class BoostConfig:
    """[dist] Boosted LeNet-4 (Sec. III-C): nets 2 and 3 trained on patterns that net 1 (and 2) select."""
    net1: str = ""  # net 1's run directory ({seed} filled in)
    size: int = 60000  # patterns in net 2's and net 3's training sets
    max_draws: int = 3000000  # distorted training patterns examined at most to find them
    exit_agree: float = 0.999  # net 1 alone when its top-two margin >= the smallest threshold that keeps
    exit_sample: int = 20000  # this share of decisions equal to all three nets', on these distorted training patterns


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
    boost: Optional[BoostConfig] = None  # boosting's section (a network run)
    sections: dict = field(default_factory=dict)  # model.arch -> its section (registry.method_sections())

    def __init__(self, name: str = "lenet5_1998", seed: int = 0, model: ModelConfig | None = None,
                 data: DataConfig | None = None, train: TrainConfig | None = None,
                 boost: BoostConfig | None = None, sections: dict | None = None, **more):
        unknown = sorted(set(more) - set(method_sections()))
        if unknown:
            raise TypeError(f"Config() got unexpected keyword arguments {unknown} (sections: {sorted(method_sections())})")
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
    return {**{k: hints[k] for k in CORE}, **{k: Optional[t] for k, t in method_sections().items()},
            "boost": hints["boost"]}




CONFIGS = Path(__file__).resolve().parents[1] / "configs"  # shipped with the package (paper_lenet/configs)


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
        cfg = _build(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path is not None else str(e)) from None
    arch, sections = cfg.model.arch, method_sections()
    for name in cfg.sections:  # a method's section: only in its own runs, with defaults when omitted
        if name != arch:
            raise ConfigError(f"{path or 'config'}: section {name}: is for model.arch={name} (got {arch})")
    if arch in sections and arch not in cfg.sections:
        cfg.sections[arch] = sections[arch]()
    validate(cfg, path)
    return cfg


def _build(raw: dict) -> Config:
    """build() of the core and boost, and each method section by its registered dataclass."""
    types = section_types()
    for k in raw:
        if k not in types:
            names = list(types)
            near = difflib.get_close_matches(str(k), names, n=1, cutoff=0.5)
            raise ConfigError(f"unknown key {k}" + (f"; did you mean {near[0]}?" if near
                                                    else f"; valid keys: {', '.join(names)}"))
    cfg = build(Config, {k: v for k, v in raw.items() if k in (*CORE, "boost")})
    for name in method_sections():
        if name in raw and (sec := convert(raw[name], types[name], name)) is not None:
            cfg.sections[name] = sec
    return cfg


def to_dict(cfg: Config) -> dict:
    """The config as a dict, in the file's layout; sections that do not apply (None) are left out."""
    out = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
           for k in CORE if (v := getattr(cfg, k)) is not None}
    out.update({k: dataclasses.asdict(v) for k, v in cfg.sections.items()})
    if cfg.boost is not None:
        out["boost"] = dataclasses.asdict(cfg.boost)
    return out


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
