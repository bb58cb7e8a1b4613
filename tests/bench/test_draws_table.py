"""benchmarks/draws.py: the protocol's evaluation and the one with training draws, paired per episode."""

import json
from pathlib import Path

import pytest


def _result(successes: list[bool]) -> dict:
    return {"episodes": [{"task": "libero_object/0", "seed": 100_000 + i, "perturbation": "none", "init_state": i,
                          "success": s} for i, s in enumerate(successes)]}  # fmt: skip


def test_compare_pairs_the_same_episodes_draws_minus_protocol(benchmark_script):
    draws = benchmark_script("draws")
    cell = draws.compare(_result([True] * 4 + [False] * 6), _result([True] * 9 + [False]))
    assert cell["protocol"] == 40.0 and cell["draws"] == 90.0 and cell["delta"] == 50.0
    assert (cell["only_draws"], cell["only_protocol"], cell["episodes"]) == (5, 0, 10)
    text = draws.markdown({"grids-16-jitter1": cell}, spec="s.toml", command="c", skipped=["dense"], made_on="cpu")
    assert "| grids-16-jitter1 | 40.0 | 90.0 | +50.0 (5/0, p = 0.062) | 10 |" in text
    assert "Not measured (no run or no protocol evaluation on disk): dense." in text


def test_main_skips_a_row_without_its_protocol_evaluation_and_reads_a_finished_one(tmp_path, benchmark_script,
                                                                                  monkeypatch):  # fmt: skip
    draws = benchmark_script("draws")
    (tmp_path / "benchmarks").symlink_to(Path(__file__).parents[2] / "benchmarks")  # the spec and its archive
    monkeypatch.chdir(tmp_path)  # the spec's runs/ root, here
    rows_spec = "benchmarks/specs/libero_object_regularisation.toml"
    run = tmp_path / "runs" / "libero_object" / "random-16-ema-c50-s0"
    run.mkdir(parents=True)
    (run / "eval_none_20ep_None_official.json").write_text(json.dumps(_result([False, True])))
    (run / "eval_none_20ep_None_official_training-draws.json").write_text(json.dumps(_result([True, True])))
    out = tmp_path / "report"
    argv = ["draws.py", "--spec", "s.toml", "--rows-spec", rows_spec, "--episodes", "20", "--rows",
            "random-16-ema-c50", "uniform-16-ema-c50", "--out", str(out)]  # fmt: skip
    monkeypatch.setattr("sys.argv", argv)
    draws.main()  # nothing to evaluate: the draws' evaluation is on disk, the row without a run is skipped
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["skipped"] == ["uniform-16-ema-c50"] and report["rows"]["random-16-ema-c50"]["delta"] == 50.0
    monkeypatch.setattr("sys.argv", [*argv[:-3], "no-such-row", "--out", str(out)])
    with pytest.raises(SystemExit):  # an unknown row is refused before any evaluation
        draws.main()
