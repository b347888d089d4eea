"""IDX reading: every way a file can be wrong gives a one-line DataError naming the file."""

import gzip

import numpy as np
import pytest

from paper_lenet.data.idx import load_split, read_idx, write_idx
from paper_lenet.errors import DataError


def make_split(root, split="train", n=12, labels=None, side=28, n_labels=None, gz=False):
    prefix = "train" if split == "train" else "t10k"
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    img = root / f"{prefix}-images-idx3-ubyte{ext}"
    lab = root / f"{prefix}-labels-idx1-ubyte{ext}"
    write_idx(img, rng.integers(0, 256, (n, side, side), dtype=np.uint8))
    if labels is None:
        labels = np.arange(n if n_labels is None else n_labels) % 10
    write_idx(lab, np.asarray(labels, dtype=np.uint8))
    return img, lab


def expect_error(root, split, name, words):
    with pytest.raises(DataError) as e:
        load_split(root, split)
    msg = str(e.value)
    assert name in msg and "\n" not in msg
    assert words in msg
    return msg


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, suffix):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = write_idx(tmp_path / f"x{suffix}", a)
    b = read_idx(p)
    assert b.dtype == np.uint8 and b.shape == (2, 3, 4)
    np.testing.assert_array_equal(a, b)
    raw = gzip.decompress(p.read_bytes()) if suffix else p.read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert raw[4:8] == (2).to_bytes(4, "big")


@pytest.mark.parametrize("gz", [False, True])
def test_load_split_ok(tmp_path, gz):
    make_split(tmp_path, "test", n=15, gz=gz)
    x, y = load_split(tmp_path, "test")
    assert x.shape == (15, 28, 28) and x.dtype == np.uint8
    assert y.shape == (15,) and y.dtype == np.uint8
    np.testing.assert_array_equal(y, np.arange(15) % 10)


def test_missing_file(tmp_path):
    img, lab = make_split(tmp_path)
    lab.unlink()
    msg = expect_error(tmp_path, "train", "train-labels-idx1-ubyte", "not found")
    assert "paper-lenet download" in msg


def test_truncated_data(tmp_path):
    img, _ = make_split(tmp_path)
    img.write_bytes(img.read_bytes()[:-100])
    expect_error(tmp_path, "train", "train-images-idx3-ubyte", "truncated")


def test_truncated_header(tmp_path):
    _, lab = make_split(tmp_path)
    lab.write_bytes(lab.read_bytes()[:6])
    expect_error(tmp_path, "train", "train-labels-idx1-ubyte", "truncated")


def test_truncated_gzip(tmp_path):
    img, _ = make_split(tmp_path, gz=True)
    img.write_bytes(img.read_bytes()[:40])
    expect_error(tmp_path, "train", "train-images-idx3-ubyte.gz", "cannot read")


def test_wrong_magic(tmp_path):
    img, _ = make_split(tmp_path)
    write_idx(img, np.zeros(12, dtype=np.uint8))  # a labels-type (1-d) file in the images slot
    expect_error(tmp_path, "train", "train-images-idx3-ubyte", "wrong magic number 0x00000801")


def test_not_ubyte(tmp_path):
    _, lab = make_split(tmp_path)
    data = bytearray(lab.read_bytes())
    data[2] = 0x0D  # float type code
    lab.write_bytes(bytes(data))
    expect_error(tmp_path, "train", "train-labels-idx1-ubyte", "not an unsigned-byte IDX file")


def test_count_mismatch(tmp_path):
    make_split(tmp_path, n=12, n_labels=11)
    expect_error(tmp_path, "train", "train-images-idx3-ubyte", "12 images but")


def test_label_out_of_range(tmp_path):
    make_split(tmp_path, n=5, labels=[0, 1, 10, 3, 4])
    expect_error(tmp_path, "train", "train-labels-idx1-ubyte", "label 10 at index 2 is outside 0-9")


def test_wrong_image_size(tmp_path):
    make_split(tmp_path, side=20)
    expect_error(tmp_path, "train", "train-images-idx3-ubyte", "20x20, expected 28x28")


def test_trailing_bytes(tmp_path):
    img, _ = make_split(tmp_path)
    img.write_bytes(img.read_bytes() + b"\0\0")
    expect_error(tmp_path, "train", "train-images-idx3-ubyte", "unexpected bytes")
