"""Mutation testing of one module, one mutant at a time, against a chosen subset of the tests.

    PAPER_LENET_DATA=/nonexistent python dev/mutate.py paper_lenet/core/sdlm.py [pytest args...] [--json OUT]

Without pytest args the module's own subset (TESTS below) runs. Each mutant changes one AST node:
an arithmetic or augmented-assignment operator (+ -, * /, // *, ** *, % //, << >>, | &), a comparison
(< <=, > >=, == !=, in / not in, is / is not), and/or, a dropped unary - or `not`, a number (int n+1,
float x*2, 0.0 -> 1.0) or a bool flipped. Strings (messages, keys) are not mutated. Unlike mutmut 3
(pyproject.toml), module-level constants and decorated functions are mutated too: paper.py is
almost all constants. The parent imports the heavy dependencies once and forks a child per mutant;
the child compiles the mutated source in place of the module's file (nothing is written to disk)
and runs pytest -x; a test failure, an error or the time limit kills the mutant. Tests that start a
subprocess see the unmutated code, so they can only under-count kills. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.machinery
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy  # noqa: F401  the heavy imports, once, before any fork
import pytest
import scipy.stats  # noqa: F401
import torch  # noqa: F401
import yaml  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
AUTHORS = "tests/test_authors_protocol.py::"
FACTS = "tests/test_paper_facts.py::"
LUSH_UNITS = [
    AUTHORS + t
    for t in (
        "test_forget_init_ranges",
        "test_squashed_head_and_edist_loss_by_hand",
        "test_squashed_head_curvature_is_gauss_newton",
    )
]
TESTS = {  # the fast pinning tests first: with -x a killed mutant stops at its first failure
    # test_model's 216 switch combinations only smoke-test the modern options: 2 minutes per survivor
    # paper.py: the literal comparisons first (most mutants are constants), then the behavioural tests
    # (node ids only: pytest merges a node id into a whole-file argument and runs the file's order)
    "paper_lenet/paper.py": [
        *(
            FACTS + t
            for t in (
                "test_reported_results",
                "test_architecture_counts",
                "test_table_1_literally",
                "test_eta_table_and_schedule",
                "test_sdlm_constants_and_rates",
                "test_squashing_constants",
                "test_input_levels",
                "test_lecun98_init_bounds",
                "test_table_1_behaviourally",
                "test_constant_random_order_across_passes",
                "test_distortion_parameter_ranges",
                "test_distortion_mix_is_the_papers_pool",
            )
        ),
        "tests/test_cite.py::test_paper_facts_equal_citation_cff_reference",
        AUTHORS + "test_authors_eta_blocks_are_lenet5_lsh_patch",
        AUTHORS + "test_file_order_and_hessian_schedules",
        "tests/test_model.py",
        "-k",
        "not every_switch_combination",
    ],
    "paper_lenet/core/layers.py": [
        "tests/test_layers.py",
        "tests/test_paper_facts.py",
        "tests/test_sdlm.py",
        *LUSH_UNITS,
        "tests/test_model.py",
        "-k",
        "not every_switch_combination or full-linear",
    ],  # every act/pool/init, 36 of 216
    "paper_lenet/core/losses.py": ["tests/test_sdlm.py", "tests/test_paper_facts.py", *LUSH_UNITS],
    "paper_lenet/core/sdlm.py": ["tests/test_paper_facts.py", "tests/test_sdlm.py"],
    "paper_lenet/training/schedule.py": [
        "tests/test_paper_facts.py",
        "tests/test_schedule.py",
        AUTHORS + "test_file_order_and_hessian_schedules",
        "tests/test_train.py::test_device_switch",
    ],
    "paper_lenet/data/distort.py": ["tests/test_paper_facts.py", "tests/test_distort.py"],
    "paper_lenet/data/mnist.py": [
        "tests/test_data_mnist.py",
        "tests/test_paper_facts.py",
        AUTHORS + "test_lush_scaling_background_zero_ink_255",
    ],
    # without test_cli_show_preprocessing: 33 s in a subprocess, which sees unmutated code
    "paper_lenet/data/preprocess.py": ["tests/test_preprocess.py", "-k", "not cli_show_preprocessing"],
    # [deslant] and the box filter, split out of preprocess.py after the issue listed it
    "paper_lenet/data/deslant.py": [
        "tests/test_deslant.py",
        "tests/test_preprocess.py",
        "-k",
        "not cli_show_preprocessing",
    ],
    "paper_lenet/data/resample.py": [
        "tests/test_preprocess.py",
        "tests/test_deslant.py",
        "-k",
        "not cli_show_preprocessing",
    ],
    "paper_lenet/tools/stats.py": [
        "tests/test_stats.py",
        "tests/test_compare.py",
        "tests/test_report.py",
        "-k",
        "not report_from_runs",
    ],
    "paper_lenet/study/compare.py": ["tests/test_compare.py"],  # summarize, versus: compare's own statistics
    # issue 35: the run lock (seen from a second process), users' images, the RS-SVM
    "paper_lenet/runs/runlock.py": [
        "tests/test_runlock.py",
        "tests/test_rundir_safety.py",
        "-k",
        "lock or take or writer or holds or failed_start or is_a_file",
    ],
    # without the packaged-weights, run-directory and show-maps tests (subprocesses, or no image code)
    "paper_lenet/data/image.py": [
        "tests/test_image.py",
        "tests/test_predict.py",
        "-k",
        "not tampered and not another_directory and not run_directory and not show_maps "
        "and not meta_equals and not torch_hub and not real_digits",
    ],
    "paper_lenet/comparison/reduced.py": [
        "tests/test_reduced.py",
        "tests/test_reduced_vs_full.py",
        "tests/test_ovr.py",
        "-k",
        "not merge and not cost_counts and not bad_keys and not match and not virtual_refit",
    ],
}
BINOP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Pow: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.LShift: ast.RShift,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
CMPOP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def skipped(tree: ast.Module) -> set[int]:
    """ids of nodes not to mutate: docstrings, f-strings, annotations, __future__ imports."""
    out = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, (ast.JoinedStr, ast.ImportFrom)):
            parts = [node]
        elif isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            parts = [node.annotation]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            parts = [node.returns]
        for p in parts:
            out.update(id(n) for n in ast.walk(p))
    return out


def sites(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(node index in ast.walk order, kind, description) of every mutation."""
    skip, out = skipped(tree), []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINOP:
            out.append((i, "op", f"L{line}: {type(node.op).__name__} -> {BINOP[type(node.op)].__name__}"))
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                out.append((i, f"cmp{k}", f"L{line}: {type(op).__name__} -> {CMPOP[type(op)].__name__}"))
        elif isinstance(node, ast.BoolOp):
            out.append(
                (
                    i,
                    "bool",
                    f"L{line}: {type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}",
                )
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            out.append((i, "unary", f"L{line}: drop {type(node.op).__name__}"))
        elif isinstance(node, ast.Constant) and type(node.value) in (bool, int, float):
            out.append((i, "const", f"L{line}: {node.value!r} -> {mutated_constant(node.value)!r}"))
    return out


def mutated_constant(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    return v * 2 if v else 1.0


class Drop(ast.NodeTransformer):
    def __init__(self, target):
        self.target = target

    def visit_UnaryOp(self, node):
        return node.operand if node is self.target else self.generic_visit(node)


def mutant_source(tree: ast.Module, index: int, kind: str) -> str:
    tree = copy.deepcopy(tree)
    node = list(ast.walk(tree))[index]
    if kind == "op":
        node.op = BINOP[type(node.op)]()
    elif kind.startswith("cmp"):
        k = int(kind[3:])
        node.ops[k] = CMPOP[type(node.ops[k])]()
    elif kind == "bool":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "unary":
        tree = Drop(node).visit(tree)
    else:
        node.value = mutated_constant(node.value)
    return ast.unparse(ast.fix_missing_locations(tree))


def run_child(path: Path, source: str | None, args: list[str], limit: int) -> int:
    """Fork; the child runs pytest with `source` compiled in place of `path`. Returns its exit code
    (-1 when the time limit or a signal ended it)."""
    pid = os.fork()
    if pid == 0:
        signal.alarm(limit)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if source is not None:
            code = compile(source, str(path), "exec")
            original = importlib.machinery.SourceFileLoader.get_code

            def get_code(self, fullname):
                return code if Path(self.path) == path else original(self, fullname)

            importlib.machinery.SourceFileLoader.get_code = get_code
        os._exit(int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *args])))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else -1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="e.g. paper_lenet/core/sdlm.py")
    ap.add_argument("--json", help="write every mutant and its outcome here")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--recheck", help="a --json file: run only the mutants that survived there")
    ap.add_argument("--only", action="append", help="run only the mutants whose description contains this")
    ap.add_argument("--limit", type=int, help="seconds per mutant (default: 3x the clean run + 30)")
    opts, extra = ap.parse_known_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    path = (ROOT / opts.module).resolve()
    args = extra or TESTS.get(opts.module, [])
    tree = ast.parse(path.read_text())
    todo = sites(tree)
    if opts.recheck:
        alive = {
            r["mutant"] for r in json.loads(Path(opts.recheck).read_text())["mutants"] if not r["killed"]
        }
        todo = [t for t in todo if t[2] in alive]
    if opts.only:
        todo = [t for t in todo if any(o in t[2] for o in opts.only)]
    if opts.list:
        print("\n".join(d for _, _, d in todo))
        return 0
    if not args:
        ap.error(f"{opts.module} has no test subset in TESTS: pass the tests to run")
    t0 = time.time()
    if run_child(path, None, args, 3600) != 0:
        print("the unmutated module fails its tests: fix that first", file=sys.stderr)
        return 2
    limit = opts.limit or int(3 * (time.time() - t0)) + 30
    print(
        f"{opts.module}: {len(todo)} mutants, tests {' '.join(args)} ({time.time() - t0:.0f} s clean)",
        flush=True,
    )
    rows = []
    for index, kind, desc in todo:
        rc = run_child(path, mutant_source(tree, index, kind), args, limit)
        rows.append({"mutant": desc, "killed": rc != 0, "rc": rc})
        print(f"  [{len(rows)}/{len(todo)}] {'killed' if rc else 'alive '} {desc}", flush=True)
        if rc == 0:
            line = path.read_text().splitlines()[int(desc.split(":")[0][1:]) - 1].strip()
            print(f"  SURVIVED {desc}    | {line}", flush=True)
        if opts.json:  # after every mutant: an interrupted run keeps what it measured
            Path(opts.json).write_text(
                json.dumps({"module": opts.module, "tests": args, "mutants": rows, "of": len(todo)}, indent=1)
            )
    killed = sum(r["killed"] for r in rows)
    print(
        f"{opts.module}: killed {killed}/{len(rows)} ({100 * killed / max(1, len(rows)):.1f}%), "
        f"{time.time() - t0:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
