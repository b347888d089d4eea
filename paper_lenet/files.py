"""Files written whole or not at all, and read back with one-line errors: the atomic write (a
temporary file in the same folder, then a rename; Ctrl-C held back meanwhile), its text, JSON and
torch forms, `save` (the folders made first) and the readers of this package's own files. Below
everything that writes: run directories, pictures, caches."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from pathlib import Path

import torch

from .errors import UserError


@contextlib.contextmanager
def _deferred_interrupts():
    """SIGINT/SIGTERM/SIGHUP held back while a file is written (delivered right after): a Ctrl-C never
    leaves a temporary file behind. Only where the platform can block signals (POSIX)."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:
        yield
        return
    old = block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, old)


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    with _deferred_interrupts():
        _atomic_write(path, write)


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a run's files are ordinary files
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, a read-only folder: the previous file is intact
            raise UserError(
                f"{path}: cannot write ({e.strerror or e}); the previous version is kept"
            ) from None
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_torch(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_torch(path: Path):
    """A .pt file of this package (weights_only); a damaged one is a one-line UserError naming it."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001  decoding damaged bytes raises anything (zip, pickle, struct, ...)
        raise UserError(f"{path}: damaged ({type(e).__name__}: {_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else "no detail"


def save(path, write) -> Path:
    """atomic_write(path, write) after making path's folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path


def read_json(path: Path) -> dict:
    """A run's JSON object (summary.json, env.json); a damaged one is a one-line UserError naming it."""
    try:
        obj = json.loads(Path(path).read_bytes().decode())
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise UserError(f"{path}: damaged ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: damaged (expected a JSON object, got {type(obj).__name__})")
    return obj


def read_text(path: Path) -> str:
    """A run's text file (predictions); a damaged one is a one-line UserError naming it."""
    try:
        return Path(path).read_bytes().decode("ascii")
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: damaged (not ASCII text)") from None
