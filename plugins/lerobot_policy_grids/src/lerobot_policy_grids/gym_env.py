"""One of our simulators (a ``grids.sim`` ``SimEnv``) as a ``gym.Env`` with LeRobot's observation layout.

The base of ``--env.type=grids_metaworld`` and ``grids_libero``: a subclass builds its env and calls
``_wrap(env, image_size, state_dim, action_dim)``, then resets it its own way (``reset``); stepping, rendering
the last frame for lerobot-eval's videos and closing are the same for every suite.

    observation = {"pixels": {camera: uint8 [S, S, 3]}, "agent_pos": float32 [state_dim]}
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class SimGymEnv(gym.Env):
    def _wrap(self, env, *, image_size: int, state_dim: int, action_dim: int) -> None:
        self._env = env
        self.task_description = env.instruction
        self.camera_names = tuple(env.camera_names)
        self._max_episode_steps = env.max_steps  # lerobot-eval reads it: its rollout's step limit
        self.render_mode = "rgb_array"
        image = spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8)
        self.observation_space = spaces.Dict(
            {
                "pixels": spaces.Dict({camera: image for camera in self.camera_names}),
                "agent_pos": spaces.Box(-np.inf, np.inf, (state_dim,), dtype=np.float32),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (action_dim,), dtype=np.float32)
        self._last_images: np.ndarray | None = None  # [V, S, S, 3]

    def _observation(self, obs: dict[str, Any]) -> dict[str, Any]:
        self._last_images = obs["images"]
        pixels = {camera: obs["images"][v] for v, camera in enumerate(self.camera_names)}
        return {"pixels": pixels, "agent_pos": obs["state"]}

    def step(self, action: np.ndarray):
        obs, reward, terminated, truncated, info = self._env.step(np.asarray(action, dtype=np.float32))
        return self._observation(obs), reward, terminated, truncated, {**info, "is_success": info["success"]}

    def render(self) -> np.ndarray:
        """The third-person view of the last observation (lerobot-eval's videos); nothing is rendered again."""
        if self._last_images is None:
            raise RuntimeError("call reset() before render()")
        return self._last_images[0]

    def close(self) -> None:
        self._env.close()
