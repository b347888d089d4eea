"""`paper-lenet predict IMAGE... [--model NAME | --run DIR] [--json | --csv] [--show F.png]`.

Files, directories (their image files) and glob patterns; the packaged weights by default
(paper_lenet.pretrained), so it works from any directory. Every image goes through the model's
Transform (transforms.py), the same code as `pretrained(name).transforms`. Every file is read before
anything is printed: a bad one stops the command with a one-line error naming it.
"""
from __future__ import annotations

import csv
import glob
import io
import json
import sys
from pathlib import Path

import torch

from .errors import UserError
from .hub import load_model
from .image import IMAGE_SUFFIXES
from .maps import draw_seen

def _images(paths) -> list[Path]:
    return sorted(p for p in map(Path, paths) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def expand(inputs) -> list[Path]:
    """Files as given; a directory's image files (by suffix, sorted, not recursive); a glob pattern's
    image files (for shells that do not expand them, or quoted patterns)."""
    out = []
    for item in map(str, inputs):
        p = Path(item)
        if p.is_dir():
            found = _images(p.iterdir())
            if not found:
                raise UserError(f"{p}: no image files in this directory (looked for {' '.join(IMAGE_SUFFIXES)})")
            out += found
        elif not p.exists() and any(c in item for c in "*?["):
            found = _images(glob.glob(item, recursive=True))
            if not found:
                raise UserError(f"{item}: no image files match this pattern")
            out += found
        else:
            out.append(p)  # read_image says what is wrong with it, if anything
    if not out:
        raise UserError("no images given")
    return list(dict.fromkeys(out))  # a file named twice (itself and by its directory): once


@torch.no_grad()
def predict_files(inputs, run: str | None = None, name: str | None = None, fmt: str = "text",
                  show: str | None = None, out=None) -> list[dict]:
    """Class and the 10 outputs (RBF distances: the smallest wins; else scores: the largest) for
    each image; printed as text (one line per file), a JSON list or CSV."""
    out = out or sys.stdout
    files = expand(inputs)
    label, model, tf = load_model(run, name)
    fields = torch.stack([tf.field(f) for f in files])  # (N, 28, 28): all read before any output
    outs = model(tf.from_fields(fields))  # (N, 10)
    classes = model.scores(outs).argmax(1).tolist()
    kind = "rbf_distance" if model.cfg.head == "rbf" else "score"
    res = [{"image": str(f), "model": label, "class": c, "output": kind, "values": [round(float(v), 4) for v in o]}
           for f, c, o in zip(files, classes, outs)]
    if fmt == "json":
        print(json.dumps(res, indent=1), file=out)
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["image", "class", "model", "output", *(f"v{d}" for d in range(10))])
        w.writerows([r["image"], r["class"], r["model"], r["output"], *r["values"]] for r in res)
        print(buf.getvalue(), end="", file=out)
    else:
        what = "RBF distance, smallest wins" if kind == "rbf_distance" else "score, largest wins"
        for r in res:
            vals = " ".join(f"{d}:{v:.2f}" for d, v in enumerate(r["values"]))
            print(f"{r['image']}: {r['class']}  [{label}; {what}: {vals}]", file=out)
    if show:
        draw_seen(fields.numpy(), res, show)
        print(f"wrote {show}", file=sys.stderr)
    return res
