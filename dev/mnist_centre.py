"""Where MNIST puts a digit's centre of mass: mean and sd over a split's digits, in pixel
coordinates of the 28x28 field (pixel centres 0..27, row then column), grey levels as mass.

    python dev/mnist_centre.py            # the training digits (what image.MNIST_CENTRE holds)
    python dev/mnist_centre.py --split test
    python dev/mnist_centre.py --score    # also: the test digits through pretrained().transforms

Also the fraction of each centre below its nearest whole pixel (uniform when the digits were moved
by whole pixels to a fixed target, as MNIST's page describes), and the digits' saturated pixels
(>= 250) and grey share (0 < p < 250 among ink pixels), the blur measures of docs/mnist-centring.md.
"""

from __future__ import annotations

import argparse

import numpy as np

from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import load_split


def centres(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) grey -> (N, 2) centre of mass (row, column)."""
    x = images.astype(np.float64)
    mass, idx = x.sum((1, 2)), np.arange(x.shape[1], dtype=np.float64)
    return np.stack([(x.sum(2) * idx).sum(1) / mass, (x.sum(1) * idx).sum(1) / mass], 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="train", choices=("train", "test"))
    ap.add_argument("--root", default=None, help="MNIST folder (default: the download chain)")
    ap.add_argument(
        "--score",
        action="store_true",
        help="test error of each packaged model on the test digits: training path and transforms",
    )
    args = ap.parse_args()
    images, _ = load_split(resolve_root(args.root), args.split)
    c = centres(images)
    print(f"{args.split}: {len(c)} digits")
    for i, axis in enumerate(("row", "column")):
        frac = c[:, i] - np.round(c[:, i])
        hist = np.histogram(frac, bins=5, range=(-0.5, 0.5))[0]
        print(
            f"{axis:6}: mean {c[:, i].mean():.3f}  sd {c[:, i].std():.3f}  "
            f"offset from the nearest pixel, 5 bins over [-0.5, 0.5): {hist.tolist()}"
        )
    ink = images > 0
    print(
        f"pixels >= 250 per digit: {(images >= 250).sum((1, 2)).mean():.1f}; "
        f"grey share of ink pixels: {((images < 250) & ink).sum() / ink.sum():.2f}"
    )

    if args.score:
        score(resolve_root(args.root))


def score(root) -> None:
    """The 10,000 test digits as training prepares them (data.mnist.preprocess) and as `predict`
    prepares any image (pretrained(name).transforms, which re-centres them with image.to_mnist)."""
    import torch

    import paper_lenet
    from paper_lenet.data.image import to_mnist

    images, labels = load_split(root, "test")
    fields = np.stack([to_mnist(im) for im in images])
    c = centres(fields)
    print(
        f"to_mnist's output on the test digits: centre of mass {c[:, 0].mean():.3f}, {c[:, 1].mean():.3f}; "
        f"pixels >= 250 per digit {(fields >= 250).sum((1, 2)).mean():.1f}"
    )
    for name in paper_lenet.tools.hub.REGISTRY:
        model = paper_lenet.pretrained(name)
        tf = model.transforms
        with torch.no_grad():
            train_path = model.predict(tf.from_fields(torch.from_numpy(images.astype(np.float32))))
            transforms = model.predict(tf.from_fields(torch.from_numpy(fields).float()))
            n = 2000  # the first 2,000 drawn 3x larger, dark on white, as a scan would come
            large = np.stack([to_mnist(255.0 - np.kron(im, np.ones((3, 3)))) for im in images[:n]])
            drawn = model.predict(tf.from_fields(torch.from_numpy(large).float()))
        err = [100 * float((p.numpy() != labels).mean()) for p in (train_path, transforms)]
        print(
            f"{name}: test error {err[0]:.2f}% (training path), {err[1]:.2f}% (transforms); "
            f"first {n} drawn 3x larger and inverted: {int((drawn == train_path[:n]).sum())} of the "
            f"training path's classes, error {100 * float((drawn.numpy() != labels[:n]).mean()):.2f}% "
            f"(training path {100 * float((train_path[:n].numpy() != labels[:n]).mean()):.2f}%)"
        )


if __name__ == "__main__":
    main()
