"""The output heads (F7 and what its outputs mean): one class per `model.head`, owning its layer, its
scores and their meaning, the losses it pairs with, its curvature term (where SDLM's Gauss-Newton
pass starts) and its label in `predict` and `show-maps`. No other module compares model.head to a
name: code asks `head(cfg.head)`.

    rbf       Sec. II-B's Euclidean RBF units: fixed +-1 centres (Fig. 3), outputs are squared
              distances, the smallest wins; losses mse (eq. 8) and map (eq. 9)
    linear    10 linear outputs (logits), the largest wins; cross_entropy (modern)
    squashed  10 squashed outputs (the authors' Lush net; LeNet-1, LeNet-4 and the MLPs), the largest
              wins; edist
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from ..paper import rbf_codes
from .layers import RBF, Full
from .losses import output_curvature

FEATURES = 84  # F6's units, F7's inputs in LeNet-5


class Head:
    """What every head answers; subclasses set the class attributes and `layer`."""

    name = ""
    losses: tuple[str, ...] = ()  # the train.loss values it pairs with
    trainable = True  # F7 has parameters
    distance = False  # its outputs are distances (smallest wins), not scores (largest wins)
    rejection = "max output"  # robustness: the name of its first rejection score

    def layer(self, activation: str, n_in: int = FEATURES) -> torch.nn.Module:
        raise NotImplementedError

    def scores(self, out: torch.Tensor) -> torch.Tensor:
        """Class scores, higher is better, from the layer's raw outputs (N, 10)."""
        return -out if self.distance else out

    @property
    def output(self) -> str:
        """The label of the raw outputs in predict's rows ('rbf_distance' or 'score')."""
        return "rbf_distance" if self.distance else "score"

    @property
    def reading(self) -> str:
        """How to read the raw outputs, for people (predict's text, show-maps' bar chart)."""
        return "RBF distance, smallest wins" if self.distance else "score, largest wins"

    @property
    def axis(self) -> str:
        return "RBF distance" if self.distance else "score"

    def check_loss(self, loss: str, where: str = "") -> None:
        """A ConfigError when train.loss does not go with this head."""
        if loss not in self.losses:
            owner = next((h.name for h in HEADS.values() if loss in h.losses), "?")
            raise ConfigError(f"{where}train.loss={loss} needs model.head={owner} (got {self.name})")

    def curvature(self, layer, feats, loss: str, y, map_j: float) -> tuple[dict, torch.Tensor]:
        """SDLM's start: (h per parameter of F7, d2E/dx^2 at F6's output) for the batch `feats` (N, 84)."""
        a7 = layer.pre(feats)
        g2_out = output_curvature(loss, feats, None, layer.act(a7), y, map_j)
        return layer.curvature(feats, a7, g2_out)

    def fast_slots(self, layer) -> dict:
        """Tensors the compiled path reads besides the parameters (the RBF's fixed centres)."""
        return {}

    def rejection_score(self, out: torch.Tensor) -> torch.Tensor:
        """Higher = more digit-like: its first rejection score (robustness) from raw outputs (N, 10)."""
        return out.max(1).values


class RBFHead(Head):
    name = "rbf"
    losses = ("mse", "map")
    trainable = False
    distance = True
    rejection = "min distance"

    def layer(self, activation: str, n_in: int = FEATURES) -> torch.nn.Module:
        return RBF(rbf_codes())

    def curvature(self, layer, feats, loss: str, y, map_j: float) -> tuple[dict, torch.Tensor]:
        # F7 is fixed: the loss is taken as a function of F6's outputs, F7 and the loss together
        return {}, output_curvature(loss, feats, layer.centers, layer(feats), y, map_j)

    def fast_slots(self, layer) -> dict:
        return {"F7.weight": layer.centers}  # the fixed centres in F7's weight slot

    def rejection_score(self, out: torch.Tensor) -> torch.Tensor:
        return -out.min(1).values


class LinearHead(Head):
    name = "linear"
    losses = ("cross_entropy",)
    rejection = "max softmax"

    def layer(self, activation: str, n_in: int = FEATURES) -> torch.nn.Module:
        return Full(n_in, 10, "identity")

    def rejection_score(self, out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, 1).max(1).values  # Hendrycks & Gimpel 2017


class SquashedHead(Head):
    name = "squashed"
    losses = ("edist",)

    def layer(self, activation: str, n_in: int = FEATURES) -> torch.nn.Module:
        return Full(n_in, 10, activation)


HEADS: dict[str, Head] = {h.name: h for h in (RBFHead(), LinearHead(), SquashedHead())}
SQUASHED = HEADS["squashed"]


def head(name: str) -> Head:
    """The head called `name` (model.head)."""
    if name not in HEADS:
        raise ConfigError(f"model.head: {name!r} is not a head (heads: {', '.join(HEADS)})")
    return HEADS[name]
