"""benchmarks/libero_avg.py: the four-suite table pairs each row with dense on the same episodes, suite by suite
and pooled, and averages only over all four suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def m(benchmark_script):
    return benchmark_script("libero_avg")


def _result(name: str, seed: int, successes: list[bool], execute_steps: int | None = 5) -> dict:
    # one task name in every suite, so that pooling must key the episodes by suite to keep them apart
    episodes = [{"task": "t/0", "seed": i, "init_state": i, "perturbation": "none", "success": ok}
                for i, ok in enumerate(successes)]  # fmt: skip
    result = {"name": name if seed == 0 else f"{name} (seed {seed})", "seed": seed, "episodes": episodes,
              "summary": {"none": {"episodes": len(successes)}}}  # fmt: skip
    return result if execute_steps is None else {**result, "execute_steps": execute_steps}


def _write(tmp_path: Path, suite: str, results: list[dict]) -> str:
    path = tmp_path / f"{suite}.json"
    path.write_text(json.dumps({"results": results}))
    return str(path)


def test_rows_are_paired_with_dense_per_suite_and_pooled(tmp_path, monkeypatch, m):
    dense, grids = [True] * 8 + [False] * 2, [True] * 5 + [False] * 5  # grids loses 3 episodes, wins none
    reports = {s: [_write(tmp_path, s, [_result("dense-ema-c50", 0, dense), _result("grids-16-ema-c50", 0, grids)])]
               for s in ("libero_spatial", "libero_object")}  # fmt: skip
    monkeypatch.setattr(m, "SUITES", {**{s: [] for s in m.SUITES}, **reports})
    suites = {s: m.load_suite(paths) for s, paths in m.SUITES.items()}
    table = m.seed0_cells(suites)["grids-16-ema-c50"]
    assert table["libero_spatial"]["delta"] == -30.0 and table["libero_spatial"]["only_reference"] == 3
    assert table["pooled"]["episodes"] == 20 and table["pooled"]["only_reference"] == 6  # both suites, not merged keys
    text = m.markdown(m.seed0_cells(suites), m.seed_cells(suites), ["libero_spatial", "libero_object"])
    row = next(line for line in text.splitlines() if line.startswith("| grids-16-ema-c50"))
    assert "not run" in row and "| — |" in row  # Goal and Long missing: no four-suite average


def test_a_longer_evaluation_of_the_same_row_and_seed_wins_and_seeds_are_summarised(tmp_path, m):
    short = _write(tmp_path, "a", [_result("grids-16-ema-c50", 0, [False] * 4)])
    long = _write(tmp_path, "b", [_result("grids-16-ema-c50", 0, [True] * 10),
                                  _result("grids-16-ema-c50", 1, [True] * 5 + [False] * 5)])  # fmt: skip
    found = m.load_suite([short, long])
    assert found["grids-16-ema-c50", 0]["summary"]["none"]["episodes"] == 10
    cells = m.seed_cells({"libero_object": found}, states=10)["grids-16-ema-c50"]["libero_object"]
    assert cells["success_per_seed"] == [100.0, 50.0] and cells["dense_seeds"] == [] and cells["episodes"] == 0


def test_the_seed_table_cuts_seed_0_to_the_first_states_and_pairs_each_seed_with_dense_s_own(tmp_path, m):
    seed0 = _write(tmp_path, "ep50", [_result("dense-ema-c50", 0, [True] * 10),
                                      _result("grids-16-ema-c50", 0, [True] * 4 + [False] * 6)])  # fmt: skip
    seeds = _write(tmp_path, "ep4", [_result("dense-ema-c50", 1, [True, True, False, False]),
                                     _result("grids-16-ema-c50", 1, [True] * 4)])  # fmt: skip
    found = m.load_suite([seed0, seeds])
    cells = m.seed_cells({"libero_object": found}, states=4)["grids-16-ema-c50"]["libero_object"]
    assert cells["success_per_seed"] == [100.0, 100.0]  # seed 0's states 4-9 left out
    assert cells["dense_seeds"] == [0, 1] and cells["episodes"] == 8
    assert (cells["only_run"], cells["only_reference"], cells["delta"]) == (2, 0, 25.0)  # seed 1 against dense's seed 1


def test_a_row_measured_before_its_suite_s_dense_shows_its_success_and_stays_out_of_the_pooled_pairs(tmp_path, m):
    dense, grids = [True] * 8 + [False] * 2, [True] * 5 + [False] * 5
    object_ = _write(tmp_path, "libero_object", [_result("dense-ema-c50", 0, dense), _result("grids-16-ema-c50", 0, grids)])
    spatial = _write(tmp_path, "libero_spatial", [_result("grids-16-ema-c50", 0, [True] * 3 + [False])])
    suites = {"libero_object": m.load_suite([object_]), "libero_spatial": m.load_suite([spatial])}
    cells = m.seed0_cells(suites)["grids-16-ema-c50"]
    assert cells["libero_spatial"]["success"] == 75.0 and cells["libero_spatial"]["delta"] is None
    assert cells["pooled"]["episodes"] == 10  # Object's pairs only
    text = m.markdown(m.seed0_cells(suites), m.seed_cells(suites), ["libero_spatial", "libero_object"])
    row = next(line for line in text.splitlines() if line.startswith("| grids-16-ema-c50"))
    assert "| 75.0 (dense not run) |" in row


def test_a_result_of_another_receding_horizon_is_left_out_and_named(tmp_path, monkeypatch, m):
    """Reports from before the specs replanned every 5 actions (no execute_steps: 25 of 50) are not paired with
    those after (same states, another protocol); nor is one set to another horizon. Each is named with its own."""
    old_seeds = [_result("dense-ema-c50", 1, [True] * 10, None), _result("grids-16-ema-c50", 1, [False] * 10, 10)]
    now = [_result("dense-ema-c50", 0, [True] * 10), _result("grids-16-ema-c50", 0, [True] * 5 + [False] * 5)]
    paths = [_write(tmp_path, "libero_object", now), _write(tmp_path, "libero_object_ep20", old_seeds)]
    left_out: list[str] = []
    found = m.load_suite(paths, left_out=left_out)
    assert sorted(found) == [("dense-ema-c50", 0), ("grids-16-ema-c50", 0)]
    assert left_out == ["libero_object_ep20: dense-ema-c50 (seed 1) (half the chunk, before the setting was recorded)",
                        "libero_object_ep20: grids-16-ema-c50 (seed 1) (10 actions)"]  # each named with its own horizon
    text = m.markdown(m.seed0_cells({"libero_object": found}), m.seed_cells({"libero_object": found}),
                      ["libero_object"], left_out)  # fmt: skip
    assert "Left out, evaluated at another horizon: libero_object_ep20: dense-ema-c50 (seed 1) (half" in text
