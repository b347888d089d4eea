"""`paper-lenet` command line: info, download, show-distortions, show-preprocessing, show-tangents, train,
eval, predict, show-maps, bench, sweep, compare, robustness, show-corruptions, cite.

A UserError (bad config, damaged data file, existing run directory) is printed as one line and
the command exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..data.rubbish import RUBBISH
from ..data.rubbish import SIZE as RUBBISH_SIZE
from ..errors import UserError
from ..runs.signals import exit_code, stop_message
from ..tools.hub import REGISTRY
from . import commands as c


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one line (exit 2), as every other error of the command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="paper-lenet", description=__doc__.split("\n\n")[0].replace("\n", " "))
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(name, help_):
        s = sub.add_parser(name, help=help_)
        s.add_argument("config", help="config name (e.g. lenet5_1998) or YAML file")
        s.add_argument("overrides", nargs="*", help="section.key=value overrides")
        return s

    s = with_config("info", "per-layer parameters, connections and MACs next to the paper's")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=c.cmd_info)
    s = sub.add_parser("download", help="fetch and verify the four MNIST IDX files")
    s.add_argument(
        "--root", default=None, help="data folder (default: $PAPER_LENET_DATA or ~/.cache/paper_lenet/mnist)"
    )
    s.add_argument("--config", default=None, help="take the root from this config's data.root")
    s.set_defaults(fn=c.cmd_download)
    s = with_config("show-distortions", "PNG grid of distorted training digits")
    s.add_argument("--out", default="distortions.png")
    s.set_defaults(fn=c.cmd_show_distortions)
    s = with_config(
        "show-preprocessing",
        "PNG grid of one digit per class, raw and after data.preprocess (none: every mode)",
    )
    s.add_argument("--out", default="preprocessing.png")
    s.set_defaults(fn=c.cmd_show_preprocessing)
    s = sub.add_parser(
        "show-tangents",
        help="PNG of one [16x16] digit per class and its 7 tangent vectors "
        "(configs/fig9/tangent.yaml's smoothing)",
    )
    s.add_argument("--out", default="tangents.png")
    s.add_argument(
        "overrides", nargs="*", help="key=value overrides of fig9/tangent (e.g. tangent.sigma=0.5)"
    )
    s.set_defaults(fn=c.cmd_show_tangents)
    s = with_config("train", "train a model; writes a run directory")
    s.add_argument("--out", default=None, help="run directory (default runs/<config name>/seed<seed>)")
    again = s.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="continue a killed run (an error where there is none)"
    )
    again.add_argument(
        "--resume-if-possible",
        action="store_true",
        help="continue a killed run if there is one, else start it (for scripts)",
    )
    s.add_argument(
        "--seeds",
        default=None,
        help="train these seeds (5, 0-4 or 0,3,7) in one process, in lockstep "
        "where the fast path applies; --out is then the folder of their seed<k>/ run directories",
    )
    s.set_defaults(fn=c.cmd_train)
    s = sub.add_parser("eval", help="test error, misses and confusion matrix of a run")
    s.add_argument("run_dir")
    s.add_argument("--root", default=None, help="MNIST folder (default: the download chain)")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--write-margins",
        action="store_true",
        help="also write test_margins.npy (Fig. 10), checked against test_predictions.txt",
    )
    s.set_defaults(fn=c.cmd_eval)

    def with_model(s):
        s.add_argument(
            "--model",
            default=None,
            help=f"packaged pretrained weights: {' | '.join(REGISTRY)} (default lenet5_1998)",
        )
        s.add_argument("--run", default=None, help="a run directory with model.pt instead")

    s = sub.add_parser("predict", help="class of your own digit images, with each class's RBF distance")
    s.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files (PNG, JPEG, BMP, TIFF, GIF, WebP; any size, either polarity), directories, globs",
    )
    with_model(s)
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="a JSON list, one object per image")
    fmt.add_argument("--csv", action="store_true")
    s.add_argument(
        "--show", default=None, metavar="FILE.png", help="draw the centred 28x28 fields and the outputs"
    )
    s.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first file that cannot be read (default: report it, predict the others, exit 2)",
    )
    s.set_defaults(fn=c.cmd_predict)
    s = sub.add_parser(
        "show-maps", help="the input, every layer's feature maps and the outputs for one image (Fig. 2)"
    )
    s.add_argument("image")
    s.add_argument("--out", default="maps.png")
    with_model(s)
    s.set_defaults(fn=c.cmd_show_maps)
    s = sub.add_parser("bench", help="reference vs fast per-sample SDLM step, minibatch epoch, eval speed")
    s.add_argument("--json", action="store_true")
    s.add_argument("--steps", type=int, default=2000)
    s.add_argument(
        "--lockstep",
        action="store_true",
        help="only the seeds-in-lockstep part (K models per step, FMA peak)",
    )
    s.set_defaults(fn=c.cmd_bench)
    s = sub.add_parser(
        "sweep",
        help="train every config x seed into OUT/<config name>/seed<k>/ "
        "(skips finished runs, resumes killed ones)",
    )
    s.add_argument(
        "items",
        nargs="+",
        metavar="CONFIG|section.key=value",
        help="config files or shipped names, then overrides applied to every config",
    )
    s.add_argument("--seeds", required=True, help="5 (seeds 0..4), 0-4 or 0,3,7")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--jobs", type=int, default=2, help="runs side by side (one thread each)")
    s.add_argument(
        "--backend",
        choices=("process", "ray"),
        default="process",
        help="process (default): Ctrl-C, SIGTERM or SIGHUP is forwarded to every run; each stops and "
        "the same command resumes it from its last checkpoint (exit 130 / 143 / 129). "
        "ray: the same signals cancel every task (its training process is killed); finished "
        "runs are written, unfinished ones start again from the beginning next time",
    )
    s.add_argument(
        "--lockstep",
        choices=("on", "off"),
        default="on",
        help="on: seeds of one config share `train --seeds` processes (SIMD across models) where "
        "the fast path applies; off: one process per seed",
    )
    s.add_argument("--address", default=None, help="with --backend ray: an existing cluster (HOST:PORT)")
    s.set_defaults(fn=c.cmd_sweep)
    s = sub.add_parser("compare", help="test error over seeds per config, and each config against a baseline")
    s.add_argument("dirs", nargs="+", metavar="DIR", help="a folder of seed*/ run directories (one config)")
    s.add_argument(
        "--baseline", default=None, help="the config the others are compared with (default: the first DIR)"
    )
    s.add_argument("--format", default="md", help="md (default), latex, csv or json")
    s.add_argument(
        "--plot", default=None, metavar="FILE.png", help="also draw each config's error and interval"
    )
    s.add_argument(
        "--root", default=None, help="MNIST folder with the test labels (default: the download chain)"
    )
    s.set_defaults(fn=c.cmd_compare)
    s = sub.add_parser(
        "robustness", help="error under MNIST-C's corruptions and rejection of rubbish, per config"
    )
    s.add_argument(
        "dirs", nargs="+", metavar="RUN_DIR", help="a folder of seed*/ runs (model.pt or robustness.npz)"
    )
    s.add_argument(
        "--baseline",
        default=None,
        help="the config mCE and the differences are taken against (default: the first)",
    )
    s.add_argument("--format", default="md", help="md (default), latex, csv or json")
    s.add_argument(
        "--plot", default=None, metavar="FILE.png", help="also draw corrupted error and AUROC per config"
    )
    s.add_argument("--root", default=None, help="MNIST folder (default: the download chain)")
    s.add_argument(
        "--rubbish-size",
        type=int,
        default=RUBBISH_SIZE,
        help=f"images per rubbish set (default {RUBBISH_SIZE:,})",
    )
    s.add_argument("--threads", type=int, default=1, help="torch threads for the evaluation (default 1)")
    s.add_argument(
        "--keep-scores",
        action="store_true",
        help="write RUN/robustness.npz (remakes the table without model.pt)",
    )
    s.add_argument(
        "--corruptions", default=None, metavar="A,B", help="only these corruptions (default: all 15)"
    )
    s.add_argument(
        "--rubbish",
        default=None,
        metavar="A,B",
        help=f"only these rubbish sets (default: {','.join(RUBBISH)})",
    )
    s.set_defaults(fn=c.cmd_robustness)
    s = sub.add_parser("show-corruptions", help="PNG of MNIST-C's 15 corruptions and the 6 rubbish sets")
    s.add_argument("--out", default="corruptions.png")
    s.add_argument("--root", default=None, help="MNIST folder (default: the download chain)")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(fn=c.cmd_show_corruptions)
    s = sub.add_parser("cite", help="how to cite this package and the paper")
    s.add_argument("--format", default="bibtex", help="bibtex (default) or text")
    s.set_defaults(fn=c.cmd_cite)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        rc = args.fn(args)
    except UserError as e:
        print(f"paper-lenet: error: {' '.join(str(e).split())}", file=sys.stderr)  # one line, always
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM / SIGHUP where a command handles them (signals.py)
        print(f"paper-lenet: {stop_message(e)}", file=sys.stderr)
        return exit_code(e)
    return rc or 0
