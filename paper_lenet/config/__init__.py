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
from pathlib import Path

import yaml

from ..core.registry import method_sections
from ..errors import ConfigError
from .checks import validate
from .schema import (
    CORE,
    Arch,
    BoostConfig,
    Config,
    DataConfig,
    DistortConfig,
    ModelConfig,
    SDLMConfig,
    TrainConfig,
    optional_sections,
    section_types,
)
from .yamlconf import apply_override, build, convert, read_yaml

__all__ = [
    "CONFIGS",
    "CORE",
    "Arch",
    "BoostConfig",
    "Config",
    "DataConfig",
    "DistortConfig",
    "ModelConfig",
    "SDLMConfig",
    "TrainConfig",
    "config_dict",
    "config_from_dict",
    "dump_config",
    "known_configs",
    "load_config",
    "migrate",
    "optional_sections",
    "resolve_config",
    "section_types",
    "to_dict",
]


CONFIGS = Path(__file__).resolve().parents[1] / "configs"  # shipped with the package (paper_lenet/configs)


def known_configs() -> list[str]:
    """Every shipped config by name: `lenet5_1998`, `ablations/paper-relu`, ..."""
    return sorted(
        str(p.relative_to(CONFIGS).with_suffix(""))
        for p in CONFIGS.rglob("*.yaml")
        if not p.name.startswith("_")
    )


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
_LEGACY_MODEL_KEYS = {
    "k": ("knn",),
    "features": ("knn",),
    "components": ("pca_quadratic",),
    "centers": ("rbf_linear",),
    "ridge": ("linear", "pairwise", "pca_quadratic", "rbf_linear"),
}


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
    if (
        isinstance(data, dict)
        and data.get("preprocess") == "deslant"
        and "deslant" not in data
        and _SAVED_DATA_KEYS <= set(data)
    ):
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
            raise ConfigError(
                f"unknown key {k}"
                + (f"; did you mean {near[0]}?" if near else f"; valid keys: {', '.join(names)}")
            )
    cfg = build(Config, {k: v for k, v in raw.items() if k in (*CORE, "boost")})
    for name in method_sections():
        if name in raw and (sec := convert(raw[name], types[name], name)) is not None:
            cfg.sections[name] = sec
    return cfg


def to_dict(cfg: Config) -> dict:
    """The config as a dict, in the file's layout; sections that do not apply (None) are left out."""
    out = {
        k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
        for k in CORE
        if (v := getattr(cfg, k)) is not None
    }
    out.update({k: dataclasses.asdict(v) for k, v in cfg.sections.items()})
    if cfg.boost is not None:
        out["boost"] = dataclasses.asdict(cfg.boost)
    return out


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
