"""`paper-lenet predict IMAGE [--run DIR]`: a trained run's answer for your own digit image."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .data.mnist import preprocess
from .errors import UserError
from .evaluate import load_trained
from .image import read_png, to_mnist


@torch.no_grad()
def predict_image(image: str, run: str, as_json: bool = False) -> dict:
    """The class and the 10 outputs (RBF distances: lower is closer; else scores) for one image."""
    if not Path(image).is_file():
        raise UserError(f"{image}: no such image file")
    cfg, model = load_trained(Path(run))
    field = torch.tensor(to_mnist(read_png(image)), dtype=torch.float32)[None]  # (1, 28, 28), as MNIST
    out = model(preprocess(field, cfg.data, cfg.model.input_size))[0]  # (10,)
    res = {"image": str(image), "run": str(run), "class": int(model.scores(out[None]).argmax(1)),
           "output": "rbf_distance" if cfg.model.head == "rbf" else "score", "values": [round(float(v), 4) for v in out]}
    if as_json:
        print(json.dumps(res))
    else:
        print(f"{image}: {res['class']}  ({cfg.name}, {run})")
        print("  " + "  ".join(f"{d}: {v:.2f}" for d, v in enumerate(res["values"]))
              + ("   (RBF distances: the smallest wins)" if res["output"] == "rbf_distance" else ""))
    return res
