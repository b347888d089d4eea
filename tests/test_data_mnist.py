"""Preprocessing, subsets and load_mnist on a synthetic data root."""

import numpy as np
import pytest
import torch

from paper_lenet.config import DataConfig
from paper_lenet.data import mnist as M
from paper_lenet.data.idx import write_idx
from paper_lenet.errors import DataError


def synthetic_root(root, n_train=200, n_test=50):
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        img = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        img[:, 0, :] = 0  # a background row, so min is the background
        img[:, 1, 0] = 255  # full ink somewhere
        write_idx(root / f"{prefix}-images-idx3-ubyte", img)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", rng.permutation(np.arange(n) % 10))
    return root


def raw_batch():
    x = torch.zeros(3, 28, 28, dtype=torch.uint8)
    x[:, 10:18, 10:18] = 255
    x[1, 5, 5] = 128
    return x


def test_lecun98():
    x = M.preprocess(raw_batch(), DataConfig(), 32)
    assert x.shape == (3, 1, 32, 32) and x.dtype == torch.float32
    assert x.min().item() == pytest.approx(-0.1) and x.max().item() == pytest.approx(1.175)
    # padding is background: the 2-pixel border
    for border in (x[..., :2, :], x[..., 30:, :], x[..., :, :2], x[..., :, 30:]):
        assert torch.allclose(border, torch.tensor(-0.1))
    # the digit is centred: raw pixel (r, c) lands at (r+2, c+2)
    assert x[0, 0, 12, 12].item() == pytest.approx(1.175)
    assert x[1, 0, 7, 7].item() == pytest.approx(-0.1 + 1.275 * 128 / 255)


def test_unit_and_standardize():
    u = M.preprocess(raw_batch(), DataConfig(scaling="unit"), 32)
    assert u.min().item() == 0.0 and u.max().item() == 1.0
    s = M.preprocess(raw_batch(), DataConfig(scaling="standardize"), 32)
    assert s[0, 0, 0, 0].item() == pytest.approx(-M.MNIST_MEAN / M.MNIST_STD)
    assert s.max().item() == pytest.approx((1 - M.MNIST_MEAN) / M.MNIST_STD)


def test_larger_input_and_no_pad():
    x = M.preprocess(raw_batch(), DataConfig(), 36)
    assert x.shape == (3, 1, 36, 36)
    assert x[0, 0, 14, 14].item() == pytest.approx(1.175)  # offset 4
    assert torch.allclose(x[..., :4, :], torch.tensor(-0.1))
    y = M.preprocess(raw_batch(), DataConfig(pad=False), 32)  # resized: fills the field
    assert y.shape == (3, 1, 32, 32)
    assert M.preprocess(raw_batch().float(), DataConfig(), 32).equal(
        M.preprocess(raw_batch(), DataConfig(), 32)
    )


def test_subset_stratified():
    labels = np.repeat(np.arange(10), [50, 60, 40, 55, 45, 50, 52, 48, 50, 50])
    idx = M.select_subset(labels, 100, "stratified", seed=3)
    assert len(idx) == 100 and len(np.unique(idx)) == 100 and np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)
    expected = np.bincount(labels, minlength=10) * 100 / len(labels)
    assert np.all(np.abs(counts - expected) < 1)
    assert np.array_equal(idx, M.select_subset(labels, 100, "stratified", seed=3))
    assert not np.array_equal(idx, M.select_subset(labels, 100, "stratified", seed=4))
    assert np.array_equal(M.select_subset(labels, 7, "first", seed=3), np.arange(7))
    assert np.array_equal(M.select_subset(labels, 500, "stratified", seed=3), np.arange(500))
    with pytest.raises(DataError, match="train_size"):
        M.select_subset(labels, 501, "first", seed=0)


def test_load_mnist_synthetic(tmp_path):
    root = synthetic_root(tmp_path / "d")
    cfg = DataConfig(root=str(root), download=False, train_size=100)
    m = M.load_mnist(cfg, seed=5)
    assert m.train_x.shape == (100, 1, 32, 32) and m.train_x.dtype == torch.float32
    assert m.train_y.shape == (100,) and m.train_y.dtype == torch.int64
    assert m.test_x.shape == (50, 1, 32, 32) and m.test_y.shape == (50,)
    assert m.train_raw.shape == (100, 28, 28) and m.train_raw.dtype == torch.uint8
    assert m.train_x.min().item() == pytest.approx(-0.1) and m.train_x.max().item() == pytest.approx(1.175)
    assert torch.equal(M.preprocess(m.train_raw, cfg, 32), m.train_x)  # raw aligned with x
    assert np.array_equal(np.bincount(m.train_y.numpy()), [10] * 10)
    m2 = M.load_mnist(cfg, seed=5)
    assert torch.equal(m.train_x, m2.train_x) and np.array_equal(m.train_index, m2.train_index)


def test_missing_without_download(tmp_path):
    cfg = DataConfig(root=str(tmp_path / "empty"), download=False)
    with pytest.raises(DataError) as e:
        M.load_mnist(cfg)
    assert "paper-lenet download" in str(e.value) and "train-images-idx3-ubyte" in str(e.value)


def test_missing_calls_ensure(tmp_path, monkeypatch):
    calls = []

    def fake_ensure(root, log=print):
        calls.append(root)
        synthetic_root(tmp_path / "d")

    monkeypatch.setattr(M, "ensure_mnist", fake_ensure)
    m = M.load_mnist(DataConfig(root=str(tmp_path / "d"), train_size=20), log=lambda s: None)
    assert calls == [str(tmp_path / "d")] and len(m.train_y) == 20
    with pytest.raises(DataError):  # an explicit download=False wins over the config
        M.load_mnist(DataConfig(root=str(tmp_path / "other")), download=False)


def test_default_input_is_the_papers_32x32_and_an_exact_fit_needs_no_padding():
    """Sec. II-B: 28x28 digits in a 32x32 input by default; a 28x28 input holds a 28x28 digit unpadded."""
    assert M.preprocess(raw_batch(), DataConfig()).shape == (3, 1, 32, 32)
    x = M.preprocess(raw_batch(), DataConfig(), 28)
    assert x.shape == (3, 1, 28, 28) and x[0, 0, 10, 10].item() == pytest.approx(1.175)  # no offset
    with pytest.raises(DataError, match="larger than"):
        M.preprocess(raw_batch(), DataConfig(), 27)


@pytest.mark.parametrize("shape", [(28, 28), (3, 28, 27), (3, 27, 28), (3, 1, 28, 28)])
def test_only_batches_of_28x28_images(shape):
    with pytest.raises(ValueError, match="expected images"):
        M.preprocess(torch.zeros(shape, dtype=torch.uint8), DataConfig(), 32)


def test_fig9_preprocessings_run_before_padding():
    """[16x16] (Sec. III-C): the ink box scaled to 16 on its longer side, centred in 28x28, then padded to
    32; [deslant]: a 20x20 field, padded to 32 (6 pixels of background each side)."""
    lo = -0.1
    x = M.preprocess(raw_batch()[:1], DataConfig(preprocess="16x16"), 32)[0, 0]  # an 8x8 square of ink
    rows, cols = torch.nonzero(x > lo + 1e-6, as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (16, 16)
    d = M.preprocess(raw_batch()[:1], DataConfig(preprocess="deslant"), 32)[0, 0]
    border = torch.ones(32, 32, dtype=torch.bool)
    border[6:26, 6:26] = False
    assert torch.allclose(d[border], torch.tensor(lo)) and d[~border].max() > 1.0  # ink inside the 20x20


def test_validation_holds_out_the_last_images(tmp_path):
    root = synthetic_root(tmp_path / "d")  # 200 training images
    m = M.load_mnist(DataConfig(root=str(root), download=False, train_size=150, validation=50), seed=0)
    assert m.val_x.shape == (50, 1, 32, 32) and np.array_equal(m.train_index, np.arange(150))  # all 150 left
    ref = M.load_mnist(DataConfig(root=str(root), download=False, train_size=200), seed=0)  # all, file order
    assert torch.equal(m.val_x, ref.train_x[150:]) and torch.equal(m.val_y, ref.train_y[150:])
    one = M.load_mnist(DataConfig(root=str(root), download=False, train_size=1, validation=199), seed=0)
    assert np.array_equal(one.train_index, [0])  # one image left: still a training set
    with pytest.raises(DataError, match="leaves no training images"):
        M.load_mnist(DataConfig(root=str(root), download=False, train_size=1, validation=200), seed=0)


def test_subset_size_bounds():
    labels = np.arange(30) % 10
    for mode in ("first", "stratified"):
        assert len(M.select_subset(labels, 1, mode, seed=0)) == 1
        assert np.array_equal(M.select_subset(labels, 30, mode, seed=0), np.arange(30))
        for bad in (0, 31):
            with pytest.raises(DataError, match="train_size"):
                M.select_subset(labels, bad, mode, seed=0)


def test_no_pad_resize_aligns_pixel_centres():
    """pad: false stretches the 28-pixel field over the 32-pixel input, pixel centres aligned (output
    centre c + 0.5 sits at input position (c + 0.5) 28/32, edges clamped): a horizontal ramp of 8 grey
    levels per pixel stays a ramp of 8 x 28/32 = 7 per output pixel inside, by linear interpolation."""
    raw = (torch.arange(28) * 8).to(torch.uint8).expand(2, 28, 28).contiguous()
    x = M.preprocess(raw, DataConfig(pad=False, scaling="unit"), 32)[0, 0, 5] * 255
    src = ((torch.arange(32) + 0.5) * 28 / 32 - 0.5).clamp(0, 27)
    assert torch.allclose(x, 8 * src, atol=1e-3)  # float32 rounding of values up to 216
