"""paper_lenet: a faithful, tested PyTorch reproduction of LeNet-5 (LeCun et al., 1998)."""
from .config import Config, load_config
from .model import LeNet5, build_model
from .pretrained import pretrained

__version__ = "0.1.0"
__all__ = ["Config", "LeNet5", "build_model", "load_config", "pretrained", "__version__"]
