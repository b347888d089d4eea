"""Evaluation: test error, misses, loss and the 10x10 confusion matrix; `paper-lenet eval RUN_DIR`."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import files
from ..core.losses import per_sample_loss
from ..core.model import build_model, in_batches
from ..data.mnist import load_mnist
from ..errors import UserError
from ..runs import rundir
from ..runs.runpaths import existing_dir


@torch.no_grad()
def evaluate(model, x, y, loss: str, map_j: float = 10.0, batch_size: int = 1000) -> dict:
    """Error (fraction), misses, mean loss, predictions and confusion[true][pred] over (x, y)."""
    out = in_batches(model, x, batch_size)  # (N, 10)
    loss_sum = per_sample_loss(loss, out, y, map_j).sum().item()
    scores = model.scores(out)
    pred = scores.argmax(1)
    misses = int((pred != y).sum().item())
    conf = torch.zeros(10, 10, dtype=torch.long)
    conf.index_put_((y.cpu(), pred.cpu()), torch.ones_like(y.cpu()), accumulate=True)
    return {
        "error": misses / len(y),
        "misses": misses,
        "loss": loss_sum / len(y),
        "predictions": pred.cpu(),
        "margins": top_two_margin(scores).cpu(),
        "confusion": conf.tolist(),
    }


def top_two_margin(scores: torch.Tensor) -> torch.Tensor:
    """(N,) best minus second-best class score: the rejection criterion of Fig. 10 (higher: surer)."""
    top = scores.topk(2, dim=1).values
    return (top[:, 0] - top[:, 1]).to(torch.float32)


def load_trained(run: Path):
    """(config, model with the run's final weights) from a run directory."""
    cfg = rundir.load_run_config(existing_dir(run))
    weights = Path(run) / "model.pt"
    if not weights.is_file():
        raise UserError(f"{run}: no model.pt (the run has not finished; resume it with --resume)")
    model = build_model(cfg.model)
    state = files.load_torch(weights)
    try:
        model.load_state_dict(state)
    except (AttributeError, TypeError, ValueError, RuntimeError) as e:
        raise UserError(
            f"{weights}: damaged or not the weights of {run}'s model ({type(e).__name__})"
        ) from None
    return cfg, model


def eval_run(run: str, as_json: bool = False, root: str | None = None, write_margins: bool = False) -> dict:
    """Score a run's model.pt on the test set. write_margins: also write test_margins.npy (for runs made
    before margins were saved), after checking the predictions equal the run's test_predictions.txt."""
    cfg, model = load_trained(Path(run))
    if root is not None:
        cfg.data.root = root
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed)
    res = evaluate(model, data.test_x, data.test_y, cfg.train.loss, cfg.train.map_j)
    if write_margins:
        saved = Path(run) / "test_predictions.txt"
        pred = "".join(map(str, res["predictions"].tolist()))
        if not saved.is_file() or files.read_text(saved).strip() != pred:
            raise UserError(f"{saved}: missing or not what model.pt predicts; margins not written")
        rundir.write_predictions(Path(run), "test", res["predictions"], res["margins"])
    res.pop("predictions"), res.pop("margins")
    res = {
        "run": str(run),
        "test_error": res["error"],
        "test_misses": res["misses"],
        "test_loss": res["loss"],
        "confusion": res["confusion"],
    }
    if as_json:
        print(json.dumps(res))
    else:
        print(
            f"{run}: test error {100 * res['test_error']:.2f}% ({res['test_misses']} misses of "
            f"{len(data.test_y)})\nconfusion (rows true 0-9, columns predicted 0-9):"
        )
        for i, row in enumerate(res["confusion"]):
            print(f"  {i}: " + " ".join(f"{v:5d}" for v in row))
    return res
