import subprocess
import sys
from pathlib import Path

import pytest

from grids.cli import data as data_cli
from grids.cli.main import EXIT_USER_ERROR, build_parser, main

REPO = Path(__file__).resolve().parents[2]


def test_every_command_group_is_registered():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"data", "bench", "flops", "latency"} <= set(commands)


def test_unknown_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["teleport"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'teleport'" in capsys.readouterr().err


TRAIN = ["bench", "train", "--data", "{missing}", "--out", "{tmp}/run"]
# Every config error names the bad value; the missing --data shows it is caught before data loading.
EXPECTED_ERRORS = {
    "train-missing-data": (TRAIN, "no manifest.json in {missing}"),
    "train-unknown-reducer": (
        [*TRAIN, "--reducer", "nope"],
        "unknown reducer 'nope'; registered: dense, grids, grids-heatmap, grids-nearest",
    ),
    "train-too-many-tokens": (
        [*TRAIN, "--reducer", "topk", "--tokens", "999"],
        "reducer 'topk': num_tokens=999 exceeds the 256 patch tokens of a 16x16 grid",
    ),
    "train-zero-tokens": ([*TRAIN, "--tokens", "0"], "num_tokens must be an int >= 1, got 0"),
    "train-zero-steps": ([*TRAIN, "--steps", "0"], "steps must be an int >= 1, got 0"),
    "train-corrupted-without-features": (
        [*TRAIN, "--corrupted-features", "{tmp}/noisy"],
        "corrupted_features is a copy of a feature cache: it needs features or frozen_encoder",
    ),
    "train-corrupted-p": (
        [*TRAIN, "--features", "{tmp}/f", "--corrupted-features", "{tmp}/noisy", "--corrupted-p", "0"],
        "corrupted_p must be a probability in (0, 1], got 0.0",
    ),
    "train-bad-json": ([*TRAIN, "--reducer-options", "{bad"], "--reducer-options is not valid JSON"),
    "train-bad-option": (
        [*TRAIN, "--reducer", "pool", "--reducer-options", '{"score": "query"}'],
        "reducer 'pool' does not take the options {'score': 'query'}",
    ),
    "train-no-out": (["bench", "train", "--data", "{missing}"], "bench train: --data and --out are required"),
    "train-missing-config": (["bench", "train", "--config", "{missing}"], "No such file or directory"),
    "run-missing-spec": (["bench", "run", "{missing}.toml"], "{missing}.toml: no such spec file"),
    "run-unknown-row": (
        ["bench", "run", "benchmarks/specs/bench_quick_pretrained.toml", "--only", "nope", "--dry-run"],
        "--only: benchmarks/specs/bench_quick_pretrained.toml has no row 'nope'; rows: dense, grids-4",
    ),
    "generate-unknown-task": (
        ["data", "generate", "--tasks", "nope-v3", "--out", "{tmp}/ds"],
        "unknown task(s) ['nope-v3'] in 'nope-v3'",
    ),
    "info-missing": (["data", "info", "{missing}"], "no manifest.json in {missing}"),
    "eval-missing-run": (["bench", "eval", "--run", "{missing}"], "no checkpoint under {missing}"),
    "action-error-missing-run": (["bench", "action-error", "--run", "{missing}", "--data", "{tmp}/d"],
                                 "no checkpoint under {missing}"),
    "latency-zero-tokens": (["latency", "--variants", "grids-0", "--plan"], "K must be >= 1, got 0"),
    "latency-unknown-variant": (["latency", "--variants", "nope", "--plan"], "variant 'nope': expected"),
    "flops-zero-tokens": (["flops", "--tokens", "0", "--formula-only"], "--tokens must be >= 1, got 0"),
}


def fill(argv: list[str], message: str, tmp_path: Path) -> tuple[list[str], str]:
    def put(text: str) -> str:  # str.replace, not format: JSON arguments hold braces
        return text.replace("{missing}", str(tmp_path / "nonexistent")).replace("{tmp}", str(tmp_path))

    return [put(a) for a in argv], put(message)


@pytest.mark.parametrize("case", list(EXPECTED_ERRORS))
def test_expected_errors_are_one_line_and_status_2(case, tmp_path, capsys):
    argv, message = fill(*EXPECTED_ERRORS[case], tmp_path)
    assert main(argv) == EXIT_USER_ERROR == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [err.strip()], err  # one line, no traceback
    assert err.startswith("grids: error: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing was written before the error


@pytest.mark.parametrize("case", ["info-missing", "train-unknown-reducer"])
def test_debug_adds_the_traceback(case, tmp_path, capsys):
    argv, message = fill(*EXPECTED_ERRORS[case], tmp_path)
    assert main(["--debug", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1].startswith("grids: error: ") and message in lines[-1]


def test_unexpected_errors_keep_the_traceback(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug, not bad input")

    monkeypatch.setattr(data_cli, "show_info", broken)
    with pytest.raises(RuntimeError, match="a bug, not bad input"):
        main(["data", "info", "anything"])


def test_a_command_leaves_the_process_group_it_ran_in(tmp_path):
    import torch.distributed as dist

    # What accelerate launch sets up in each process (a file rendezvous: no port to collide with).
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        main(["data", "info", str(tmp_path / "missing")])  # fails with bad input: the group is left all the same
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_the_installed_command_exits_with_status_2():
    missing = "/nonexistent/grids-dataset"
    result = subprocess.run(
        [sys.executable, "-m", "grids.cli.main", "data", "info", missing],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr
        == f"grids: error: no manifest.json in {missing}: not a grids demo dataset (or generation never started)\n"
    )


def test_eval_reuses_only_the_same_runs_episodes(tmp_path):
    import json

    from grids.cli.bench import _reused_episodes
    from grids.errors import UserError

    earlier = tmp_path / "eval.json"
    earlier.write_text(json.dumps({"policy": "runs/a", "episodes": [{"task": "t", "seed": 1}]}))  # no max_steps
    same = {"run": "runs/a", "max_steps": None, "starts": "official", "execute_steps": None}  # no "starts": official
    assert _reused_episodes(str(earlier), **same) == [{"task": "t", "seed": 1}]
    assert _reused_episodes(None, **same) == []
    with pytest.raises(UserError, match="evaluates runs/a with max steps None, official starts, not runs/b"):
        _reused_episodes(str(earlier), **{**same, "run": "runs/b"})
    with pytest.raises(UserError, match="not runs/a with 150"):
        _reused_episodes(str(earlier), **{**same, "max_steps": 150})
    with pytest.raises(UserError, match="not runs/a with None, fresh"):  # LIBERO's fresh placements
        _reused_episodes(str(earlier), **{**same, "starts": "fresh"})


def test_eval_reuses_only_episodes_of_the_same_receding_horizon(tmp_path):
    """Files from before --execute-steps ran half the chunk; newer ones record how many actions ran per chunk."""
    import json

    from grids.cli.bench import _reused_episodes
    from grids.errors import UserError

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"policy": {"chunk_size": 50}}))
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"policy": str(run), "episodes": [{"seed": 1}]}))  # half the chunk: 25
    new.write_text(json.dumps({"policy": str(run), "execute_steps": 5, "episodes": [{"seed": 2}]}))
    same = {"run": str(run), "max_steps": None, "starts": "official"}
    assert _reused_episodes(str(old), **same, execute_steps=None) == [{"seed": 1}]
    assert _reused_episodes(str(old), **same, execute_steps=25) == [{"seed": 1}]
    assert _reused_episodes(str(new), **same, execute_steps=5) == [{"seed": 2}]
    with pytest.raises(UserError, match="ran 25 actions per predicted chunk, not 5"):
        _reused_episodes(str(old), **same, execute_steps=5)
    with pytest.raises(UserError, match="ran 5 actions per predicted chunk, not 25"):
        _reused_episodes(str(new), **same, execute_steps=None)
