"""paper_lenet: a tested PyTorch reproduction of LeNet-5 (LeCun et al., 1998)."""
from ._version import __version__
from .config import Config, load_config
from .hub import pretrained
from .model import LeNet5
from .registry import build_model

__all__ = ["Config", "LeNet5", "build_model", "load_config", "pretrained", "__version__"]
