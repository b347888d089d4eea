"""The registry: every `model.arch` name -> its Method (builder or fit, compiled stepper, cost, Fig. 9
row, paper section, config section). The low table only: it imports nothing of the package but
`paper` and `errors`, so the config, the model and the data sit below or beside it, not above.

torchvision's model registry in spirit: code asks `method(cfg.model.arch)` what a name is instead of
comparing strings, and each method is declared once, next to its code:

    networks.py        lenet5 (model.LeNet5), lenet1, lenet4, mlp (nets.SeqNet), with their
                       compiled per-sample steppers (fast/)
    comparison/*.py    the fitted methods, each with `@fitted(...)` on its fit function

`import paper_lenet` registers them all (the package's __init__ imports networks and comparison, as
torchvision.models imports its builders); `methods()` lists what is registered, and the `Arch`
choices, the optional config sections (`method_sections()`) and their checks come from it.
docs/architecture.md walks through adding a method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .. import paper
from ..errors import ConfigError


@runtime_checkable
class Fitted(Protocol):
    """What a fitted method's `fit(cfg, x, y, log)` returns (comparison/base.py's FittedModel gives
    the defaults): class scores and predictions for (N, d) inputs, Figs. 11-12's cost once fitted,
    what the run's summary and metrics record, and a round trip through a file."""

    summary: dict  # recorded in summary.json (support vectors, the chosen k, ...)
    metrics: dict  # recorded in metrics.jsonl's row
    extra_scores: dict  # other readouts of the same fit: name -> scores function

    def scores(self, x) -> Any: ...  # (N, 10), higher is better

    def predict(self, x) -> Any: ...  # (N,) classes

    def cost(self) -> dict: ...  # {"macs", "memory"} when the fit decides them, else {}

    def train_index(self, n: int) -> Any: ...  # which training images the train error is taken on (None: all)

    def save(self, path) -> None: ...

    @classmethod
    def load(cls, path) -> Fitted: ...


@dataclass(frozen=True)
class Method:
    """One `model.arch`. A network has `build(ModelConfig)` (and `fast`: (supported(model, cfg) ->
    reason or None, stepper class)); a fitted method has `fit(cfg, x, y, log=print) -> Fitted` and
    `section`, the dataclass of its config section (`knn: {k: 3}`), whose fields may carry bounds
    (`bounded`). `cost(cfg)` gives Figs. 11-12's {"macs", "memory"} ({}: the fit decides, see
    Fitted.cost); `row(cfg)` the Fig. 9 row the config is for (None: none); `paper_section` where
    the paper describes it; `check(section, where)` any cross-field rule of its section."""

    name: str
    kind: str  # "network" | "fitted"
    cost: Callable[[Any], dict]
    row: Callable[[Any], str | None]
    paper_section: str = ""
    build: Callable | None = None
    fast: tuple[Callable, type] | None = None
    fit: Callable | None = None
    section: type | None = None
    check: Callable | None = None
    paper_counts: Callable | None = None  # networks: the paper's counts for `info`


METHODS: dict[str, Method] = {}


def register(m: Method) -> Method:
    if m.name in METHODS and METHODS[m.name] != m:
        raise ValueError(f"model.arch {m.name!r} is registered twice")
    if m.kind == "fitted" and (m.fit is None or m.section is None):
        raise ValueError(f"fitted method {m.name!r} needs fit and section")
    METHODS[m.name] = m
    return m


def fitted(
    name: str,
    *,
    section: type,
    cost: Callable,
    row: Callable,
    paper_section: str = "",
    check: Callable | None = None,
) -> Callable:
    """Decorator on a fit function `fit(cfg, x, y, log=print) -> Fitted`: registers model.arch `name`
    with its config section's dataclass, its cost, its Fig. 9 row and the paper's section."""

    def deco(fit: Callable) -> Callable:
        register(Method(name, "fitted", cost, row, paper_section, fit=fit, section=section, check=check))
        return fit

    return deco


def bounded(default, low=None, high=None, **kw):
    """A config field with bounds (inclusive) that load_config checks: `k: int = bounded(3, low=0)`."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high}, **kw)


def bounds_errors(section, prefix: str) -> list[str]:
    """'prefix.key must be >= low (got v)' for every bounded field of a section outside its bounds."""
    out = []
    for f in dataclasses.fields(section):
        v, low, high = getattr(section, f.name), f.metadata.get("low"), f.metadata.get("high")
        if low is not None and v < low:
            out.append(f"{prefix}.{f.name} must be >= {low} (got {v})")
        elif high is not None and v > high:
            out.append(f"{prefix}.{f.name} must be <= {high} (got {v})")
    return out


def method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(
            f"model.arch: {name!r} is not registered (registered: {', '.join(sorted(METHODS))})"
        )
    return METHODS[name]


def methods() -> list[str]:
    """Every registered model.arch (the config's Arch choices)."""
    return sorted(METHODS)


def method_sections() -> dict[str, type]:
    """model.arch -> its config section's dataclass, for every fitted method."""
    return {n: m.section for n, m in sorted(METHODS.items()) if m.section is not None}


def paper_cost(cfg) -> dict:
    """Figs. 11-12's figures for the config's row ({} when it gives none), in MACs and variables. A
    row with a [dist] or [deslant] tag that Figs. 11-12 leave out costs what the plain row does
    (training distortions cost nothing at recognition; the paper's Linear 4K is the deslanted one)."""
    row = method(cfg.model.arch).row(cfg)
    for r in (row, row and row.split("] ", 1)[-1]):
        if r in paper.FIG11_12:
            macs, memory = paper.FIG11_12[r]
            return {"macs": macs * 1000, "memory": memory * 1000, "row": r}
    return {}


def fig9_row(label: str) -> str | None:
    """label when it is one of Fig. 9's rows, else None."""
    return label if label in paper.FIG9 else None


def preprocess_tag(cfg) -> str:
    """Fig. 9's prefix for the config's input: [dist], [deslant], [16x16] or none."""
    d = cfg.data
    return (
        "[dist] "
        if d.distortions.enabled
        else {"deslant": "[deslant] ", "16x16": "[16x16] "}.get(d.preprocess, "")
    )
