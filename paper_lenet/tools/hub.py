"""Pretrained weights inside the package, in the way torchvision's weight enums work.

    model = paper_lenet.pretrained("lenet5_1998")   # or "lenet5_lush"; eval mode
    model.meta        # config name, seed, test error and its 95% interval over the seeds, params, config
    x = model.transforms("digit.png")   # any image -> (1, 32, 32), as `paper-lenet predict` does
    model.predict(x[None])

paper_lenet/weights/ holds, for each registered name, the committed seed's model.pt (checked by
SHA-256 on every load) and its run's config.yaml, and meta.json with the figures from the
committed runs, which an installed wheel does not have. Regenerate them from a checkout with
`python -m experiments.package_weights results/runs`; a test checks they agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
from pathlib import Path

import torch

from .. import files
from ..config import load_config, to_dict
from ..core.model import build_model
from ..errors import UserError
from ..runs import rundir
from ..training.evaluate import load_trained
from .stats import t_interval
from .transforms import Transform

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
META = WEIGHTS_DIR / "meta.json"


@dataclasses.dataclass(frozen=True)
class Weights:
    name: str  # the config's name, also the run folder's: results/runs/<name>/seed<seed>
    sha256: str  # of the weights file
    seed: int  # the committed run these weights come from

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.pt"

    @property
    def config_path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.yaml"


REGISTRY = {
    w.name: w
    for w in (
        Weights("lenet5_1998", "6ff1d4ce9943c14ee65b5407666e92560778413bbe824ee7b2534715f95d4c08", 0),
        Weights("lenet5_lush", "ccb23463a2bd600c63eb2b12fa3ebf2b8271df5b953757d0ab68ed1493edd1c4", 0),
    )
}


def weights(name: str) -> Weights:
    if name not in REGISTRY:
        raise UserError(f"no pretrained weights named {name!r} (have: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def load_state(w: Weights) -> dict:
    """The state_dict, after checking the file's SHA-256 against the registry."""
    if not w.path.is_file():
        raise UserError(f"{w.path}: pretrained weights missing (reinstall paper-lenet)")
    data = w.path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != w.sha256:
        raise UserError(
            f"{w.path}: SHA-256 {got} does not match the registered {w.sha256} "
            "(damaged or altered weights; reinstall paper-lenet)"
        )
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def pretrained(name: str = "lenet5_1998"):
    """The registered config's model with its committed weights, in eval mode, with .meta and
    .transforms (any image -> the (1, S, S) input the config expects)."""
    w = weights(name)
    cfg = load_config(w.config_path)
    model = build_model(cfg.model)
    model.load_state_dict(load_state(w))
    model.eval()
    model.meta = {**json.loads(META.read_text())[name], "config": to_dict(cfg)}
    model.transforms = Transform(cfg)
    return model


def build_meta(runs: Path) -> dict:
    """meta.json's content from the committed runs: per name, the seed's test error and the mean
    and 95% t-interval of the test error over every committed seed of the config."""
    meta = {}
    for name, w in REGISTRY.items():
        seeds = sorted(Path(runs, name).glob("seed*/summary.json"), key=lambda p: int(p.parent.name[4:]))
        errors = {int(p.parent.name[4:]): files.read_json(p)["test_error"] for p in seeds}
        if w.seed not in errors:
            raise UserError(f"{Path(runs, name)}: no seed{w.seed}/summary.json")
        vals = list(errors.values())
        cfg = rundir.load_run_config(Path(runs, name, f"seed{w.seed}"))
        meta[name] = {
            "config_name": name,
            "seed": w.seed,
            "test_error": errors[w.seed],
            "test_error_mean": sum(vals) / len(vals),
            "test_error_ci95": list(t_interval(vals)),
            "seeds": sorted(errors),
            "params": sum(p.numel() for p in build_model(cfg.model).parameters()),
        }
    return meta


def write_weights(runs: Path) -> None:
    """Copy each registered run's model.pt and config.yaml into the package, check the SHA-256,
    write meta.json."""
    for w in REGISTRY.values():
        run = Path(runs, w.name, f"seed{w.seed}")
        shutil.copyfile(run / "model.pt", w.path)
        shutil.copyfile(run / "config.yaml", w.config_path)
        load_state(w)
    files.write_json(META, build_meta(runs))


DEFAULT_MODEL = "lenet5_1998"


def load_model(run: str | None = None, name: str | None = None):
    """(label, model in eval mode, its Transform): a run directory's model.pt, or packaged weights."""
    if run is not None and name is not None:
        raise UserError("--run and --model both given: choose one")
    if run is not None:
        cfg, model = load_trained(Path(run))
        return f"{cfg.name} ({run})", model.eval(), Transform(cfg)
    model = pretrained(name or DEFAULT_MODEL)
    return f"{model.meta['config_name']} seed{model.meta['seed']}", model, model.transforms
