"""benchmarks/libero_heldout.py: the closed-loop success it sets beside the open-loop errors, and its table."""

import argparse
import json
from pathlib import Path

import pytest


@pytest.fixture
def m(benchmark_script):
    return benchmark_script("libero_heldout")


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """An empty checkout but for the archive the suites' specs cite (a spec checks its files exist)."""
    (tmp_path / "benchmarks/results").mkdir(parents=True)
    (tmp_path / "benchmarks/results/archive").symlink_to(Path(__file__).parents[2] / "benchmarks/results/archive")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _result(name: str, rate: float, execute_steps: int | None = 5) -> dict:
    result = {"name": name, "seed": 0, "summary": {"none": {"success_rate": rate, "episodes": 500}}}
    return result if execute_steps is None else {**result, "execute_steps": execute_steps}


def test_success_is_read_at_the_5_action_horizon_from_the_grid_then_the_steps_report(tmp_path, monkeypatch, m):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    grid = [_result("dense-ema-c50", 0.5), _result("grids-16-ema-c50", 0.9, None)]  # GridS-16 at 25 actions only
    (tmp_path / "benchmarks/results/libero_spatial.json").write_text(json.dumps({"results": grid}))
    steps = [_result("dense-ema-c50-20k", 0.75), _result("dense-ema-c50", 0.1)]  # a twin: the grid's comes first
    (tmp_path / "benchmarks/results/libero_spatial_steps.json").write_text(json.dumps({"results": steps}))
    assert m.closed_loop("libero_spatial", "dense-ema-c50") == 50.0
    assert m.closed_loop("libero_spatial", "dense-ema-c50-20k") == 75.0
    assert m.closed_loop("libero_spatial", "grids-16-ema-c50") is None  # another horizon is not this protocol's
    assert m.closed_loop("libero_goal", "dense-ema-c50") is None  # no report yet


def test_the_table_gives_each_row_s_errors_their_ratio_and_its_success(m):
    error = {"l1_executed": 0.02, "l1": 0.03, "l1_per_dim": [0.01, 0.05]}
    held = {"l1_executed": 0.025, "l1": 0.04, "l1_per_dim": [0.01, 0.06]}
    rows = {"libero_spatial": {"dense-ema-c50": {"train": error, "heldout": held, "success": 51.4},
                               "grids-16-ema-c50": {"train": error, "heldout": held, "success": None}}}  # fmt: skip
    text = m.markdown(rows, argparse.Namespace(frames=64, episodes_per_task=5, seed=1))
    assert "| libero_spatial | dense-ema-c50 | 0.0200 | 0.0250 | 1.25 | 0.0300 | 0.0400 | 0.0600 | 51.4 |" in text
    assert text.rstrip().endswith("| 0.0600 | — |")  # not measured closed loop: a dash


def test_a_run_still_training_is_left_out_and_said_so(checkout, capsys, m):
    run = checkout / "runs/libero_spatial/dense-ema-c50-20k-s0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"steps": 20000}))  # started: no checkpoint yet
    assert m.measure("libero_spatial", heldout=checkout / "heldout", frames=8) == {}
    assert f"{run.relative_to(checkout)} has not finished training, left out" in capsys.readouterr().out


def test_each_row_s_run_is_asked_of_the_spec_that_trains_it_and_a_row_no_spec_trains_is_left_out(
        checkout, monkeypatch, capsys, m):  # fmt: skip
    asked = []

    def finished(spec, row, seed):  # the runner restores a finished kept run or says it is not finished
        asked.append((m.Path(spec.path).name, row.name, seed))
        return m.runner.run_dir(spec, row, seed)

    monkeypatch.setattr(m.runner, "finished_run", finished)
    assert m.finished_run("libero_spatial", "dense-ema-c50") == m.Path("runs/libero_spatial/dense-ema-c50-s0")
    assert m.finished_run("libero_spatial", "dense-ema-c50-20k") == m.Path("runs/libero_spatial/dense-ema-c50-20k-s0")
    assert asked == [("libero_spatial.toml", "dense-ema-c50", 0), ("libero_spatial_steps.toml", "dense-ema-c50-20k", 0)]
    assert m.finished_run("libero_object", "dense-ema-c50-20k") is None and len(asked) == 2  # no Object steps spec
    assert "libero_object dense-ema-c50-20k: no spec of this suite trains it, left out" in capsys.readouterr().out
