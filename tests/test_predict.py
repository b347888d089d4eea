"""`paper-lenet predict` (PNG reading, MNIST-style centring) and the torch.hub entry points."""
from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from paper_lenet import load_config
from paper_lenet.image import read_png, to_mnist
from paper_lenet.predict import predict_image
from paper_lenet.train import train

ROOT = Path(__file__).resolve().parents[1]


def write_png(path, img: np.ndarray, filt: int = 1) -> None:
    """A minimal PNG writer (grey or RGB, 8 bit), every row with the same filter type (0-4)."""
    img = np.asarray(img, np.uint8)
    ch = 1 if img.ndim == 2 else img.shape[2]
    rows = img.reshape(img.shape[0], -1).astype(np.int32)
    raw, prev = b"", np.zeros(rows.shape[1], np.int32)
    for r in rows:
        left = np.concatenate([np.zeros(ch, np.int32), r[:-ch]])
        ul = np.concatenate([np.zeros(ch, np.int32), prev[:-ch]])
        if filt == 4:
            p = left + prev - ul
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - ul)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, ul))
        else:
            pred = [0 * r, left, prev, (left + prev) // 2][filt]
        raw += bytes([filt]) + ((r - pred) & 255).astype(np.uint8).tobytes()
        prev = r

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    head = struct.pack(">IIBBBBB", img.shape[1], img.shape[0], 8, {1: 0, 3: 2}[ch], 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))


@pytest.mark.parametrize("filt", [0, 1, 2, 3, 4])
def test_png_round_trip_every_filter(tmp_path, filt):
    rng = np.random.default_rng(filt)
    img = rng.integers(0, 256, (9, 13)).astype(np.uint8)
    write_png(tmp_path / "g.png", img, filt)
    assert np.array_equal(read_png(tmp_path / "g.png"), img.astype(np.float64))
    rgb = np.stack([img, img, img], -1)
    write_png(tmp_path / "c.png", rgb, filt)
    assert np.allclose(read_png(tmp_path / "c.png"), img)


def test_to_mnist_centres_and_sizes_either_polarity():
    big = np.full((90, 60), 255.0)  # dark ink on white, off-centre, not square
    big[10:70, 5:25] = 0.0
    for img in (big, 255 - big):  # and light on dark
        f = to_mnist(img)
        assert f.shape == (28, 28) and f.max() == pytest.approx(255)
        cy, cx = ndimage.center_of_mass(f)
        assert abs(cy - 13.5) < 0.5 and abs(cx - 13.5) < 0.5  # centre of mass in the middle (MNIST)
        ys, xs = np.nonzero(f > 25)
        assert ys.max() - ys.min() + 1 <= 22 and 18 <= ys.max() - ys.min() + 1  # longer side ~20 px


def predict(png, run, *extra):
    return subprocess.run([sys.executable, "-m", "paper_lenet", "predict", str(png), "--run", str(run), *extra],
                          capture_output=True, text=True, cwd=ROOT)


def test_predict_cli_output_and_errors(synthetic_root, tmp_path):
    cfg = load_config(ROOT / "configs" / "lenet5_1998.yaml", [f"data.root={synthetic_root}", "data.download=false",
                                                            "data.train_size=200", "train.epochs=1",
                                                            "train.sdlm.hessian_samples=20"])
    train(cfg, tmp_path / "run", log=lambda *_: None)
    write_png(tmp_path / "d.png", 255 - np.kron(np.eye(28, dtype=np.uint8) * 255, np.ones((2, 2), np.uint8)))
    r = predict(tmp_path / "d.png", tmp_path / "run", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert len(res["values"]) == 10 and res["output"] == "rbf_distance"
    assert res["class"] == int(np.argmin(res["values"]))  # RBF: the nearest bitmap wins
    r = predict(tmp_path / "none.png", tmp_path / "run")
    assert r.returncode == 2 and "no such image" in r.stderr and r.stderr.count("\n") == 1
    (tmp_path / "bad.png").write_bytes(b"GIF89a")
    r = predict(tmp_path / "bad.png", tmp_path / "run")
    assert r.returncode == 2 and "not a PNG" in r.stderr


def test_predict_real_digits_drawn_large_and_inverted(tmp_path):
    """MNIST test digits, drawn 3x larger and dark on light: the committed lenet5_lush run must give
    the class it gives the original images, for nearly all (re-centring resamples a few pixels)."""
    from paper_lenet.data.download import resolve_root
    from paper_lenet.data.idx import find_file, load_split
    from paper_lenet.evaluate import load_trained

    run = ROOT / "results" / "runs" / "lenet5_lush" / "seed0"
    root = resolve_root(None)
    if not find_file(root, "t10k-images-idx3-ubyte"):
        pytest.skip("real MNIST not downloaded (`paper-lenet download`)")
    imgs, _ = load_split(root, "test")
    cfg, model = load_trained(run)
    from paper_lenet.data.mnist import preprocess

    direct = model.predict(preprocess(torch.from_numpy(imgs[:20].copy()), cfg.data, 32))
    same = 0
    for i in range(20):
        write_png(tmp_path / f"{i}.png", 255 - np.kron(imgs[i], np.ones((3, 3), np.uint8)))
        same += predict_image(str(tmp_path / f"{i}.png"), str(run), as_json=True)["class"] == int(direct[i])
    assert same >= 18  # 20 digits; MNIST's own centring differs from ours by a pixel or so at most


@pytest.mark.parametrize("name", ["lenet5_1998", "lenet5_lush"])
def test_torch_hub_loads_committed_weights(name):
    weights = ROOT / "results" / "runs" / name / "seed0" / "model.pt"
    if not weights.exists():
        pytest.skip(f"{weights} not committed")
    model = torch.hub.load(str(ROOT), name, source="local", pretrained=True, trust_repo=True)
    state = torch.load(weights, weights_only=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert sum(p.numel() for p in model.parameters()) == (60000 if name == "lenet5_1998" else 60850)
    import hubconf

    assert hashlib.sha256(weights.read_bytes()).hexdigest() == hubconf.WEIGHTS[name][1]


def test_torch_hub_refuses_altered_weights(tmp_path, monkeypatch):
    import hubconf

    monkeypatch.setitem(hubconf.WEIGHTS, "lenet5_1998", ("results/runs/lenet5_lush/seed0/model.pt", "0" * 64))
    with pytest.raises(RuntimeError, match="SHA-256"):
        hubconf.lenet5_1998(pretrained=True)


def test_write_png_reads_back_exactly(tmp_path):
    from paper_lenet.image import read_png, write_png

    img = np.random.default_rng(0).integers(0, 256, (13, 21), dtype=np.uint8)
    assert np.array_equal(read_png(write_png(tmp_path / "x.png", img)), img)  # lossless greyscale
