"""Typed configuration: dataclasses loaded from YAML, with `base:` inheritance and overrides.

A config file has sections `model`, `data`, `train` plus `seed` and `name`. Every value is
converted to its field's type (PyYAML reads `1e-3` as a string), an unknown key names the nearest
valid one, and a bad choice lists the allowed values. Every error is a one-line ConfigError.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from .errors import ConfigError
from .paper import AUTHORS_ETA, MU


# model.arch: LeNet-5 (the paper's model) or one of the other classifiers of Sec. III-C (Fig. 9)
NETWORKS = ("lenet5", "lenet1", "lenet4", "mlp")  # trained by train.py (SDLM or minibatch)
CLASSICAL = ("linear", "pairwise", "knn", "pca_quadratic", "rbf_linear")  # fitted by classic.py


@dataclass
class ModelConfig:
    arch: Literal["lenet5", "lenet1", "lenet4", "mlp", "linear", "pairwise", "knn", "pca_quadratic",
                  "rbf_linear"] = "lenet5"
    hidden: list[int] = field(default_factory=list)  # mlp: hidden layer sizes (28x28-300-100-10: [300, 100])
    k: int = 3  # knn: neighbours
    components: int = 40  # pca_quadratic: principal components
    centers: int = 1000  # rbf_linear: Gaussian units (centers/10 per class, k-means)
    ridge: float = 1e-3  # linear, pairwise, pca_quadratic, rbf_linear: pseudo-inverse regulariser
    features: Optional[str] = None  # knn: a run directory ({seed} filled in) whose net's last hidden layer is the input
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
    preprocess: Literal["none", "deslant", "16x16"] = "none"  # Fig. 9's [deslant] (20x20) and [16x16] (in 28x28)
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
    net1: Optional[str] = None  # net 1's run directory ({seed} filled in); None: no boosting
    size: int = 60000  # patterns in net 2's and net 3's training sets
    max_draws: int = 3000000  # distorted training patterns examined at most to find them
    exit_agree: float = 0.999  # net 1 alone when its top-two margin >= the smallest threshold that keeps
    exit_sample: int = 20000  # this share of decisions equal to all three nets', on these distorted training patterns


@dataclass
class Config:
    """Every default is configs/lenet5_1998.yaml's value (tests/test_config.py checks it)."""
    name: str = "lenet5_1998"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    boost: BoostConfig = field(default_factory=BoostConfig)


# ---------------------------------------------------------------------------------------------
# conversion by field type


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of keys, got {value!r}")
        return _build(tp, value, key + ".")
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
            return None
        return _convert(value, args[0], key)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, bool):  # YAML 1.1 reads on/off/yes/no as booleans
            spelled = [a for a in allowed if str(a).lower() in
                       (("on", "true", "yes") if value else ("off", "false", "no"))]
            value = spelled[0] if spelled else value
        if value not in allowed:
            raise ConfigError(f"{key}: invalid value {value!r}; allowed: {', '.join(map(str, allowed))}")
        return value
    if origin is list:
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (sub,) = typing.get_args(tp)
        return [_convert(v, sub, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
        if f != int(f):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return int(f)
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    raise TypeError(f"unsupported config field type {tp!r}")  # a bug, not a user error


def _build(cls: type, raw: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for k, v in raw.items():
        if k not in names:
            near = difflib.get_close_matches(str(k), names, n=1, cutoff=0.5)
            hint = f"; did you mean {prefix}{near[0]}?" if near else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key {prefix}{k}{hint}")
        kwargs[k] = _convert(v, hints[k], prefix + k)
    return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# YAML files, inheritance, overrides


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in chain:
        raise ConfigError(f"{path}: base cycle: {' -> '.join(p.name for p in chain + (path,))}")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise ConfigError(f"{path}:{line} invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at top level")
    base = raw.pop("base", None)
    if base is None:
        return raw
    near = path.parent / str(base)  # a path beside this file, else a shipped config's name
    try:
        near = near if near.is_file() else resolve_config(str(base))
    except ConfigError as e:
        raise ConfigError(f"{path}: base: {e}") from None
    return _merge(_read_yaml(near, chain + (path,)), raw)


def _apply_override(raw: dict, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected section.key=value")
    key, text = item.split("=", 1)
    parts = key.strip().split(".")
    node = raw
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {p} is not a section")
    node[parts[-1]] = yaml.safe_load(text) if text.strip() else ""


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


def config_dict(path: str | Path | None = None, overrides=()) -> dict:
    raw = _read_yaml(resolve_config(path)) if path is not None else {}
    for item in overrides:
        _apply_override(raw, item)
    return raw


def load_config(path: str | Path | None = None, overrides=()) -> Config:
    """Load a YAML config (following `base:`), apply `section.key=value` overrides, validate."""
    raw = config_dict(path, overrides)
    if path is not None and "name" not in raw:
        raw["name"] = resolve_config(path).stem
    try:
        cfg = _build(Config, raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path is not None else str(e)) from None
    validate(cfg, path)
    return cfg


def validate(cfg: Config, path=None) -> None:
    """Cross-field checks: combinations that have no meaning."""
    where = f"{path}: " if path is not None else ""
    t, m = cfg.train, cfg.model
    if t.loss in ("mse", "map") and m.head != "rbf":
        raise ConfigError(f"{where}train.loss={t.loss} needs model.head=rbf (got {m.head})")
    if t.loss == "cross_entropy" and m.head != "linear":
        raise ConfigError(f"{where}train.loss=cross_entropy needs model.head=linear (got {m.head})")
    if (t.loss == "edist") != (m.head == "squashed"):
        raise ConfigError(f"{where}train.loss=edist and model.head=squashed go together (got {t.loss}, {m.head})")
    b = cfg.boost
    if b.net1 is not None and (m.arch not in NETWORKS or b.size < 2 or b.max_draws < b.size or not 0 < b.exit_agree <= 1
                               or b.exit_sample < 1):
        raise ConfigError(f"{where}boost: needs a network model.arch, size >= 2, max_draws >= size, "
                          f"0 < exit_agree <= 1 and exit_sample >= 1 (got {m.arch}, {b})")
    if m.init == "forget" and (m.init_v <= 0 or m.init_p <= 0):
        raise ConfigError(f"{where}model.init_v and model.init_p must be > 0 (got {m.init_v}, {m.init_p})")
    if not 0 < t.sdlm.gamma <= 1:
        raise ConfigError(f"{where}train.sdlm.gamma must be in (0, 1] (got {t.sdlm.gamma})")
    if not 0 <= cfg.data.validation < 60000:
        raise ConfigError(f"{where}data.validation must be in 0..59999 (got {cfg.data.validation})")
    if cfg.data.train_size + cfg.data.validation > 60000:
        raise ConfigError(f"{where}data.train_size + data.validation must be <= 60000 "
                          f"(got {cfg.data.train_size} + {cfg.data.validation})")
    if t.map_j <= 0:
        raise ConfigError(f"{where}train.map_j must be > 0 (got {t.map_j})")
    if t.optimizer == "sdlm" and t.sdlm.hessian_samples < 1:
        raise ConfigError(f"{where}train.sdlm.hessian_samples must be >= 1")
    for key, val in (("train.epochs", t.epochs), ("train.batch_size", t.batch_size),
                     ("data.train_size", cfg.data.train_size)):
        if val < 1:
            raise ConfigError(f"{where}{key} must be >= 1 (got {val})")
    if not 1 <= cfg.data.train_size <= 60000:
        raise ConfigError(f"{where}data.train_size must be in 1..60000 (got {cfg.data.train_size})")
    if m.arch == "lenet5" and (m.input_size < 32 or (m.input_size - 32) % 4):
        raise ConfigError(f"{where}model.input_size must be 32 + 4k (got {m.input_size})")
    d = cfg.data.distortions
    if not 0 <= d.prob <= 1:
        raise ConfigError(f"{where}data.distortions.prob must be in [0, 1] (got {d.prob})")
    for key in ("translate", "scale", "squeeze", "shear"):
        if getattr(d, key) < 0:
            raise ConfigError(f"{where}data.distortions.{key} must be >= 0 (got {getattr(d, key)})")
    if d.scale >= 1 or d.squeeze >= 1:
        raise ConfigError(f"{where}data.distortions.scale and .squeeze must be < 1")
    if t.optimizer == "sdlm" and not all(len(r) == 2 for r in t.sdlm.eta):
        raise ConfigError(f"{where}train.sdlm.eta: expected a list of [last_pass, eta] pairs")


def to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
