"""torch.hub entry points: the paper's LeNet-5 and the authors' own protocol, with committed weights.

    model = torch.hub.load("<owner>/paper_lenet", "lenet5_1998", pretrained=True)   # or source="local"
    model.predict(x)   # x: (N, 1, 32, 32) scaled as the config says (paper_lenet.data.mnist.preprocess)

Weights are read from this repository (results/runs/<name>/seed0/model.pt, the committed run of
seed 0) and checked against the SHA-256 below before they are loaded.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

dependencies = ["torch", "numpy", "scipy", "yaml"]

HERE = Path(__file__).resolve().parent
WEIGHTS = {  # config name -> (weights file, its SHA-256)
    "lenet5_1998": ("results/runs/lenet5_1998/seed0/model.pt",
                    "6ff1d4ce9943c14ee65b5407666e92560778413bbe824ee7b2534715f95d4c08"),
    "lenet5_lush": ("results/runs/lenet5_lush/seed0/model.pt",
                    "ccb23463a2bd600c63eb2b12fa3ebf2b8271df5b953757d0ab68ed1493edd1c4"),
}


def _model(name: str, pretrained: bool):
    import torch

    from paper_lenet import build_model, load_config

    cfg = load_config(HERE / "configs" / f"{name}.yaml")
    model = build_model(cfg.model, seed=cfg.seed)
    if pretrained:
        rel, sha = WEIGHTS[name]
        path = HERE / rel
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != sha:
            raise RuntimeError(f"{path}: SHA-256 {got} does not match the committed {sha}")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def lenet5_1998(pretrained: bool = False):
    """LeNet-5 as in the 1998 paper (configs/lenet5_1998.yaml); pretrained: the committed seed-0 run."""
    return _model("lenet5_1998", pretrained)


def lenet5_lush(pretrained: bool = False):
    """The authors' own Lush LeNet-5 protocol (configs/lenet5_lush.yaml); pretrained: seed 0."""
    return _model("lenet5_lush", pretrained)
