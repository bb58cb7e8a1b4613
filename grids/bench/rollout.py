"""One closed-loop episode of a trained policy in its simulator: the loop evaluation and the point figures share.

The episode is the simulators' one loop (``grids.sim.rollout.play_episode``, as for demonstrations and the
experts' reports), driven by the policy: it predicts an action chunk and executes its first ``execute_steps``
actions before predicting again (receding horizon; default half the chunk, LIBERO's specs openpi's 5). Evaluation episodes use fixed seeds (``EVAL_SEED_BASE + i``, disjoint in practice from
the demonstrations' seeds), so every policy meets the same episodes; LIBERO episodes start from its official
init states (``starts="official"``: episode i from state i) or from fresh placements drawn from their seeds.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from grids.sim.rollout import play_episode

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
    """One closed-loop episode (``grids.sim.rollout.play_episode``). ``record`` keeps the frames, the reducer's
    coords and the privileged image positions of gripper, object and goal (diagnostics) of every frame.
    ``init_state``: LIBERO's official initial state to start from: it fixes the objects and the arm; the seed
    still places the fixtures (cabinet, stove, rack: ~1 cm) and draws the perturbation."""
    actor = _Chunks(policy, env, execute_horizon(policy.cfg.chunk_size, execute_steps), record)
    # Render only the frames the policy (or the record) will see: LIBERO's two views cost ~4x its physics.
    episode = play_episode(env, actor, seed, init_state=init_state, render=actor.looks_next)
    info = episode.info
    out = {
        "seed": seed,
        **({} if init_state is None else {"init_state": init_state}),
        "success": episode.success,
        "length": episode.length,
        "policy_seconds": actor.seconds,
        "policy_calls": actor.calls,
        **({"max_reward": info["max_reward"]} if "max_reward" in info else {}),  # ALOHA: best stage reached
        **({"lifted": info["lifted"], "target": info["target"]} if "target" in info else {}),  # LIBERO
    }
    return {**out, **_stacked(actor.recording)} if record else out


def execute_horizon(chunk_size: int, execute_steps: int | None) -> int:
    """How many actions of each predicted chunk run before the next prediction: ``execute_steps`` (openpi's LIBERO
    client replans every 5 of its 50), or half the chunk when None."""
    if execute_steps is None:
        return max(chunk_size // 2, 1)
    if not isinstance(execute_steps, int) or isinstance(execute_steps, bool) or not 1 <= execute_steps <= chunk_size:
        raise ValueError(f"execute_steps must be an int in 1..{chunk_size} (the policy's chunk), got {execute_steps!r}")
    return execute_steps


class _Chunks:
    """The policy as ``act(obs)``: it predicts an action chunk and executes its first ``execute_steps`` actions
    before predicting again (receding horizon); timed, and recording every frame if asked."""

    def __init__(self, policy, env, execute_steps: int, record: bool):
        self.policy, self.env, self.execute_steps, self.record = policy, env, execute_steps, record
        self.plan: list[np.ndarray] = []
        # from the first observation: the env may reword the instruction (LIBERO's "language" perturbation)
        self.task_index = self.language = None
        self.seconds, self.calls = 0.0, 0
        self.recording = {"frames": [], "coords": [], "positions": []}

    def __call__(self, obs: dict) -> np.ndarray:
        if self.language is None:
            self._start(obs)
        called = not self.plan
        if called:
            actions, coords, seconds = _predict(self.policy, obs, self.task_index, self.language)
            self.seconds, self.calls = self.seconds + seconds, self.calls + 1
            # In the env's units, unclamped: MetaWorld and LIBERO clip to [-1, 1] themselves, ALOHA's
            # actuators to each joint's range.
            self.plan = list(actions[0, : self.execute_steps].numpy())
        if self.record:  # where the reducer reads in *this* frame (the plan may come from an earlier one)
            coords = coords[0].numpy() if called else None
            _record_frame(self.recording, self.policy, self.env, obs, self.language, coords)
        return self.plan.pop(0)

    def _start(self, obs: dict) -> None:
        tasks = self.policy.cfg.tasks
        if obs["task"] not in tasks:
            raise ValueError(f"task {obs['task']!r} was not in the policy's training tasks {tasks}")
        self.task_index = torch.tensor([tasks.index(obs["task"])])
        self.language = _language(self.policy, self.env, obs, self.task_index)

    def looks_next(self) -> bool:
        """Whether the next observation's images are needed: by the next prediction, or by the record."""
        return self.record or not self.plan


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
