"""`paper-lenet predict IMAGE... [--model NAME | --run DIR] [--json | --csv] [--show F.png] [--strict]`.

Files, directories (their image files) and glob patterns; the packaged weights by default
(paper_lenet.pretrained), so it works from any directory. Every image goes through the model's
Transform (transforms.py), the same code as `pretrained(name).transforms`. Every file is read before
anything is printed; each bad one gets a one-line error naming it (stderr) and a row with an `error`
field (JSON, CSV), the good ones are predicted all the same, and the command exits 2 if any failed.
`--strict`: the first bad file stops the command, nothing printed.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import io
import json
import sys
from pathlib import Path

import torch

from ..data.image import IMAGE_SUFFIXES
from ..errors import UserError
from .hub import load_model
from .maps import draw_seen


def _images(paths) -> list[Path]:
    return sorted(p for p in map(Path, paths) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def expand(inputs, strict: bool = True) -> list:
    """Files as given; a directory's image files (by suffix, sorted, not recursive); a glob pattern's
    image files (for shells that do not expand them, or quoted patterns). An input that names no image
    is a UserError; strict=False puts it in the list in its place instead."""
    out = []
    for item in map(str, inputs):
        p = Path(item)
        try:
            if p.is_dir():
                found = _images(p.iterdir())
                if not found:
                    raise UserError(
                        f"{p}: no image files in this directory (looked for {' '.join(IMAGE_SUFFIXES)})"
                    )
                out += found
            elif not p.exists() and any(c in item for c in "*?["):
                found = _images(glob.glob(item, recursive=True))
                if not found:
                    raise UserError(f"{item}: no image files match this pattern")
                out += found
            else:
                out.append(p)  # read_image says what is wrong with it, if anything
        except UserError as e:
            if strict:
                raise
            out.append(_Bad(item, str(e)))
    if not out:
        raise UserError("no images given")
    return list(dict.fromkeys(out))  # a file named twice (itself and by its directory): once


@dataclasses.dataclass(frozen=True)
class _Bad:
    """An input that could not be read, in its place in the batch."""

    image: str
    error: str


@torch.no_grad()
def predict_files(
    inputs,
    run: str | None = None,
    name: str | None = None,
    fmt: str = "text",
    show: str | None = None,
    out=None,
    strict: bool = False,
    err=None,
) -> list[dict]:
    """Class and the 10 outputs (RBF distances: the smallest wins; else scores: the largest) for
    each image; printed as text (one line per file), a JSON list or CSV, in the order given.
    A file that cannot be read gets its one-line error on stderr and a row with an `error` field
    (JSON, CSV); the others are predicted all the same. strict: the first bad file stops the command
    (a UserError) before anything is printed."""
    out, err = out or sys.stdout, err or sys.stderr
    items = expand(inputs, strict)
    label, model, tf = load_model(run, name)
    fields = {}  # index -> (28, 28) field; every file is read before any output
    for i, item in enumerate(items):
        if isinstance(item, _Bad):
            continue
        try:
            fields[i] = tf.field(item)
        except UserError as e:
            if strict:
                raise
            items[i] = _Bad(str(item), str(e))
    kind = model.head.output
    good = sorted(fields)
    outs = model(tf.from_fields(torch.stack([fields[i] for i in good]))) if good else torch.zeros(0, 10)
    predicted = dict(zip(good, zip(model.scores(outs).argmax(1).tolist(), outs, strict=False), strict=False))
    res = []
    for i, item in enumerate(items):
        if i in predicted:
            c, o = predicted[i]
            res.append(
                {
                    "image": str(item),
                    "model": label,
                    "class": c,
                    "output": kind,
                    "values": [round(float(v), 4) for v in o],
                }
            )
        else:
            res.append({"image": item.image, "model": label, "error": " ".join(item.error.split())})
            print(f"paper-lenet: error: {res[-1]['error']}", file=err)  # one line each, as every error
    if fmt == "json":
        print(json.dumps(res, indent=1), file=out)
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["image", "class", "model", "output", *(f"v{d}" for d in range(10)), "error"])
        w.writerows(
            [r["image"], r["class"], r["model"], r["output"], *r["values"], ""]
            if "error" not in r
            else [r["image"], "", r["model"], "", *[""] * 10, r["error"]]
            for r in res
        )
        print(buf.getvalue(), end="", file=out)
    else:
        what = model.head.reading
        for r in res:
            if "error" not in r:
                vals = " ".join(f"{d}:{v:.2f}" for d, v in enumerate(r["values"]))
                print(f"{r['image']}: {r['class']}  [{label}; {what}: {vals}]", file=out)
    if show and good:
        draw_seen(
            torch.stack([fields[i] for i in good]).numpy(),
            [r for r in res if "error" not in r],
            show,
            model.head.axis,
        )
        print(f"wrote {show}", file=sys.stderr)
    return res


def failed(results: list[dict]) -> int:
    """How many of predict_files' rows are errors."""
    return sum("error" in r for r in results)
