"""Our MetaWorld environment (``grids.sim.metaworld.MetaWorldEnv``) behind LeRobot's gym interface:
``lerobot-eval --env.type=grids_metaworld --env.task=reach-v3,drawer-close-v3``.

Why not LeRobot's own ``--env.type=metaworld``: it shows a policy one camera, ``observation.image``, 480²
from MetaWorld's ``corner2`` slot moved to (0.75, 0.075, 0.7), rendered with MetaWorld's 4096² shadow
map and 4x MSAA (about 1 step/s on this machine's software GL, for a 500-step episode limit). A policy
trained on ``grids data export`` sees the cameras our demos were recorded with (``workspace`` or
``corner3``, and ``gripperPOV``, S² each, as ``observation.images.<camera>``) and would get neither.
Here each sub-environment is our env, so the policy sees exactly the export's features:

| gym observation                       | LeRobot (``preprocess_observation``) | export feature                |
|---------------------------------------|--------------------------------------|-------------------------------|
| ``pixels[<camera>]`` uint8 [S, S, 3]  | ``observation.images.<camera>``      | ``observation.images.<camera>`` |
| ``agent_pos`` float32 [4]             | ``observation.state``                | ``observation.state``         |

``task_description`` is the task's instruction (the export's ``task`` string). An episode ends at the
first success (``info["is_success"]``) or after ``episode_length`` steps. Episode seeds are
``lerobot-eval``'s (``--seed``, default 1000, + episode index); object and goal placement are drawn
from them by our env (``MetaWorldEnv.reset(seed)``), so a seed gives the same episode every time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import gymnasium as gym
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from grids.sim.lerobot_export import LAYOUTS
from lerobot_policy_grids.gym_env import SimGymEnv

LAYOUT = LAYOUTS["metaworld"]  # what `grids data export` writes for MetaWorld demos: one definition for both
GRIPPER_CAMERA = "gripperPOV"  # grids.sim.metaworld's; not imported here: that would import mujoco with the plugin


class GridsMetaWorldGymEnv(SimGymEnv):
    """One task of our MetaWorld env as a ``gym.Env`` with LeRobot's observation layout."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": LAYOUT.fps}

    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        camera: str = "workspace",
        max_steps: int = 200,
        perturbation: str = "none",
    ):
        super().__init__()
        from grids.sim.metaworld import MetaWorldEnv

        env = MetaWorldEnv(task, image_size=image_size, camera=camera, max_steps=max_steps, perturbation=perturbation)
        state_dim, action_dim = len(LAYOUT.state_names), len(LAYOUT.action_names)
        self._wrap(env, image_size=image_size, state_dim=state_dim, action_dim=action_dim)  # (third-person, gripperPOV)
        self.task = task

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self._env.reset(seed=seed)
        return self._observation(obs), {"is_success": False, "seed": info["seed"]}


@EnvConfig.register_subclass("grids_metaworld")
@dataclass
class GridsMetaWorldEnvConfig(EnvConfig):
    """``--env.type=grids_metaworld``: ``--env.task`` is one MetaWorld v3 task or several, comma-separated
    (one vector env each, reported as its own group by lerobot-eval); the other fields are our env's."""

    task: str = "reach-v3"
    fps: int = LAYOUT.fps  # MetaWorld's control rate, as in the export
    episode_length: int = 200  # grids.sim.metaworld's default: the scripted experts succeed within ~150 steps
    image_size: int = 128
    camera: str = "workspace"  # the third-person camera the policy was trained with (workspace or corner3)
    perturbation: str = "none"  # grids.sim.perturbations (lighting, camera shift, ...)
    features: dict[str, PolicyFeature] = field(default_factory=dict)
    features_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        image = PolicyFeature(type=FeatureType.VISUAL, shape=(self.image_size, self.image_size, 3))
        self.features = {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(len(LAYOUT.action_names),)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(len(LAYOUT.state_names),)),
        }
        self.features_map = {ACTION: ACTION, "agent_pos": OBS_STATE}
        for camera in (self.camera, GRIPPER_CAMERA):
            self.features[f"pixels/{camera}"] = image
            self.features_map[f"pixels/{camera}"] = f"{OBS_IMAGES}.{camera}"

    @property
    def tasks(self) -> list[str]:
        return [task.strip() for task in (self.task or "").split(",") if task.strip()]

    @property
    def gym_kwargs(self) -> dict:
        return {
            "image_size": self.image_size,
            "camera": self.camera,
            "max_steps": self.episode_length,
            "perturbation": self.perturbation,
        }

    def create_envs(
        self, n_envs: int, use_async_envs: bool = False
    ) -> dict[str, dict[int, gym.vector.VectorEnv]]:
        """``{task: {0: SyncVectorEnv of n_envs copies}}``, one group per task."""
        if not self.tasks:
            raise ValueError(f"--env.task names no MetaWorld task: {self.task!r}")
        if use_async_envs and n_envs > 1:
            logging.warning(
                "grids_metaworld runs its %d env(s) per task in one process (SyncVectorEnv)", n_envs
            )
        envs = {}
        for task in self.tasks:
            factories = [lambda task=task: GridsMetaWorldGymEnv(task, **self.gym_kwargs)] * n_envs
            envs[task] = {
                0: gym.vector.SyncVectorEnv(factories, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
            }
        return envs
