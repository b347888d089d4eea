"""Compile lenet5.c on first use and load it with ctypes; one cached library per input size.

The library is built with the machine's C compiler at -O3 -march=native (no -ffast-math: the
results must match the reference within float32 rounding) into a per-user cache, keyed by a
hash of the sources, the flags, the compiler's version and the CPU, so a changed source, a new
compiler or a home directory shared with another CPU each get their own build. Builds go to a
temporary file renamed into place, so concurrent processes never load a half-written library.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("lenet5.c", "lenet5_ops.h")
# -fno-trapping-math only lets gcc evaluate both sides of a select (tanh's two ranges) so the
# loop vectorises; it changes no result. -fopenmp-simd honours `omp simd reduction` only.
FLAGS = ("-O3", "-march=native", "-fno-trapping-math", "-fopenmp-simd", "-shared", "-fPIC", "-std=gnu11")

_loaded: dict[int, ctypes.CDLL] = {}
last_build_s: float | None = None  # seconds the last compilation in this process took (bench)


def compiler() -> str | None:
    """$CC, else gcc, else cc on PATH; None when there is none."""
    cc = os.environ.get("CC")
    if cc and shutil.which(cc):
        return shutil.which(cc)
    return shutil.which("gcc") or shutil.which("cc")


def cache_dir() -> Path:
    root = os.environ.get("PAPER_LENET_CACHE") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) / "paper_lenet" if root else Path.home() / ".cache" / "paper_lenet"
    return base / "fast"


def _cpu_id() -> str:
    """The CPU model and feature flags (what -march=native compiles for)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        import platform

        return platform.machine() + platform.processor()
    keep = [l for l in lines if l.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(keep))  # one copy per distinct line, not one per core


def _key(cc: str, input_size: int) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update((HERE / name).read_bytes())
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    for part in (" ".join(FLAGS), str(input_size), version, _cpu_id()):
        h.update(part.encode())
    return h.hexdigest()[:16]


def library_path(input_size: int) -> Path:
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (gcc, cc or $CC) to build the fast path")
    return cache_dir() / f"lenet5_in{input_size}_{_key(cc, input_size)}.so"


def build(input_size: int) -> Path:
    """The compiled library for this input size, compiling it if it is not in the cache."""
    global last_build_s
    out = library_path(input_size)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [compiler(), *FLAGS, f"-DIN_SIZE={input_size}", str(HERE / "lenet5.c"), "-o", tmp, "-lm"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"compiling the fast path failed ({' '.join(cmd)}):\n{r.stderr.strip()}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    last_build_s = time.perf_counter() - t0
    return out


def load(input_size: int) -> ctypes.CDLL:
    """The loaded library (built on first use), with lenet5_run's argument types declared."""
    if input_size not in _loaded:
        lib = ctypes.CDLL(str(build(input_size)))
        f, p, i, fl = lib.lenet5_run, ctypes.c_void_p, ctypes.c_int, ctypes.c_float
        f.argtypes = [p, p, p, i, i, i, i, fl, fl, p, p, p, ctypes.c_int64, p, p]
        f.restype = i
        _loaded[input_size] = lib
    return _loaded[input_size]
