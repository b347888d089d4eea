"""torch.hub entry points: the paper's LeNet-5 and the authors' own protocol, with the packaged weights.

    model = torch.hub.load("<owner>/paper_lenet", "lenet5_1998", pretrained=True)   # or source="local"
    model.predict(model.transforms("digit.png")[None])   # any image: see paper_lenet.pretrained

pretrained=True is `paper_lenet.pretrained(name)`: the committed seed-0 run's weights, shipped in
paper_lenet/weights/ and checked against the SHA-256 in paper_lenet/tools/hub.py before loading.
"""

from __future__ import annotations

dependencies = ["torch", "numpy", "scipy", "yaml", "PIL"]


def _model(name: str, pretrained: bool):
    from paper_lenet import build_model, load_config
    from paper_lenet import pretrained as load_pretrained

    if pretrained:
        return load_pretrained(name)
    cfg = load_config(name)  # the shipped config
    return build_model(cfg.model, seed=cfg.seed).eval()


def lenet5_1998(pretrained: bool = False):
    """LeNet-5 as in the 1998 paper (configs/lenet5_1998.yaml); pretrained: the committed seed-0 run."""
    return _model("lenet5_1998", pretrained)


def lenet5_lush(pretrained: bool = False):
    """The authors' own Lush LeNet-5 protocol (configs/lenet5_lush.yaml); pretrained: seed 0."""
    return _model("lenet5_lush", pretrained)
