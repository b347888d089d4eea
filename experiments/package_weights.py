"""Put the registered runs' weights into the package: `python -m experiments.package_weights results/runs`.

Copies each registered run's model.pt and config.yaml to paper_lenet/weights/ (checked against the
SHA-256 in paper_lenet/tools/hub.py's REGISTRY) and writes paper_lenet/weights/meta.json: each
seed's test error and the 95% t-interval over the config's committed seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from paper_lenet.tools.hub import WEIGHTS_DIR, write_weights

if __name__ == "__main__":
    write_weights(Path(sys.argv[1] if len(sys.argv) > 1 else "results/runs"))
    print(f"wrote {WEIGHTS_DIR}")
