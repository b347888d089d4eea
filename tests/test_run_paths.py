"""What `eval` and `compare` say about a path that does not hold what they need (runpaths.py): one
test per message, each through the command line (one line, exit 2)."""

from __future__ import annotations

from paper_lenet.cli import main


def _error(argv, capsys) -> str:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("paper-lenet: error: ") and err.count("\n") == 1, err
    return err.strip()


def test_eval_on_a_missing_path_says_no_such_directory(tmp_path, capsys):
    assert _error(["eval", str(tmp_path / "no_such_run")], capsys).endswith(
        f"no such directory: {tmp_path / 'no_such_run'}"
    )


def test_compare_on_a_missing_path_says_no_such_directory(synthetic_root, tmp_path, capsys):
    err = _error(["compare", str(tmp_path / "no_such_sweep"), "--root", str(synthetic_root)], capsys)
    assert err.endswith(f"no such directory: {tmp_path / 'no_such_sweep'}")


def test_compare_on_a_parent_folder_lists_its_config_folders(synthetic_root, tmp_path, capsys):
    for name in ("lenet5_1998", "ablation-paper-maxpool"):
        (tmp_path / "sweep" / name / "seed0").mkdir(parents=True)
    (tmp_path / "sweep" / "notes").mkdir()  # no seed*/ inside: not a config folder
    err = _error(["compare", str(tmp_path / "sweep"), "--root", str(synthetic_root)], capsys)
    assert err.endswith(
        f"did you mean {tmp_path / 'sweep' / 'ablation-paper-maxpool'} {tmp_path / 'sweep' / 'lenet5_1998'}?"
    ), err


def test_compare_on_one_seed_folder_names_it_as_one_run(synthetic_root, tmp_path, capsys):
    run = tmp_path / "sweep" / "lenet5_1998" / "seed0"
    run.mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    err = _error(["compare", str(run), "--root", str(synthetic_root)], capsys)
    assert f"{run}: a single run (a seed folder)" in err and err.endswith(f"did you mean {run.parent}?"), err
