"""One episode in any suite, driven by anything that maps an observation to an action: the loop that the
demonstrations (``rollout_expert``, ``grids.sim.generate``), the experts' reports (``benchmarks/*_experts.py``)
and the evaluation of a trained policy (``grids.bench.rollout``) share.

    episode = play_episode(env, act, seed=0)            # act(obs) -> action, until success or the step limit
    episode.success, episode.length, episode.info      # info: the last step's (ALOHA's max_reward, ...)
    demo = rollout_expert(env, seed=0)                  # the suite's scripted expert, frames kept, or None
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grids.sim.suites import SUITES
from grids.sim.tasks import check_task

Act = Callable[[dict[str, Any]], np.ndarray]


@dataclass(frozen=True)
class Episode:
    success: bool
    length: int  # steps taken
    info: dict[str, Any]  # the last step's
    frames: dict[str, np.ndarray] | None  # with keep_frames: the demonstration arrays (see play_episode)


def play_episode(
    env,
    act: Act,
    seed: int,
    *,
    init_state: int | None = None,
    max_steps: int | None = None,
    render: bool | Callable[[], bool] = True,
    keep_frames: bool = False,
) -> Episode:
    """``env.reset(seed)`` (LIBERO: from its official ``init_state``), then ``env.step(act(obs))`` until the
    episode ends (success or ``env.max_steps``; ``max_steps``: at most that many steps).

    ``render``: whether each step renders the next observation's images; a function is asked after every
    ``act`` (a policy that reuses an action chunk renders only the frames it will see). ``keep_frames``: keep
    ``images`` [T, V, S, S, 3] uint8 (the observation before action t), ``state`` [T, D] float32, ``actions``
    [T, A] float32, ``reward`` [T] float32, ``success`` [T] bool (True only at the last step of a success).
    """
    obs, info = env.reset(seed=seed) if init_state is None else env.reset(seed=seed, init_state=init_state)
    frames: dict[str, list] = {"images": [], "state": [], "actions": [], "reward": [], "success": []}
    length = 0
    for length in range(1, (env.max_steps if max_steps is None else max_steps) + 1):  # noqa: B007
        action = act(obs)
        if keep_frames:
            frames["images"].append(obs["images"])
            frames["state"].append(obs["state"])
            frames["actions"].append(action)
        render_next = render() if callable(render) else render
        obs, reward, terminated, truncated, info = env.step(action, render=render_next)
        if keep_frames:
            frames["reward"].append(reward)
            frames["success"].append(info["success"])
        if terminated or truncated:
            break
    return Episode(bool(info["success"]), length, info, _stacked(frames) if keep_frames else None)


def _stacked(frames: dict[str, list]) -> dict[str, np.ndarray]:
    return {
        "images": np.stack(frames["images"]),
        "state": np.stack(frames["state"]).astype(np.float32),
        "actions": np.stack(frames["actions"]).astype(np.float32),
        "reward": np.asarray(frames["reward"], dtype=np.float32),
        "success": np.asarray(frames["success"], dtype=bool),
    }


def rollout_expert(env, seed: int) -> dict[str, np.ndarray] | None:
    """One demonstration of the suite's scripted expert from ``env.reset(seed)``: the frames up to and including
    the first success (``play_episode``'s ``keep_frames``), or None if the expert fails."""
    act = SUITES[check_task(env.task)].expert_for(env, seed)
    if act is None:
        return None
    episode = play_episode(env, act, seed, keep_frames=True)
    return episode.frames if episode.success else None
