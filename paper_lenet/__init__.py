"""paper_lenet: a tested PyTorch reproduction of LeNet-5 (LeCun et al., 1998).

Importing the package registers every model.arch (registry.py): the networks (networks.py) and the
comparison's fitted methods (comparison/), as torchvision.models registers its builders."""

from . import comparison  # noqa: F401  (registers the fitted methods)
from ._version import __version__
from .config import Config, load_config
from .core.model import LeNet5, build_model
from .tools.hub import pretrained
from .training import networks  # noqa: F401  (registers the networks)

__all__ = ["Config", "LeNet5", "build_model", "load_config", "pretrained", "__version__"]
