"""One writer per run directory: an exclusive fcntl.flock on <run>/.lock, held by the process that
writes the run. The kernel drops it when that process ends or is killed; the file (the last pid) stays.

    lock(out)     take it, or a one-line UserError `out: in use by pid N`
    unlock(out)   release it (both re-entrant within a process; a boosted run's net2/ and net3/ are
                  directories of their own, each with its own lock, so nesting never waits)
    holder(out)   the pid of another process that holds it, else None (sweep, the Ray backend)
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ..errors import UserError

LOCK = ".lock"
_held: dict[str, tuple[int, int]] = {}  # resolved run directory -> (lock fd, times taken) in this process


def holder(out: Path) -> int | None:
    """The pid of another process writing the run directory `out`, else None (also for this process's own)."""
    path = Path(out) / LOCK
    if str(Path(out).resolve()) in _held or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # conflicts only with a writer's exclusive lock
        return None
    except OSError:
        return _lock_pid(fd)
    finally:
        os.close(fd)  # closing drops a probe's shared lock


def _lock_pid(fd: int) -> int | str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else "?"


def lock(out: Path) -> None:
    """Take the exclusive lock of `out` for this process (re-entrant: a process that holds it may open
    the run again; flock itself would refuse a second descriptor of the same process)."""
    key = str(Path(out).resolve())
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        return
    try:
        fd = os.open(Path(out) / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise UserError(f"{out}: cannot open the run directory's lock file ({e.strerror or e})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        pid = _lock_pid(fd) if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
        os.close(fd)
        raise UserError(
            f"{out}: in use by pid {pid}" if pid is not None else f"{out}: cannot lock ({e.strerror or e})"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[key] = (fd, 1)


def unlock(out: Path) -> None:
    key = str(Path(out).resolve())
    fd, depth = _held.pop(key, (None, 0))
    if depth > 1:
        _held[key] = (fd, depth - 1)
    elif fd is not None:
        os.close(fd)  # releases the flock; the file stays (unlinking it would race a next writer)
