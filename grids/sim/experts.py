"""MetaWorld's scripted expert policies, driven from our wrapper.

The experts read MetaWorld's full 39-d observation (object and goal positions), which our policy never
sees; the wrapper keeps it as ``env.privileged_obs``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np

from grids.sim.tasks import suite_of


@functools.cache
def _policy(task: str):
    from metaworld.policies import ENV_POLICY_MAP

    if task not in ENV_POLICY_MAP:
        raise ValueError(f"no scripted expert for task {task!r}")
    return ENV_POLICY_MAP[task]()


def expert_action(env, obs=None) -> np.ndarray:
    """The scripted expert's action for ``env``'s current state: float32 [4] (MetaWorld) or [7] (LIBERO) in [-1, 1].

    ``obs`` is accepted for a policy-like call signature and ignored: the expert needs the privileged state.
    """
    if suite_of(env.task) == "libero":
        from grids.sim.libero_experts import expert_action as libero_expert_action

        return libero_expert_action(env)
    if env.privileged_obs is None:
        raise RuntimeError("call env.reset() before expert_action(env)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Constant(s) may be too high" from the experts' P-controllers
        action = _policy(env.task).get_action(env.privileged_obs)
    return np.clip(action, -1.0, 1.0).astype(np.float32)


def expert(env, seed: int) -> Callable[[dict], np.ndarray]:
    """MetaWorld's expert as ``act(obs)`` for the episode ``env.reset(seed)`` starts (``grids.sim.rollout``)."""
    return lambda obs: expert_action(env)
