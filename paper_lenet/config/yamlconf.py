"""Typed dataclasses from YAML: conversion by field type, `base:` inheritance, `section.key=value` overrides.

Generic: it knows no LeNet-5 key (config.py holds the schema). PyYAML reads `1e-3` as a string, so
every value is converted to its field's type; an unknown key names the nearest valid one and a bad
choice lists the allowed values. Every error is a one-line ConfigError.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import ConfigError

# ---------------------------------------------------------------------------------------------
# conversion by field type


def convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of keys, got {value!r}")
        return build(tp, value, key + ".")
    if origin is typing.Union or origin is types.UnionType:  # Optional[X], X | None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
            return None
        return convert(value, args[0], key)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, bool):  # YAML 1.1 reads on/off/yes/no as booleans
            spelled = [
                a
                for a in allowed
                if str(a).lower() in (("on", "true", "yes") if value else ("off", "false", "no"))
            ]
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
        return [convert(v, sub, f"{key}[{i}]") for i, v in enumerate(value)]
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


def build(cls: type, raw: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for k, v in raw.items():
        if k not in names:
            near = difflib.get_close_matches(str(k), names, n=1, cutoff=0.5)
            hint = f"; did you mean {prefix}{near[0]}?" if near else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key {prefix}{k}{hint}")
        kwargs[k] = convert(v, hints[k], prefix + k)
    return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# YAML files, inheritance, overrides


def merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_yaml(path: Path, find: Callable[[str], Path], chain: tuple[Path, ...] = ()) -> dict:
    """A YAML mapping with its `base:` chain merged in; a base is a path relative to the file, else
    whatever `find` makes of it (config.py: a shipped config's name)."""
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
        why = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
        raise ConfigError(f"{path}:{line} invalid YAML: {why}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a YAML text file (not UTF-8)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at top level")
    base = raw.pop("base", None)
    if base is None:
        return raw
    near = path.parent / str(base)
    if near.is_file():
        return merge(read_yaml(near, find, chain + (path,)), raw)
    try:
        found = find(str(base))
    except ConfigError as e:  # name the file whose base it is
        raise ConfigError(f"{path}: base: {e}") from None
    return merge(read_yaml(found, find, chain + (path,)), raw)


def apply_override(raw: dict, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected section.key=value")
    key, text = item.split("=", 1)
    parts = key.strip().split(".")
    node = raw
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {p} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(text) if text.strip() else ""
    except (yaml.YAMLError, RecursionError) as e:
        raise ConfigError(
            f"override {item!r}: invalid YAML value ({str(e).splitlines()[0] if str(e) else e})"
        ) from None
