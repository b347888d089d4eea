"""What each `paper-lenet` subcommand does (cli.py parses the command line and calls these): one
function per subcommand, `cmd_<name>(args)` with argparse's namespace."""

from __future__ import annotations

import dataclasses
import json
import sys

from ..comparison.tangent import SIDE as TANGENT_SIDE
from ..comparison.tangent import TANGENTS, crop16, tangent_tiles
from ..config import load_config
from ..core.accounting import fmt_count, format_table
from ..core.registry import method, paper_cost
from ..data.download import ensure_mnist
from ..data.mnist import check_input_size, load_mnist
from ..data.mnist_c import CORRUPTIONS
from ..data.rubbish import RUBBISH
from ..runs.signals import stop_on_signals
from ..study.cite import cite
from ..study.compare import compare
from ..study.make import cost, run_from_cli, seeds_from_cli
from ..study.robustness import robustness
from ..study.sweep import sweep
from ..tools.bench import run_bench
from ..tools.maps import save_distortion_grid, show_maps
from ..tools.pictures import save_preprocessing_grid, save_tangent_picture
from ..tools.predict import failed, predict_files
from ..tools.show_corruptions import save_corruption_picture
from ..training.evaluate import eval_run
from ..training.networks import describe


def cmd_info(args):
    cfg = load_config(args.config, args.overrides)
    if method(cfg.model.arch).kind == "fitted":  # no layers: Figs. 11-12's two figures
        ours, theirs = cost(cfg), paper_cost(cfg)
        info = {"total": ours, "paper": theirs}
        if not args.json:
            print(f"{cfg.name}\n{'':8} {'ours':>12} {'paper':>12}")
            for k in ("macs", "memory"):
                print(f"{k:8} {fmt_count(ours.get(k)):>12} {fmt_count(theirs.get(k)):>12}")
            if not ours:  # svm, local, tangent: what the fit finds (support vectors, k) sets the cost
                print("ours: set by the fit (its run's summary.json has macs and memory)")
            return
        print(json.dumps(info, indent=2))
        return
    info = describe(cfg)
    print(json.dumps(info, indent=2) if args.json else f"{cfg.name}\n{format_table(info)}")


def cmd_download(args):
    root = args.root
    if root is None and args.config is not None:
        root = load_config(args.config).data.root
    print(f"MNIST verified in {ensure_mnist(root)}")


def cmd_show_distortions(args):
    cfg = load_config(args.config, args.overrides)
    data = load_mnist(cfg.data, cfg.model.input_size, cfg.seed)
    save_distortion_grid(
        data.train_raw, cfg.data.distortions, args.out, seed=cfg.seed, labels=data.train_y.numpy()
    )
    print(f"wrote {args.out}")


def cmd_show_preprocessing(args):
    cfg = load_config(args.config, args.overrides)
    check_input_size(cfg.data, cfg.model.input_size)  # the config's own error, before any loading
    data = load_mnist(dataclasses.replace(cfg.data, preprocess="none"), 32, cfg.seed)  # raw digits only
    labels = data.train_y.numpy()
    picks = [int((labels == c).nonzero()[0][0]) for c in range(10) if (labels == c).any()]
    mode = cfg.data.preprocess
    modes = ["none", "deslant", "16x16", "deskew"] if mode == "none" else ["none", mode]
    d = cfg.data
    save_preprocessing_grid(
        data.train_raw[picks], modes, args.out, variant=d.deslant, threshold=d.deslant_threshold
    )
    names = {
        "none": "raw",
        "deslant": f"deslant ({d.deslant}" + (f", >= {d.deslant_threshold})" if d.deslant == "text" else ")"),
    }
    print(f"wrote {args.out} (rows: {', '.join(names.get(m, m) for m in modes)})")


def cmd_show_tangents(args):
    """[16x16] digits (the first training image of each class) and their 7 tangent vectors."""
    cfg = load_config("fig9/tangent", args.overrides)
    data = load_mnist(cfg.data, 28, cfg.seed)
    labels = data.train_y.numpy()
    picks = [int((labels == c).nonzero()[0][0]) for c in range(10) if (labels == c).any()]
    save_tangent_picture(
        tangent_tiles(crop16(data.train_x[picks]), cfg.tangent.sigma), TANGENT_SIDE, args.out
    )
    print(f"wrote {args.out} (columns: digit, smoothed (sigma {cfg.tangent.sigma:g}), {', '.join(TANGENTS)})")


def cmd_train(args):
    # SIGINT, SIGTERM and SIGHUP stop a run through KeyboardInterrupt (files saved, resumable), also when
    # started with SIGINT ignored (`cmd &`): a sweep's signal reaches its runs only through sweep._stop.
    with stop_on_signals():
        if args.seeds is not None:  # several seeds in one process: in lockstep where the fast path applies
            seeds_from_cli(
                args.config,
                args.overrides,
                args.seeds,
                out=args.out,
                resume=args.resume or args.resume_if_possible,
            )
            return
        run_from_cli(
            args.config,
            args.overrides,
            out=args.out,
            resume=args.resume,
            resume_if_possible=args.resume_if_possible,
        )


def cmd_eval(args):
    eval_run(args.run_dir, as_json=args.json, root=args.root, write_margins=args.write_margins)


def cmd_predict(args):
    res = predict_files(
        args.images,
        run=args.run,
        name=args.model,
        show=args.show,
        strict=args.strict,
        fmt="json" if args.json else "csv" if args.csv else "text",
    )
    return 2 if failed(res) else 0  # each failure already said on stderr


def cmd_show_maps(args):
    print(f"wrote {show_maps(args.image, args.out, run=args.run, name=args.model)}")


def cmd_sweep(args):
    configs = [c for c in args.items if "=" not in c]
    overrides = [c for c in args.items if "=" in c]
    failed = sweep(
        configs,
        overrides,
        args.seeds,
        args.out,
        jobs=args.jobs,
        backend=args.backend,
        address=args.address,
        lockstep=args.lockstep == "on",
    )
    if failed:
        print(
            f"paper-lenet: {failed} run(s) failed or skipped (in use by another process); "
            f"see above and the logs in {args.out}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def cmd_compare(args):
    text = compare(
        args.dirs,
        baseline=args.baseline,
        fmt=args.format,
        plot=args.plot,
        root=args.root,
        warn=lambda line: print(line, file=sys.stderr),
    )
    print(text, end="")
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)


def _names(text, default):
    return tuple(default) if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


def cmd_robustness(args):
    text = robustness(
        args.dirs,
        baseline=args.baseline,
        fmt=args.format,
        plot=args.plot,
        root=args.root,
        n_rubbish=args.rubbish_size,
        threads=args.threads,
        keep=args.keep_scores,
        corruptions=_names(args.corruptions, CORRUPTIONS),
        rubbish=_names(args.rubbish, RUBBISH),
    )
    print(text, end="")
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)


def cmd_show_corruptions(args):
    print(f"wrote {save_corruption_picture(args.out, root=args.root, seed=args.seed)}")


def cmd_cite(args):
    print(cite(args.format), end="")


def cmd_bench(args):
    run_bench(as_json=args.json, steps=args.steps, only_lockstep=args.lockstep)
