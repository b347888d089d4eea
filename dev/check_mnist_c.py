"""Cross-check data/mnist_c_ops.py against the libraries MNIST-C itself calls (not dependencies of this
package: run it where they are installed, e.g. a scratch venv with scikit-image and ImageMagick's convert):

    python dev/check_mnist_c.py [N]

scikit-image: feature.canny, filters.gaussian and transform.warp (rotation, scale) on the first N MNIST test
images; ImageMagick: -motion-blur RADIUSxSIGMA+ANGLE (what Wand's MagickMotionBlurImage runs) at random
angles.
(scikit-image >= 0.19 changed AffineTransform's shear to a tan form; MNIST-C used 0.15's sin/cos form, which
mnist_c_ops.affine_matrix keeps, so shear is compared by its matrix only.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from paper_lenet.data import mnist_c_ops as ops
from paper_lenet.data.download import resolve_root
from paper_lenet.data.idx import load_split


def check_skimage(x):
    import skimage
    from skimage import feature, filters, transform

    ours, theirs = ops.canny(x), np.stack([feature.canny(im) for im in x])
    print(
        f"scikit-image {skimage.__version__}: canny identical on {(ours == theirs).all((1, 2)).mean():.2%} "
        f"of "
        f"{len(x)} images ({ours.sum()} vs {theirs.sum()} edge pixels)"
    )
    g = np.abs(ops.gaussian(x, 0.7) - np.stack([filters.gaussian(im, sigma=0.7) for im in x])).max()
    print(f"gaussian sigma 0.7: max abs difference {g:.2e}")
    for kw in ({"rotation": 0.4}, {"scale": 1 / 0.7}):
        m = ops.about_centre(ops.affine_matrix(**kw))
        assert np.allclose(transform.AffineTransform(**kw).params[:2, :2], m[:2, :2])
        d = max(
            np.abs(
                ops.warp(im, m) - transform.warp(im, inverse_map=transform.AffineTransform(matrix=m))
            ).max()
            for im in x
        )
        print(f"warp {kw}: max abs difference {d:.2e}")


def check_imagemagick(x, convert="convert"):
    rng = np.random.default_rng(0)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.png", Path(tmp) / "out.png"
        for img, angle in zip(x[:50], rng.uniform(-45, 45, 50), strict=False):
            Image.fromarray(img).save(src)
            subprocess.run(
                [convert, str(src), "-motion-blur", f"10x3+{float(angle)!r}", str(dst)], check=True
            )
            im = np.asarray(Image.open(dst).convert("L"), np.float64)
            worst = max(
                worst,
                np.abs(im - np.floor(ops.motion_blur(img.astype(np.float64), 10, 3, angle) + 0.5)).max(),
            )
    print(f"ImageMagick motion blur 10x3 at 50 random angles: max abs difference {worst:g} grey levels")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    test_x, _ = load_split(resolve_root(None), "test")
    check_skimage(test_x[:n] / 255.0)
    check_imagemagick(test_x[:n])
