"""MNIST as tensors ready for LeNet-5: subset, Fig. 9's preprocessing (data.preprocess, in
data/preprocess.py), padding and scaling applied once, up front.

The paper (Sec. III-A) centres each 28x28 digit in a 32x32 field and scales pixels so the
background is -0.1 and the foreground 1.175, "which makes the mean input roughly 0, and the
variance roughly 1, which accelerates learning". We pad in the uint8 domain with the background
value 0 before scaling, so the padding always equals the background whatever the scaling.

`data_cfg` is a config's `data:` section (config.DataConfig); data/ reads its fields and imports
nothing of the config, so it sits below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from ..paper import INPUT_SIDE, LECUN_HI, LECUN_LO  # lecun98: x = LO + (HI - LO) p / 255 (Sec. III-A)
from .download import SHA256, ensure_mnist, resolve_root
from .idx import IMAGE_SIDE, SPLIT_FILES, find_file, load_split
from .preprocess import SIDE, apply

# Pixel mean and std of the full 60,000-image MNIST training set in [0,1] units (the constants
# torchvision examples use; tests/test_data_real.py re-computes them). Fixed rather than
# computed per run so every subset, every distorted pass and the test set share one transform.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# lush: x = p * 0.01, background 0, full ink 2.55 (the authors' demos/dsource-mnist.lsh)
LUSH_SCALE = 0.01


@dataclass
class MNIST:
    train_x: torch.Tensor  # float32 [N,1,S,S], preprocessed
    train_y: torch.Tensor  # int64 [N]
    test_x: torch.Tensor  # float32 [10000,1,S,S]
    test_y: torch.Tensor  # int64 [10000]
    train_raw: torch.Tensor  # uint8 [N,28,28], the same samples as train_x, for distortions
    train_index: np.ndarray  # positions of the subset in the original 60,000 (sorted)
    root: Path
    val_x: torch.Tensor | None = None  # data.validation: the last N training images, held out
    val_y: torch.Tensor | None = None


# decoded uint8 arrays, keyed by file identity, so repeated runs in one process skip the decode
_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _load_cached(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    key = [str(root.resolve()), split]
    for name in SPLIT_FILES[split]:
        p = find_file(root, name)
        st = p.stat() if p else None
        key.append((str(p), st.st_size, st.st_mtime_ns) if st else None)
    key = tuple(key)
    if key not in _CACHE:
        _CACHE[key] = load_split(root, split)
    return _CACHE[key]


def _all_present(root: Path) -> bool:
    return all(find_file(root, name) is not None for name in SHA256)


def check_input_size(data_cfg, input_size: int) -> int:
    """The side of data_cfg.preprocess's images; DataError (one line) if pad=True cannot fit
    them into input_size."""
    side = SIDE[data_cfg.preprocess]
    if data_cfg.pad and input_size < side:
        raise DataError(
            f"data.preprocess={data_cfg.preprocess} gives {side}x{side} images, larger than "
            f"model.input_size={input_size}; use model.input_size >= {side} or data.pad: false"
        )
    return side


def preprocess(raw, data_cfg, input_size: int = INPUT_SIDE) -> torch.Tensor:
    """Images [N,28,28] (uint8, or float in 0..255 from distortions) -> float32 [N,1,S,S].

    data_cfg.preprocess first (on the 0..255 images; data/preprocess.py): none keeps 28x28,
    deslant gives 20x20, 16x16 gives 28x28; its side P is then padded or resized to S.
    pad=True centres the PxP field in SxS with background 0 (paper: 28 in 32x32).
    pad=False resizes the PxP field to SxS (bilinear): the digit then fills the input, the
    "no margin" ablation; the model needs S >= 32 either way.
    scaling: lecun98 (background -0.1, ink 1.175), lush (p x 0.01: background 0, ink 2.55), unit
    ([0,1]), standardize ((p - mean)/std with the training-set constants MNIST_MEAN, MNIST_STD)."""
    x = torch.as_tensor(np.asarray(raw) if not torch.is_tensor(raw) else raw)
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected images [N,{IMAGE_SIDE},{IMAGE_SIDE}], got {tuple(x.shape)}")
    side = check_input_size(data_cfg, input_size)
    if data_cfg.preprocess != "none":
        x = apply(x, data_cfg.preprocess, data_cfg.deslant, data_cfg.deslant_threshold)
    x = x.to(torch.float32).unsqueeze(1)  # [N,1,P,P], 0..255
    if input_size != side:
        if data_cfg.pad:
            lo = (input_size - side) // 2
            hi = input_size - side - lo
            x = F.pad(x, (lo, hi, lo, hi), value=0.0)
        else:
            x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", align_corners=False)
    if data_cfg.scaling == "lecun98":
        x = x.mul_((LECUN_HI - LECUN_LO) / 255.0).add_(LECUN_LO)
    elif data_cfg.scaling == "lush":
        x = x.mul_(LUSH_SCALE)
    elif data_cfg.scaling == "unit":
        x = x.div_(255.0)
    elif data_cfg.scaling == "standardize":
        x = x.div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)
    else:
        raise ValueError(f"unknown scaling {data_cfg.scaling!r}")
    return x.contiguous()


def select_subset(labels: np.ndarray, size: int, mode: str, seed: int) -> np.ndarray:
    """Sorted indices of `size` training samples.

    first: the first `size` (what most code does; MNIST's order is writer-blocked, so the class
    mix drifts a little). stratified: each class keeps its share of the full set (largest
    remainder rounding so the total is exact), samples drawn at random with `seed`."""
    n = len(labels)
    if not 1 <= size <= n:
        raise DataError(f"data.train_size must be in 1..{n} (got {size})")
    if size == n:
        return np.arange(n)
    if mode == "first":
        return np.arange(size)
    if mode != "stratified":
        raise ValueError(f"unknown subset mode {mode!r}")
    counts = np.bincount(labels, minlength=10)
    exact = counts * size / n
    take = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - take), kind="stable")  # largest remainders first
    take[order[: size - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False) for c, k in enumerate(take) if k
    ]
    return np.sort(np.concatenate(picked))


def load_mnist(
    data_cfg, input_size: int = INPUT_SIDE, seed: int = 0, download: bool | None = None, log=print
) -> MNIST:
    """Load, subset and preprocess MNIST. Missing files are fetched with ensure_mnist unless
    download (default: data_cfg.download) is False. data.validation = N holds the last N training
    images out (val_x, val_y); the subset is then drawn from the images before them."""
    root = resolve_root(data_cfg.root)
    if download is None:
        download = data_cfg.download
    if not _all_present(root):
        if not download:
            missing = [n for n in SHA256 if find_file(root, n) is None]
            raise DataError(
                f"{root}: MNIST files missing ({', '.join(missing)}); "
                f"run `paper-lenet download"
                f"{' --root ' + str(root) if data_cfg.root else ''}` first"
            )
        ensure_mnist(str(root), log=log)
    tr_img, tr_lab = _load_cached(root, "train")
    te_img, te_lab = _load_cached(root, "test")
    pool = len(tr_lab) - data_cfg.validation
    if pool < 1:
        raise DataError(f"data.validation={data_cfg.validation} leaves no training images (of {len(tr_lab)})")
    idx = select_subset(tr_lab[:pool], data_cfg.train_size, data_cfg.subset, seed)
    train_raw = torch.from_numpy(np.ascontiguousarray(tr_img[idx]))  # fancy index: a copy
    val = None
    if data_cfg.validation:
        val = (
            preprocess(torch.from_numpy(tr_img[pool:].copy()), data_cfg, input_size),
            torch.from_numpy(tr_lab[pool:].astype(np.int64)),
        )
    return MNIST(
        train_x=preprocess(train_raw, data_cfg, input_size),
        train_y=torch.from_numpy(tr_lab[idx].astype(np.int64)),
        test_x=preprocess(torch.from_numpy(te_img.copy()), data_cfg, input_size),
        test_y=torch.from_numpy(te_lab.astype(np.int64)),
        train_raw=train_raw,
        train_index=idx,
        root=root,
        val_x=val[0] if val else None,
        val_y=val[1] if val else None,
    )
