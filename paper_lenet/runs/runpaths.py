"""What a path given to `eval`, `predict --run` or `compare` holds, said in one line when it is not
what the command needs: a missing path is "no such directory: PATH"; a folder of config folders
points at them; one seed folder given to compare is named as one run. And the one resolver of a
config key's `{seed}` run template (seed_path)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

SHOWN = 5  # config folders listed in a "did you mean" before "..."


def existing_dir(path) -> Path:
    """`path` as a Path when it is a directory; else a UserError saying what it is."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such directory: {p}")
    if not p.is_dir():
        raise UserError(f"{p}: not a directory")
    return p


def seed_path(template: str, seed: int, key: str) -> Path:
    """A run-directory template of a config key (knn.features, boost.net1, ...) with {seed} filled in;
    any other {field} or a stray brace is a one-line UserError naming the key."""
    try:
        return Path(template.format(seed=seed))
    except (KeyError, IndexError, ValueError) as e:
        raise UserError(
            f"{key}: {template!r}: only {{seed}} is filled in ({type(e).__name__}: {e})"
        ) from None


def _seed_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("seed*") if p.is_dir())


def is_run(p: Path) -> bool:
    """A run directory: what `train` writes first (config.yaml) or last (summary.json)."""
    return (p / "config.yaml").is_file() or (p / "summary.json").is_file()


def seed_runs(folder) -> list[Path]:
    """One config's seed*/ run directories (what `sweep` writes into OUT/<name>/, or results/runs/<name>);
    a one-line UserError naming what the folder is instead."""
    folder = existing_dir(folder)
    runs = _seed_dirs(folder)
    if runs:
        return runs
    if is_run(folder):
        raise UserError(
            f"{folder}: a single run (a seed folder); compare takes a config's folder of seed*/ "
            f"runs: did you mean {folder.parent}?"
        )
    below = sorted(p for p in folder.iterdir() if p.is_dir() and _seed_dirs(p))
    if below:
        more = " ..." if len(below) > SHOWN else ""
        raise UserError(
            f"{folder}: no runs here, but config folders below it: did you mean "
            f"{' '.join(map(str, below[:SHOWN]))}{more}?"
        )
    raise UserError(f"{folder}: no runs (expected seed*/ run directories, as `paper-lenet sweep` writes)")
