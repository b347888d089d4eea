"""Put the registered runs' weights into the package: `python experiments/package_weights.py results/runs`.

Copies each registered run's model.pt and config.yaml to paper_lenet/weights/ (checked against the
SHA-256 in paper_lenet/pretrained.py's REGISTRY) and writes paper_lenet/weights/meta.json: each
seed's test error and the 95% t-interval over the config's committed seeds.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

pretrained = importlib.import_module("paper_lenet.pretrained")  # the module (paper_lenet.pretrained is the function)

if __name__ == "__main__":
    pretrained.write_weights(Path(sys.argv[1] if len(sys.argv) > 1 else "results/runs"))
    print(f"wrote {pretrained.WEIGHTS_DIR}")
