"""The registry of simulator suites: ``make_env``, the demonstrations and the task lists find a suite here, by
its name or by one of its task names, and import its modules only when it is used (gymnasium's entry points:
LIBERO's or ALOHA's extra need not be installed to use another suite).

Each suite registers beside its task names, in ``grids.sim.tasks``::

    register_suite(Suite("aloha", owns=is_aloha, env="grids.sim.aloha:AlohaEnv",
                         expert="grids.sim.aloha_experts:expert"))

``env`` names its ``SimEnv`` subclass (``grids.sim.base``), ``expert`` a function ``expert(env, seed)`` that
returns the scripted expert for the episode ``env.reset(seed)`` starts (an ``act(obs) -> action``, see
``grids.sim.rollout``), or None if it has none that succeeds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suite:
    name: str  # "metaworld", "libero", "aloha": generate_demos(suite=...), a dataset's config
    owns: Callable[[str], bool]  # whether a task name is this suite's (without importing the suite)
    env: str  # "module:Class" of its SimEnv subclass
    expert: str  # "module:function" of its expert(env, seed)

    def env_class(self) -> type:
        return _load(self.env)

    def expert_for(self, env: Any, seed: int) -> Callable[[dict], Any] | None:
        return _load(self.expert)(env, seed)


SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    if suite.name in SUITES:
        raise ValueError(f"a suite named {suite.name!r} is already registered ({SUITES[suite.name].env})")
    SUITES[suite.name] = suite
    return suite


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; known suites: {list(SUITES)}")
    return SUITES[name]


def _load(entry_point: str) -> Any:
    module, _, name = entry_point.partition(":")
    return getattr(importlib.import_module(module), name)
