"""benchmarks/libero_plus_experts.py: the expert's outcomes per suite x state-moving dimension x level, level 0
from the clean episodes, and the episodes it plays are the policies' (same seed, same official state)."""

from __future__ import annotations

import pytest


@pytest.fixture
def m(benchmark_script):
    pytest.importorskip("grids.sim")
    return benchmark_script("libero_plus_experts")


def test_levels_pool_the_suite_s_tasks_and_level_0_is_clean(m):
    results = {
        "libero_object/0": {"none": [True, True], "robot-init@1": [True, False], "layout@5": [True, True]},
        "libero_object/1": {"none": [True, False], "robot-init@1": [False, False]},
    }
    lines = m.table(results)
    robot = next(line for line in lines if "| robot-init |" in line)
    layout = next(line for line in lines if "| layout |" in line)
    assert robot.startswith("| libero_object | robot-init | 75 (3/4) | 25 (1/4) | — |")
    assert layout.endswith("| 75 (3/4) | — | — | — | — | 100 (2/2) |")


def test_the_expert_plays_the_policies_episodes(m, monkeypatch):
    played = []

    class Env:
        def __init__(self, task, **kwargs):
            self.kwargs = kwargs

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    class Episode:
        success = True

    monkeypatch.setattr(m, "LiberoEnv", Env)
    monkeypatch.setattr(m, "expert", lambda env, seed: seed)
    monkeypatch.setattr(m, "play_episode", lambda env, act, seed, **kw: played.append((env.kwargs, seed, kw)) or Episode())
    assert m.measure("libero_object/3", "layout@2", 2) == [True, True]
    from grids.bench.rollout import EVAL_SEED_BASE

    assert [(s, kw["init_state"]) for _, s, kw in played] == [(EVAL_SEED_BASE, 0), (EVAL_SEED_BASE + 1, 1)]
    assert all(k["perturbation"] == "layout@2" and k["render"] is False for k, _, _ in played)
