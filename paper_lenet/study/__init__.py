"""The study's tools: how a run is made, sweeps (local or Ray), compare, robustness, provenance, cite."""
