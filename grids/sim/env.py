"""A gymnasium-style MetaWorld wrapper with two camera views and a 4-d proprioceptive state.

One observation (``obs``)::

    images       uint8   [2, S, S, 3]   0: third-person camera, 1: gripper camera (CAMERA_NAMES)
    state        float32 [4]            end-effector xyz (m) + gripper opening in [0, 1]
    instruction  str                    INSTRUCTIONS[task]
    task         str

Object and goal positions are deliberately *not* in ``state``: the policy has to see them. The full
MetaWorld observation (which the scripted experts need) stays inside the env as ``env.privileged_obs``.

Seeding: ``reset(seed=s)`` draws the task's object/goal placement and the perturbation from ``s`` alone, so
equal seeds give equal episodes. ``reset()`` without a seed uses ``make_env(seed=...)`` the first time and
then the previous episode's seed + 1.
"""

from __future__ import annotations

import zlib
from typing import Any

import mujoco
import numpy as np

from grids.sim.perturbations import HEADLIGHT_FIELDS, MODEL_FIELDS, Perturbation, get_perturbation
from grids.sim.tasks import INSTRUCTIONS

# "corner3" sees the whole table (every MetaWorld goal region); it renders upside-down, so we rotate it 180°.
CAMERA_NAMES = ("corner3", "gripperPOV")
_FLIPPED = {"corner", "corner2", "corner3", "corner4"}
DEFAULT_MAX_STEPS = (
    200  # the scripted experts succeed within ~150 steps on MT10 (MetaWorld's own limit is 500)
)


class MetaWorldEnv:
    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        perturbation: str | Perturbation = "none",
        max_steps: int | None = None,
    ):
        if task not in INSTRUCTIONS:
            raise ValueError(f"unknown task {task!r}; known MetaWorld v3 tasks: {sorted(INSTRUCTIONS)}")
        if not isinstance(image_size, int) or isinstance(image_size, bool) or not 16 <= image_size <= 1024:
            raise ValueError(f"image_size must be an int in [16, 1024], got {image_size!r}")
        max_steps = DEFAULT_MAX_STEPS if max_steps is None else max_steps
        if not isinstance(max_steps, int) or not 1 <= max_steps <= 500:
            raise ValueError(f"max_steps must be an int in [1, 500], got {max_steps!r}")
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML1_ARGS_KWARGS

        self.task = task
        self.instruction = INSTRUCTIONS[task]
        self.image_size = image_size
        self.max_steps = max_steps
        self.perturbation = get_perturbation(perturbation)
        self._next_seed = int(seed)
        self.episode_seed: int | None = None

        self._mw = ALL_V3_ENVIRONMENTS[task]()
        # Draw object/goal placement from the env's own seeded generator instead of a frozen task list.
        self._mw._set_task_called = True
        self._mw._freeze_rand_vec = False
        self._mw.seeded_rand_vec = True
        # The goal must be in the privileged observation: the experts steer towards it.
        self._mw._partially_observable = False
        vars(self._mw).pop("sawyer_observation_space", None)  # cached for the goal-hidden variant
        self._mw.max_path_length = max_steps
        task_kwargs = {k: v for k, v in ML1_ARGS_KWARGS[task]["kwargs"].items() if k != "task_id"}
        self._mw._set_task_inner(**task_kwargs)

        model = self._mw.model
        # MetaWorld asks for 4096² shadow maps and 4x MSAA; on a software GL that is ~7x slower.
        model.vis.quality.shadowsize = 0
        model.vis.quality.offsamples = 0
        self._renderer = mujoco.Renderer(model, image_size, image_size)
        self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        self._camera_ids = [
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) for name in CAMERA_NAMES
        ]
        self._model_defaults = {field: getattr(model, field).copy() for field in MODEL_FIELDS}
        self._headlight_defaults = {f: getattr(model.vis.headlight, f).copy() for f in HEADLIGHT_FIELDS}
        self._rng = np.random.default_rng(0)
        self.privileged_obs: np.ndarray | None = None  # MetaWorld's 39-d observation, for experts only
        self._steps = 0

    @property
    def unwrapped(self):
        return self._mw

    def reset(self, seed: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        seed = self._next_seed if seed is None else int(seed)
        self.episode_seed, self._next_seed = seed, seed + 1
        model = self._mw.model
        for field, value in self._model_defaults.items():
            getattr(model, field)[:] = value
        for field, value in self._headlight_defaults.items():
            setattr(model.vis.headlight, field, value)
        self._mw.seed(seed)
        self.privileged_obs, _ = self._mw.reset()
        # Independent stream per (seed, perturbation): perturbations do not shift each other's draws.
        self._rng = np.random.default_rng([seed, zlib.crc32(self.perturbation.name.encode())])
        self.perturbation.apply(model, self._rng, self._camera_ids[0])
        mujoco.mj_forward(model, self._mw.data)  # recompute camera/light poses from the (perturbed) model
        self._steps = 0
        return self._observation(), {"success": False, "seed": seed}

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.privileged_obs is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (4,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be a finite array of shape (4,), got {action!r}")
        self.privileged_obs, reward, _, _, mw_info = self._mw.step(np.clip(action, -1.0, 1.0))
        self._steps += 1
        success = bool(mw_info["success"])
        info = {"success": success, "step": self._steps}
        truncated = self._steps >= self.max_steps and not success
        return self._observation(), float(reward), success, truncated, info

    def render_views(self) -> np.ndarray:
        views = []
        for name, cam_id in zip(CAMERA_NAMES, self._camera_ids, strict=True):
            self._renderer.update_scene(self._mw.data, camera=cam_id)
            image = self._renderer.render()
            views.append(image[::-1, ::-1] if name in _FLIPPED else image)
        return self.perturbation.corrupt(np.stack(views), self._rng)  # [2, S, S, 3]

    def _observation(self) -> dict[str, Any]:
        return {
            "images": self.render_views(),
            "state": self.privileged_obs[:4].astype(np.float32),  # hand xyz + gripper opening
            "instruction": self.instruction,
            "task": self.task,
        }

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._mw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_env(
    task: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    perturbation: str | Perturbation = "none",
    max_steps: int | None = None,
) -> MetaWorldEnv:
    """A MetaWorld task with two 128² camera views; see the module docstring for the observation."""
    return MetaWorldEnv(
        task, image_size=image_size, seed=seed, perturbation=perturbation, max_steps=max_steps
    )
