"""Bad input on the command line (issue 43): one line naming the flag and the value, status 2, no traceback
(``grids --debug`` shows it); nothing runs, or is written, before the value is refused."""

import json
from pathlib import Path

import pytest

from grids.cli.main import EXIT_USER_ERROR, main


def run(argv: list[str], capsys):
    """``grids ARGV`` -> (status, captured stdout and stderr); argparse's own refusals exit through SystemExit."""
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    return status, capsys.readouterr()


def refused(argv: list[str], capsys, *expected: str):
    """Status 2, one ``grids: error:`` line holding every ``expected`` part, no traceback; -> (stdout, stderr)."""
    status, captured = run(argv, capsys)
    err = captured.err
    assert status == EXIT_USER_ERROR, (status, err)
    assert "Traceback" not in err, err
    for part in expected:
        assert part in err, (part, err)
    return captured


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


# --- an output path that is a file, or under one, is named before any work ----------------------------------
OUT_CASES = {
    "generate": ["data", "generate", "--tasks", "reach-v3", "--episodes-per-task", "1", "--out", "{out}"],
    "train": ["bench", "train", "--data", "{tmp}/no-data", "--out", "{out}"],
    "eval": ["bench", "eval", "--run", "{tmp}/no-run", "--out", "{out}"],
    "eval-gif": ["bench", "eval", "--run", "{tmp}/no-run", "--gif", "{out}"],
    "cache-features": [
        "bench",
        "cache-features",
        "--encoder",
        "mobilenetv2",
        "--data",
        "{tmp}/d",
        "--out",
        "{out}",
    ],
    "export": ["data", "export", "{tmp}/no-data", "--to-lerobot", "{out}"],
}


@pytest.mark.parametrize("under", [False, True], ids=["is-a-file", "under-a-file"])
@pytest.mark.parametrize("command", OUT_CASES)
def test_an_output_path_that_is_a_file_or_under_one_is_named(command, under, tmp_path, a_file, capsys):
    out = a_file / "sub" if under else a_file
    argv = [a.replace("{out}", str(out)).replace("{tmp}", str(tmp_path)) for a in OUT_CASES[command]]
    flag = "--to-lerobot" if command == "export" else "--gif" if command == "eval-gif" else "--out"
    where = f"is under {a_file}, which is a file" if under else "is a file"
    if (
        command.startswith("eval") and not under
    ):  # a results file may be a file: only a folder or a file above it is in the way
        out = a_file.parent
        argv[argv.index(str(a_file))] = str(out)
        where = "is a directory"
    refused(argv, capsys, f"grids: error: {flag} {out} {where}")


# --- numbers that cannot be right are refused by argparse, naming the flag -----------------------------------
NUMBER_CASES = {
    "generate-seed": (["data", "generate", "--out", "{tmp}/ds", "--seed", "-1"], "argument --seed: must be an int >= 0, got -1"),
    "generate-workers": (["data", "generate", "--out", "{tmp}/ds", "--workers", "-2"], "argument --workers: must be an int >= 1, got -2"),
    "generate-workers-zero": (["data", "generate", "--out", "{tmp}/ds", "--workers", "0"], "argument --workers: must be an int >= 1, got 0"),
    "generate-episodes": (["data", "generate", "--out", "{tmp}/ds", "--episodes-per-task", "0"], "argument --episodes-per-task: must be an int >= 1, got 0"),
    "eval-episodes": (["bench", "eval", "--run", "{tmp}/r", "--episodes", "0"], "argument --episodes: must be an int >= 1, got 0"),
    "eval-workers": (["bench", "eval", "--run", "{tmp}/r", "--workers", "-1"], "argument --workers: must be an int >= 1, got -1"),
    "eval-max-steps": (["bench", "eval", "--run", "{tmp}/r", "--max-steps", "two"], "argument --max-steps: must be an int >= 1, got 'two'"),
    "cache-seed": (["bench", "cache-features", "--run", "{tmp}/r", "--data", "{tmp}/d", "--seed", "-5"], "argument --seed: must be an int >= 0, got -5"),
    "train-num-workers": (["bench", "train", "--data", "{tmp}/d", "--out", "{tmp}/r", "--num-workers", "-1"], "argument --num-workers: must be an int >= 0, got -1"),
    "flops-text-tokens": (["flops", "--formula-only", "--text-tokens", "-3"], "argument --text-tokens: must be an int >= 1, got -3"),
    "flops-layer-negative": (["flops", "--formula-only", "--resample-at-layer", "-1"], "argument --resample-at-layer: must be an int >= 0, got -1"),
}  # fmt: skip


@pytest.mark.parametrize("case", NUMBER_CASES)
def test_a_number_that_cannot_be_right_is_refused_naming_the_flag(case, tmp_path, capsys):
    argv, message = NUMBER_CASES[case]
    refused([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys, message)
    assert not (tmp_path / "ds").exists()  # the seed is refused before a manifest is written


def test_a_training_seed_that_cannot_be_right_is_named(tmp_path, capsys):
    refused(["bench", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--seed", "-1"], capsys,
            "grids: error: seed must be an int >= 0, got -1")  # fmt: skip


# --- values accepted before and silently wrong ------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "generate", "--tasks", "", "--out", "{tmp}/ds"], "the task list is empty ('')"),
        (["data", "generate", "--tasks", " , ", "--out", "{tmp}/ds"], "the task list is empty (' , ')"),
        (["data", "generate", "--suite", "aloha", "--tasks", "", "--out", "{tmp}/ds"], "bad ALOHA task list ''"),
        (["bench", "eval", "--run", "{tmp}/r", "--tasks", ""], "the task list is empty ('')"),
        (["flops", "--formula-only", "--resample-at-layer", "99"], "--resample-at-layer=99 is not a block of pi0's 27-block vision encoder: use None or an int in [0, 27]"),
        (["flops", "--formula-only", "--model", "smolvla", "--resample-at-layer", "3"], "--resample-at-layer needs a connector without pixel shuffle"),
        (["flops", "--formula-only", "--reducer", "pool", "--tokens", "999"], "--tokens 999 exceeds the 256 patch tokens of a 16x16 grid"),
    ],
)  # fmt: skip
def test_values_that_cannot_be_right_are_refused_not_replaced(argv, message, tmp_path, capsys):
    refused([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys, message)
    assert not (tmp_path / "ds").exists()  # no default task set was generated instead


@pytest.mark.parametrize("options", ["[1, 2]", '"score"', "5", "null"])
def test_reducer_options_must_be_a_json_object(options, tmp_path, capsys):
    argv = [
        "bench",
        "train",
        "--data",
        str(tmp_path),
        "--out",
        str(tmp_path / "r"),
        "--reducer-options",
        options,
    ]
    refused(
        argv,
        capsys,
        f'--reducer-options must be a JSON object such as \'{{"score": "query"}}\', got {options!r}',
    )


@pytest.mark.parametrize(
    "options, message",
    [
        ('{"hidden_dim": 64}', "reducer 'grids-heatmap' does not take the options {'hidden_dim': 64}"),
        # configured for a context the policy gives only with --task-aware: refused, not run without one
        (
            '{"context_dim": 8}',
            "reducer_options context_dim=8: the policy's context is the instruction embedding",
        ),
    ],
)
def test_reducer_options_a_reducer_does_not_read_are_refused(options, message, tmp_path, capsys):
    argv = ["bench", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--reducer", "grids-heatmap",
            "--reducer-options", options]  # fmt: skip
    refused(argv, capsys, message)


@pytest.mark.parametrize("perturbations", ["none,earthquake", "light,nope"])
def test_an_unknown_perturbation_is_named_before_the_first_one_runs(perturbations, tmp_path, capsys):
    unknown = perturbations.split(",")[1]
    argv = [
        "bench",
        "eval",
        "--run",
        str(tmp_path / "no-run"),
        "--tasks",
        "reach-v3",
        "--perturbations",
        perturbations,
    ]
    refused(argv, capsys, f"unknown perturbation {unknown!r}")  # the run's absence would be found later


@pytest.mark.parametrize("reuse", ["[]", "{not json", '{"episodes": []}'])
def test_a_reused_evaluation_that_is_not_one_is_named(reuse, tmp_path, capsys):
    earlier = tmp_path / "earlier.json"
    earlier.write_text(reuse)
    argv = ["bench", "eval", "--run", str(tmp_path / "r"), "--tasks", "reach-v3", "--reuse", str(earlier)]
    refused(argv, capsys, f"--reuse {earlier}")


def test_cache_features_without_out_is_one_line(tmp_path, capsys):
    refused(["bench", "cache-features", "--encoder", "mobilenetv2", "--data", str(tmp_path)], capsys,
            "grids: error: bench cache-features: --encoder needs --out")  # fmt: skip


# --- a run that exists: changed flags, another dataset, a damaged checkpoint -------------------------------------
@pytest.fixture
def run_config(tmp_path) -> Path:
    """The TrainConfig JSON of a 4-step run on the tiny demos, trained once."""
    pytest.importorskip("h5py")
    from tests.bench.test_bad_input_bench import tiny_config
    from tests.conftest import write_tiny_demos

    config = tiny_config(write_tiny_demos(tmp_path / "demos"), tmp_path / "run")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert main(["bench", "train", "--config", str(path)]) == 0
    return path


def test_train_on_an_existing_run_with_changed_flags_names_them(run_config, tmp_path, capsys):
    changed = json.loads(run_config.read_text())
    changed.update(steps=8, lr=0.01)
    run_config.write_text(json.dumps(changed))
    captured = refused(["bench", "train", "--config", str(run_config)], capsys,
                  "holds a run trained with other settings", "steps 4 (asked 8)", "lr 0.001 (asked 0.01)")  # fmt: skip
    assert "trained:" not in captured.out  # nothing is trained, and it does not say so


def test_train_on_an_existing_run_with_another_dataset_names_both(run_config, tmp_path, capsys):
    from tests.conftest import write_tiny_demos

    other = write_tiny_demos(tmp_path / "other", episodes_per_task=3)
    refused(["bench", "train", "--config", str(run_config), "--data", str(other)], capsys,
            "was trained on another dataset", str(tmp_path / "demos"), str(other))  # fmt: skip


def test_eval_of_a_damaged_checkpoint_names_the_file_and_debug_shows_the_traceback(
    run_config, tmp_path, capsys
):
    model = tmp_path / "run" / "checkpoints" / "step_0000004" / "model.safetensors"
    model.write_bytes(model.read_bytes()[:50])
    argv = [
        "bench",
        "eval",
        "--run",
        str(tmp_path / "run"),
        "--tasks",
        "reach-v3",
        "--episodes",
        "1",
        "--workers",
        "1",
    ]
    err = refused(argv, capsys, f"grids: error: checkpoint file {model} is damaged", "step_0000002").err
    assert len(err.strip().splitlines()) == 1
    status, captured = run(["--debug", *argv], capsys)
    assert status == EXIT_USER_ERROR and "Traceback" in captured.err and "CheckpointError" in captured.err


@pytest.mark.parametrize("config", ["[1]", "{not json"])
def test_a_config_that_is_not_a_train_config_is_named(config, tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(config)
    refused(["bench", "train", "--config", str(path)], capsys, f"--config {path}")
