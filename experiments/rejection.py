"""Fig. 10's rejection (the % of test patterns rejected, lowest top-two margin first, to reach 0.5%
error) and which Fig. 9 rows are networks; shared by fig9.py's tables and fig9_plots.py's curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_lenet import paper
from paper_lenet.config import config_from_dict
from paper_lenet.core.registry import method
from paper_lenet.study import make  # noqa: F401  (registers every model.arch)

FIG10_NEVER = "not reached short of rejecting all"  # no cut below 100% brings the error to the target


def run_config(group: list[dict]):
    """The runs' config, from the first run's saved mapping (older layouts load too: config.migrate)."""
    return config_from_dict(group[0]["config"])


def is_network(name: str, group: list[dict]) -> bool:
    """A trained network's row (LeNet-5, LeNet-1, LeNet-4, the fully connected nets, boosted LeNet-4) or
    one built on a trained network's features (LeNet-4 / K-NN): these get a within/outside verdict."""
    cfg = run_config(group)
    return method(cfg.model.arch).kind == "network" or bool(getattr(cfg.method_section(), "features", None))


def _wrong(pred: str, labels: str) -> np.ndarray:
    if len(pred) != len(labels):
        raise ValueError(f"{len(pred)} predictions for {len(labels)} labels")
    return np.frombuffer(pred.encode(), np.uint8) != np.frombuffer(labels.encode(), np.uint8)


def _cuts(pred: str, labels: str, margins) -> tuple[np.ndarray, np.ndarray, int]:
    """(k, errors left) at every cut that rejects the k lowest margins without splitting a tie; n."""
    wrong = _wrong(pred, labels)
    m = np.asarray(margins, dtype=np.float64)
    if m.shape != wrong.shape:
        raise ValueError(f"{m.size} margins for {wrong.size} predictions")
    order = np.argsort(m, kind="stable")
    m, wrong = m[order], wrong[order]
    n = len(m)
    k = np.concatenate([[0], np.flatnonzero(m[1:] != m[:-1]) + 1, [n]])  # the ends of the tie groups
    rejected_wrong = np.concatenate([[0], np.cumsum(wrong)])
    return k, int(wrong.sum()) - rejected_wrong[k], n


def rejection(pred: str, labels: str, margins: np.ndarray, target: float = paper.FIG10_ERROR) -> float:
    """Fig. 10: the smallest % of patterns rejected (lowest margin first, a tie rejected together) so
    that the error on the accepted ones is <= target %; 100 when no cut reaches it."""
    k, left, n = _cuts(pred, labels, margins)
    ok = 100 * left <= target * (n - k) + 1e-9  # errors/accepted <= target% (0 of 0 accepted counts as met)
    return 100 * float(k[np.argmax(ok)]) / n


def rejection_curve(pred: str, labels: str, margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rejected %, error % on the accepted) at every tie-respecting cut but the last (all rejected)."""
    k, left, n = _cuts(pred, labels, margins)
    k, left = k[:-1], left[:-1]
    return 100 * k / n, 100 * left / (n - k)


def margins_of(run: dict, labels: str | None):
    """The run's test margins when they, its predictions and the labels all line up; else None."""
    p = Path(run["dir"]) / "test_margins.npy"
    if labels is None or not run.get("pred") or not p.exists() or len(run["pred"]) != len(labels):
        return None
    m = np.load(p, allow_pickle=False)
    return m if m.shape == (len(labels),) else None
