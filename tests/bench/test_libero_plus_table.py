"""benchmarks/libero_plus.py: shift episodes grouped per dimension, per level (level 0: the shift report's own clean
episodes of the same states) and per dimension@level, each paired with dense's same episodes, per suite and pooled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def m(benchmark_script):
    return benchmark_script("libero_plus")


def _report(path: Path, rows: dict[str, list[tuple[str, int, bool]]]) -> None:
    """rows: name -> [(perturbation, init state, success)] on task 0."""
    results = [{"name": name, "seed": 0, "episodes": [
        {"task": "t/0", "perturbation": p, "seed": s, "init_state": s, "success": ok} for p, s, ok in episodes]}
        for name, episodes in rows.items()]  # fmt: skip
    path.write_text(json.dumps({"results": results}))


def test_cells_group_pair_and_pool_the_suites(tmp_path, monkeypatch, m):
    monkeypatch.setattr(m, "RESULTS", tmp_path)
    for suite in ("object", "goal"):  # state 2 lies beyond the shift specs' states
        _report(tmp_path / f"libero_plus_{suite}.json", {
            "dense-ema-c50": [("none", 0, True), ("none", 2, True), ("camera@1", 0, True), ("camera@5", 0, True),
                              ("light@3", 0, True), ("light@3", 1, False)],
            "grids-16-ema-c50": [("none", 0, False), ("none", 2, True), ("camera@1", 0, True), ("camera@5", 0, False),
                                 ("light@3", 0, True), ("light@3", 1, True)],
        })  # fmt: skip
        _report(tmp_path / f"libero_{suite}.json", {  # the suite's clean table, other policies: never read
            "dense-ema-c50": [("none", 0, False)], "grids-16-ema-c50": [("none", 0, True)],
        })  # fmt: skip
    data = {s: m.load(s, states=2) for s in ("libero_object", "libero_goal")}
    cells = m.table(data)["grids-16-ema-c50"]
    camera = cells["camera"]["libero_object"]
    assert camera["episodes"] == 2 and camera["success"] == 50.0 and camera["delta"] == -50.0
    assert cells["camera@5"]["pooled"]["episodes"] == 2 and cells["camera@5"]["pooled"]["success"] == 0.0
    assert cells["light"]["pooled"]["delta"] == 50.0  # light@3 state 1: grids only, in both suites
    level_0 = cells["level 0"]["pooled"]  # the shift report's own clean episodes, state 2 out
    assert level_0["episodes"] == 2 and level_0["success"] == 0.0 and level_0["delta"] == -100.0
    assert cells["all shifts"]["pooled"]["episodes"] == 8
    assert cells["level 3"]["pooled"]["episodes"] == 4  # light@3 in both suites, no clean episode


def test_a_suite_without_its_shift_report_is_not_measured(tmp_path, monkeypatch, m):
    monkeypatch.setattr(m, "RESULTS", tmp_path)
    _report(tmp_path / "libero_object.json", {"dense-ema-c50": [("none", 0, True)]})
    assert m.load("libero_object", states=2) == {}


def test_camera_at_several_seeds_pairs_each_seed_with_dense_s_own(tmp_path, monkeypatch, m):
    monkeypatch.setattr(m, "RESULTS", tmp_path)
    results = []
    for name, seed, outcomes in [("dense-ema-c50", 0, [True, True]), ("dense-ema-c50", 1, [True, False]),
                                 ("grids-16-ema-c50", 0, [True, False]), ("grids-16-ema-c50", 1, [True, True])]:  # fmt: skip
        episodes = [{"task": "t/0", "perturbation": "camera@2", "seed": s, "init_state": s, "success": ok}
                    for s, ok in enumerate(outcomes)]  # fmt: skip
        results.append({"name": name if seed == 0 else f"{name} (seed {seed})", "seed": seed, "episodes": episodes})
    (tmp_path / "libero_plus_object.json").write_text(json.dumps({"results": results}))
    lines = m.camera_seeds(states=2)
    row = next(line for line in lines if line.startswith("| grids-16-ema-c50"))
    assert "| 0, 1 | 50.0 / 100.0 | 75.0 ± 35.4 | 75.0 (+0.0, p = 1) |" in row  # seed 0 loses one, seed 1 wins one
