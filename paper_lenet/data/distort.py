"""The paper's planar affine distortions (Sec. III-C, Fig. 7), generated afresh every pass.

The paper trained LeNet-5 on the 60,000 originals plus 540,000 distorted copies made once by
"random combinations of the following planar affine transformations: horizontal and vertical
translations, scaling, squeezing (simultaneous horizontal compression and vertical elongation,
or the reverse), and horizontal shearing". It gives no ranges; ours are config.DistortConfig's (`cfg`:
a config's data.distortions section; `data_cfg`: its data: section).
Instead of a fixed 600k pool we redraw each pass: every training sample is replaced with
probability `prob` (0.9) by a fresh distorted copy, so a pass of N samples holds on average
0.1 N originals and 0.9 N distorted ones, the same expected mix as the paper's pool, with N
steps per pass, at no extra memory. All randomness comes from one torch.Generator, so a pass is
a pure function of (seed, epoch).

The transform maps a point p (pixels, relative to the image centre) to A p + t with
A = s * [[1+q, 0], [0, 1/(1+q)]] @ [[1, h], [0, 1]]: shear h, squeeze q, isotropic scale s,
translation t. It is applied with batched grid_sample (bilinear, background 0 outside), a
chunk of 4096 images at a time; 60,000 images cost about 0.5 s on one CPU thread.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from .mnist import preprocess

CHUNK = 4096  # images per grid_sample call: bounds the temporaries (the grid is CHUNK*28*28*2 floats)


def _params(n: int, cfg, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Per-sample draws, all uniform. Drawn for every sample (not only the distorted ones) so
    the stream consumed does not depend on which samples the coin selects."""

    def u(lo_hi: float) -> torch.Tensor:
        return (torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1) * lo_hi

    return {
        "keep": torch.rand(n, generator=gen, dtype=torch.float64) >= cfg.prob,
        "tx": u(cfg.translate),
        "ty": u(cfg.translate),
        "s": 1 + u(cfg.scale),
        "q": u(cfg.squeeze),
        "h": u(cfg.shear),
    }


def _theta(p: dict[str, torch.Tensor], side: int) -> torch.Tensor:
    """affine_grid's theta [n,2,3]: the INVERSE map, output coords -> input coords, in the
    normalised [-1,1] frame. The frame is square, so the linear part is the same as in pixels
    and only the translation is rescaled (2/side per pixel)."""
    s, q, h = p["s"], p["q"], p["h"]
    a, b, d = s * (1 + q), s * (1 + q) * h, s / (1 + q)  # A = [[a, b], [0, d]]
    ia, ib, idd = 1 / a, -b / (a * d), 1 / d  # A^-1 = [[1/a, -b/(ad)], [0, 1/d]]
    tx, ty = p["tx"] * 2 / side, p["ty"] * 2 / side
    theta = torch.zeros(len(s), 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 1] = ia, ib, idd
    theta[:, 0, 2] = -(ia * tx + ib * ty)
    theta[:, 1, 2] = -idd * ty
    return theta.float()


def _affine_grid(theta: torch.Tensor, side: int) -> torch.Tensor:
    """F.affine_grid(theta, [n,1,side,side], align_corners=False), written out with
    broadcasting: the same numbers (to 1e-6), but ~25x faster on CPU for 28x28 (torch's version
    runs a batched matmul that otherwise dominates the whole distortion cost)."""
    c = (torch.arange(side, dtype=torch.float32) * 2 + 1) / side - 1  # pixel centres in [-1,1]
    xs, ys = c.view(1, 1, side), c.view(1, side, 1)
    t = theta.view(-1, 6, 1, 1).unbind(1)  # t0..t5 = theta[:,0,0..2], theta[:,1,0..2]
    grid = torch.empty(theta.shape[0], side, side, 2)
    for k, g in enumerate(grid.unbind(-1)):  # x then y, written straight into the grid:
        # (t0 * x) [n,1,W] + (t1 * y + t2) [n,H,1] broadcast: one full-size pass per component
        torch.add(t[3 * k] * xs, t[3 * k + 1] * ys + t[3 * k + 2], out=g)
    return grid


def distort_batch(raw: torch.Tensor, cfg, generator: torch.Generator, as_uint8: bool = False) -> torch.Tensor:
    """Replace each image of raw [N,28,28] (uint8 or 0..255 float) with probability cfg.prob by
    a randomly transformed copy. Returns float32 [N,28,28] in 0..255 (uint8 if as_uint8).
    Untouched images are returned exactly. Deterministic given the generator's state."""
    raw = torch.as_tensor(raw)
    if raw.ndim != 3:
        raise ValueError(f"expected images [N,H,W], got {tuple(raw.shape)}")
    n, side = raw.shape[0], raw.shape[-1]
    p = _params(n, cfg, generator)
    out = raw.to(torch.float32, copy=True)
    todo = torch.nonzero(~p["keep"]).flatten()
    for start in range(0, len(todo), CHUNK):
        sel = todo[start : start + CHUNK]
        theta = _theta({k: v[sel] for k, v in p.items()}, side)
        img = out[sel].unsqueeze(1)
        grid = _affine_grid(theta, side)
        warped = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[sel] = warped.squeeze(1).clamp_(0, 255)
    if as_uint8:
        return out.round_().to(torch.uint8)
    return out


def pass_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for (seed, epoch): SeedSequence mixes the pair so nearby seeds and epochs
    give unrelated streams."""
    state = np.random.SeedSequence([int(seed), int(epoch)]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def distorted_pass(mnist, data_cfg, input_size: int, epoch: int, seed: int) -> torch.Tensor:
    """The preprocessed training inputs [N,1,S,S] for one pass (aligned with mnist.train_y).
    With distortions disabled this is mnist.train_x itself."""
    cfg = data_cfg.distortions
    if not cfg.enabled or cfg.prob <= 0:
        return mnist.train_x
    gen = pass_generator(seed, epoch)
    raw = mnist.train_raw
    out = torch.empty(len(raw), 1, input_size, input_size)
    # Distort and preprocess chunk by chunk into one output: the temporaries stay small and
    # warm in cache instead of three fresh pass-sized tensors (page faults dominated otherwise).
    for start in range(0, len(raw), CHUNK):
        part = distort_batch(raw[start : start + CHUNK], cfg, gen)
        out[start : start + CHUNK] = preprocess(part, data_cfg, input_size)
    return out


def distortion_grid(
    raw, cfg, n: int = 10, copies: int = 6, seed: int = 0, labels=None
) -> tuple[list[int], torch.Tensor]:
    """What `paper-lenet show-distortions` draws (maps.save_distortion_grid): the samples' indices and
    a [1 + copies, n, 28, 28] float tensor, row 0 their originals, then `copies` rows of distorted
    versions (every copy distorted: prob forced to 1; one generator seeded `seed`, one distort_batch
    per row). With labels the samples are the first of each class 0..n-1, else the first n."""
    raw = torch.as_tensor(np.asarray(raw) if not torch.is_tensor(raw) else raw)
    if labels is not None:
        labels = np.asarray(labels)
        idx = [int(np.flatnonzero(labels == c)[0]) for c in range(10) if (labels == c).any()][:n]
    else:
        idx = list(range(min(n, len(raw))))
    base = raw[idx]
    always = dataclasses.replace(cfg, prob=1.0)
    gen = torch.Generator().manual_seed(seed)
    return idx, torch.stack([base.float()] + [distort_batch(base, always, gen) for _ in range(copies)])
