"""The IDX file format MNIST ships in, read and written with numpy.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the data in C order. MNIST uses type 0x08 (ubyte):
images are 0x00000803 (N x 28 x 28), labels 0x00000801 (N). Every problem is reported as a
one-line DataError naming the file, since a damaged download is the usual cause and the user
needs to know which file to delete or fetch again.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
UBYTE = 0x08
IMAGE_SIDE = 28

# split -> (images file, labels file), the names the original distribution uses.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_file(root: str | Path, name: str) -> Path | None:
    """The raw file if present, else its .gz, else None. Raw wins: it is what we store."""
    root = Path(root)
    for cand in (root / name, root / (name + ".gz")):
        if cand.is_file():
            return cand
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as e:  # truncated or corrupt gzip stream
        raise DataError(f"{path}: cannot read ({e})") from None


def read_idx(path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """Decode one IDX file (raw or .gz) to a uint8 array of the shape its header declares."""
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise DataError(f"{path}: truncated: {len(buf)} bytes, no IDX header")
    magic = int.from_bytes(buf[:4], "big")
    zeros, dtype, ndim = int.from_bytes(buf[:2], "big"), buf[2], buf[3]
    if zeros != 0 or dtype != UBYTE or ndim == 0:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic 0x{magic:08x})")
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{path}: wrong magic number 0x{magic:08x}, expected 0x{expect_magic:08x}")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(f"{path}: truncated: header needs {header} bytes, file has {len(buf)}")
    dims = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims, dtype=np.int64))
    have = len(buf) - header
    if have < size:
        raise DataError(f"{path}: truncated: header declares {dims} = {size} bytes of data, file has {have}")
    if have > size:
        raise DataError(f"{path}: {have - size} unexpected bytes after the {dims} data")
    return np.frombuffer(buf, dtype=np.uint8, count=size, offset=header).reshape(dims)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as IDX (gzip-compressed when the name ends in .gz). Used by tests."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, UBYTE, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = head + array.tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def load_labels(root: str | Path, split: str = "test") -> np.ndarray:
    """The labels (uint8 [N], 0-9) of `split` alone under root: the one label loader (compare scores runs
    with the test labels, the report checks them, load_split reads them beside the images)."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r}")
    name = SPLIT_FILES[split][1]
    path = find_file(root, name)
    if path is None:
        raise DataError(
            f"{Path(root) / name}: MNIST {split} labels not found (nor {name}.gz); "
            "run `paper-lenet download` or pass --root"
        )
    labels = read_idx(path, LABELS_MAGIC)
    if labels.ndim != 1:
        raise DataError(f"{path}: labels have {labels.ndim} dimensions, expected 1")
    if len(labels) and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataError(f"{path}: label {int(labels[bad])} at index {bad} is outside 0-9")
    return labels


def load_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,28,28], labels uint8 [N]) of `split` ("train" or "test") under root."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r}")
    root = Path(root)
    img_name, lab_name = SPLIT_FILES[split]
    img_path = find_file(root, img_name)
    if img_path is None:
        raise DataError(f"{root / img_name}: file not found (nor {img_name}.gz); run `paper-lenet download`")
    images = read_idx(img_path, IMAGES_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{img_path}: images are {'x'.join(map(str, images.shape[1:]))}, "
            f"expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    labels = load_labels(root, split)
    if len(images) != len(labels):
        raise DataError(f"{img_path}: {len(images)} images but {lab_name} has {len(labels)} labels")
    return images, labels
