"""One closed-loop episode of a trained policy in its simulator: the loop evaluation and the point figures share.

The policy predicts an action chunk and executes its first ``execute_steps`` actions before predicting again
(receding horizon). Evaluation episodes use fixed seeds (``EVAL_SEED_BASE + i``, disjoint in practice from
the demonstrations' seeds), so every policy meets the same episodes; LIBERO episodes start from its official
init states (``starts="official"``: episode i from state i) or from fresh placements drawn from their seeds.
"""

from __future__ import annotations

import time

import numpy as np
import torch

EVAL_SEED_BASE = 100_000
STARTS = ("official", "fresh")


@torch.no_grad()
def _coords(policy, obs: dict, language: torch.Tensor) -> np.ndarray:
    return policy.visual_tokens(torch.from_numpy(obs["images"])[None], language).coords[0].numpy()


def _language(policy, env, obs: dict, task_index: torch.Tensor) -> torch.Tensor:
    """``[1, 384]``: the training instruction's embedding, or that of the reworded one the env gave."""
    if obs["instruction"] == env.instruction:
        return policy.instruction_embeddings[task_index]
    from grids.bench.language import embed_instructions

    return embed_instructions([obs["instruction"]])


def _predict(policy, obs: dict, task_index: torch.Tensor, language: torch.Tensor):
    """-> ``(actions [1, chunk, action_dim], coords [1, V, K', 2], seconds)`` for the current observation."""
    tic = time.perf_counter()
    batch = {
        "images": torch.from_numpy(obs["images"])[None],  # [1, V, S, S, 3]
        "state": torch.from_numpy(obs["state"])[None],  # [1, state_dim]
        "task_index": task_index,
        "language": language,
    }
    actions, coords = policy.predict(batch)
    return actions, coords, time.perf_counter() - tic


def run_episode(
    policy,
    env,
    seed: int,
    *,
    init_state: int | None = None,
    execute_steps: int | None = None,
    record: bool = False,
) -> dict:
    """One closed-loop episode. ``record`` keeps the frames, the reducer's coords and the privileged
    image positions of gripper, object and goal (diagnostics) of every frame. ``init_state``: LIBERO's
    official initial state to start from (the seed then only draws the perturbation)."""
    cfg = policy.cfg
    execute_steps = execute_steps or max(cfg.chunk_size // 2, 1)
    obs, _ = env.reset(seed=seed) if init_state is None else env.reset(seed=seed, init_state=init_state)
    if obs["task"] not in cfg.tasks:
        raise ValueError(f"task {obs['task']!r} was not in the policy's training tasks {cfg.tasks}")
    task_index = torch.tensor([cfg.tasks.index(obs["task"])])
    language = _language(policy, env, obs, task_index)
    success, steps, policy_seconds, calls = False, 0, 0.0, 0
    recording = {"frames": [], "coords": [], "positions": []}
    plan: list[np.ndarray] = []
    for steps in range(1, env.max_steps + 1):  # noqa: B007
        called = not plan
        if called:
            actions, coords, seconds = _predict(policy, obs, task_index, language)
            policy_seconds, calls = policy_seconds + seconds, calls + 1
            # In the env's units, unclamped: MetaWorld and LIBERO clip to [-1, 1] themselves, ALOHA's
            # actuators to each joint's range.
            plan = list(actions[0, :execute_steps].numpy())
        if record:  # where the reducer reads in *this* frame (the plan may come from an earlier one)
            _record_frame(recording, policy, env, obs, language, coords[0].numpy() if called else None)
        # Render only the frames the policy (or the record) will see: LIBERO's two views cost ~4x its physics.
        obs, _, terminated, truncated, info = env.step(plan.pop(0), render=record or not plan)
        if info["success"]:
            success = True
            break
        if terminated or truncated:
            break
    out = {
        "seed": seed,
        **({} if init_state is None else {"init_state": init_state}),
        "success": success,
        "length": steps,
        "policy_seconds": policy_seconds,
        "policy_calls": calls,
        **({"max_reward": info["max_reward"]} if "max_reward" in info else {}),  # ALOHA: best stage reached
        **({"lifted": info["lifted"], "target": info["target"]} if "target" in info else {}),  # LIBERO
    }
    return {**out, **_stacked(recording)} if record else out


def _record_frame(recording: dict, policy, env, obs: dict, language, coords: np.ndarray | None) -> None:
    """Keep this frame, where the reducer reads in it (``coords`` of this frame's call, else computed anew) and
    the privileged image positions of MetaWorld and LIBERO (``content_statistics``)."""
    recording["frames"].append(obs["images"])
    recording["coords"].append(coords if coords is not None else _coords(policy, obs, language))
    if hasattr(env, "privileged_positions"):
        recording["positions"].append(env.privileged_positions())


def _stacked(recording: dict) -> dict:
    """frames ``[T, V, S, S, 3]``, coords ``[T, V, K', 2]`` and (if any) positions ``[T, P, 2]``: gripper,
    object(s), goal in the third-person view."""
    return {name: np.stack(values) for name, values in recording.items() if values}


def official_init_state(task: str, seed: int, starts: str = "official") -> int | None:
    """LIBERO's official protocol: evaluation episode i starts from LIBERO's fixed init state i (of 50);
    MetaWorld episodes, and LIBERO's with ``starts="fresh"``, are drawn from their seed (None)."""
    from grids.sim.tasks import is_libero

    return seed - EVAL_SEED_BASE if is_libero(task) and starts == "official" else None


def policy_env(policy, task: str, perturbation: str, max_steps: int | None):
    """The environment ``policy`` was trained for: its image size and third-person camera."""
    from grids.sim import make_env

    cfg = policy.cfg
    return make_env(
        task, image_size=cfg.image_size, perturbation=perturbation, max_steps=max_steps, camera=cfg.camera
    )
