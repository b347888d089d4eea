"""Compile lenet5.c (LeNet-5, one library per input size), lockstep.c (K LeNet-5 models side by side,
one library per input size and K) or seqnet.c (nets.SeqNet, sizes given at run time) on first use and
load it with ctypes.

The library is built with the machine's C compiler at -O3 -march=native (no -ffast-math: the
results must match the reference within float32 rounding; vector width and FMA contraction change
only the rounding, which tests/test_fast.py bounds) into a per-user cache, keyed by a hash of the
sources, the flags, the compiler's version and the CPU, so a changed source, a new compiler or a
home directory shared with another CPU each get their own build. A compiler that rejects the
native flags (some clang and ARM toolchains) gets the PORTABLE ones instead. Builds go to a
temporary file renamed into place, so concurrent processes never load a half-written library.

PAPER_LENET_FAST=off turns the compiled path off everywhere (training then uses autograd, as on a
machine without a C compiler); PAPER_LENET_FAST=portable builds with the PORTABLE flags only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..paper import INPUT_SIDE
from . import abi

HERE = Path(__file__).resolve().parent
SOURCES = {
    "lenet5": ("lenet5.c", "lenet5_ops.h", "lenet5_heads.h", "lenet5_curv.h", "opts.h"),
    "seqnet": ("seqnet.c", "lenet5_ops.h", "lenet5_heads.h", "opts.h"),
    "lockstep": (
        "lockstep.c",
        "lockstep_ops.h",
        "lockstep_dense.h",
        "lockstep_curv.h",
        "lenet5_ops.h",
        "lenet5_heads.h",
        "opts.h",
    ),
}
# -fno-trapping-math only lets gcc evaluate both sides of a select (tanh's two ranges) so the
# loop vectorises; it changes no result. -fopenmp-simd honours `omp simd reduction` only.
NATIVE = ("-O3", "-march=native", "-fno-trapping-math", "-fopenmp-simd", "-shared", "-fPIC", "-std=gnu11")
# any C11 compiler on any CPU: no CPU-specific instructions (no FMA, SSE2 width on x86-64)
PORTABLE = ("-O2", "-shared", "-fPIC", "-std=gnu11")

_loaded: dict[str, ctypes.CDLL] = {}  # by library path


def mode() -> str:
    """PAPER_LENET_FAST: auto (default), off, or portable."""
    m = os.environ.get("PAPER_LENET_FAST", "auto").strip().lower() or "auto"
    if m not in ("auto", "off", "portable"):
        raise RuntimeError(f"PAPER_LENET_FAST={m!r}: expected auto, off or portable")
    return m


def unavailable(input_size: int = INPUT_SIDE, lib: str = "lenet5", lanes: int = 0) -> str | None:
    """None when the fast path builds and loads here (compiling it if needed), else why not."""
    try:
        if mode() == "off":
            return "turned off by PAPER_LENET_FAST=off"
        if compiler() is None:
            return "no C compiler found (gcc, cc or $CC) to build the fast path"
        load(input_size, lib, lanes) if lanes else load(input_size, lib)
    except (RuntimeError, OSError) as e:
        return str(e).splitlines()[0]
    return None


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
        return platform.machine() + platform.processor()
    keep = [line for line in lines if line.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(keep))  # one copy per distinct line, not one per core


def _key(cc: str, input_size: int, flags=NATIVE, lib: str = "lenet5", lanes: int = 0) -> str:
    h = hashlib.sha256()
    for name in SOURCES[lib]:
        h.update((HERE / name).read_bytes())
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    except OSError as e:
        raise RuntimeError(f"the C compiler {cc} does not run ({e})") from None
    for part in (" ".join(flags), str(input_size), str(lanes), version, _cpu_id()):
        h.update(part.encode())
    return h.hexdigest()[:16]


def library_path(input_size: int, flags=NATIVE, lib: str = "lenet5", lanes: int = 0) -> Path:
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (gcc, cc or $CC) to build the fast path")
    k = f"_k{lanes}" if lanes else ""
    return cache_dir() / f"{lib}_in{input_size}{k}_{_key(cc, input_size, flags, lib, lanes)}.so"


def _compile(input_size: int, flags, out: Path, lib: str = "lenet5", lanes: int = 0) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    defs = [f"-DIN_SIZE={input_size}"] + ([f"-DLANES={lanes}"] if lanes else [])
    cmd = [compiler(), *flags, *defs, str(HERE / SOURCES[lib][0]), "-o", tmp, "-lm"]
    try:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise RuntimeError(f"compiling the fast path failed ({cmd[0]}: {e})") from None
        if r.returncode != 0:
            raise RuntimeError(f"compiling the fast path failed ({' '.join(cmd)}):\n{r.stderr.strip()}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build(input_size: int, lib: str = "lenet5", lanes: int = 0) -> Path:
    """The compiled library for this input size, compiling it if it is not in the cache: with the
    NATIVE flags, else (they are rejected, or PAPER_LENET_FAST=portable) the PORTABLE ones."""
    tries = [PORTABLE] if mode() == "portable" else [NATIVE, PORTABLE]
    for k, flags in enumerate(tries):
        out = library_path(input_size, flags, lib, lanes)
        failed = out.with_suffix(".failed")  # these flags failed before with this compiler: skip them
        if out.exists():
            return out
        if failed.exists() and k + 1 < len(tries):
            continue
        try:
            _compile(input_size, flags, out, lib, lanes)
            return out
        except RuntimeError as e:
            if k + 1 == len(tries):
                raise
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(str(e) + "\n")
    raise AssertionError("unreachable")


def load(input_size: int, lib: str = "lenet5", lanes: int = 0) -> ctypes.CDLL:
    """The loaded library (built on first use), its interface declared and checked (abi.py).
    seqnet takes its sizes at run time: build it with input_size 0; lockstep needs its lanes K."""
    path = str(build(input_size, lib, lanes))  # one per input size, K and flags (PAPER_LENET_FAST=portable)
    if path not in _loaded:
        so = ctypes.CDLL(path)
        declare = {"lenet5": abi.declare, "seqnet": abi.declare_seqnet, "lockstep": abi.declare_lockstep}[lib]
        declare(so)  # RuntimeError if C and abi.py disagree
        _loaded[path] = so
    return _loaded[path]
