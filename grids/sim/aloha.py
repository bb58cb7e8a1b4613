"""ALOHA bimanual simulation (gym-aloha 0.1.5) with the same observation interface as ``MetaWorldEnv``.

One observation (``obs``)::

    images       uint8   [V, S, S, 3]   one view per name in ``cameras`` (default: 0 ``top``, 1 ``angle``)
    state        float32 [14]           joint positions, left arm then right arm: 6 joints (rad) + gripper
                                        opening (0 closed, 1 open)
    instruction  str                    ALOHA_INSTRUCTIONS[task]
    task         str

Actions are float32 [14] absolute joint-position targets in the layout of ``state``, at 50 Hz (10 physics
steps of 2 ms). The reward is the task's contact stage, 0-4 (``REWARD_STAGES``); success is the top stage,
4. ``step`` returns ``terminated=True`` at the first success and ``truncated=True`` after ``max_steps``
(the tasks' own 300) without one; ``info["max_reward"]`` is the episode's best stage so far.

Object poses are not in ``state``; ``env.object_poses()`` gives them to the scripted experts.

Rendering: gym-aloha draws three 640x480 cameras with 4096² shadows and 4x MSAA on every step whatever
size is asked for (3.7 steps/s on a CPU). Here the task's observation skips rendering, and one renderer
draws only ``cameras``, at ``image_size``, without shadows or multisampling. ``cameras=()`` renders nothing
(``images`` is then ``[0, S, S, 3]``): for expert rollouts that need no pixels.

Seeding: ``reset(seed=s)`` places the objects with gym-aloha's own samplers seeded by ``s``, so equal seeds
give equal episodes; ``reset()`` without a seed uses ``make_aloha_env(seed=...)`` first, then the previous + 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grids.errors import UserError
from grids.sim.env import (
    check_action,
    check_image_size,
    check_max_steps,
    check_open,
    check_seed,
    close_at_exit,
    open_renderer,
)


class MissingDependency(ImportError, UserError):
    """An optional extra is not installed."""


try:
    from dm_control import mujoco as dm_mujoco
    from dm_control.rl import control
    from gym_aloha import constants
    from gym_aloha.tasks import sim as joint_tasks
    from gym_aloha.utils import sample_box_pose, sample_insertion_pose
except ImportError as err:  # an optional extra: say how to get it rather than a bare ModuleNotFoundError
    raise MissingDependency(
        f"ALOHA needs gym-aloha 0.1.5 and dm-control 1.0.28 ({err}); install them with "
        "`pip install -e '.[aloha]'` (scripts/setup.sh does)"
    ) from err


@dataclass(frozen=True)
class AlohaTask:
    xml: str  # joint-position scene in gym_aloha/assets
    end_effector_xml: str  # the same scene with mocap bodies welded to the grippers (for the experts)
    instruction: str
    stages: tuple[str, ...]  # what reward 1, 2, 3, 4 mean


ALOHA_TASKS: dict[str, AlohaTask] = {
    "transfer-cube": AlohaTask(
        xml="bimanual_viperx_transfer_cube.xml",
        end_effector_xml="bimanual_viperx_end_effector_transfer_cube.xml",
        instruction="pick up the red cube with the right arm and hand it over to the left arm",
        stages=(
            "right gripper touches the cube",
            "right gripper lifts it",
            "left gripper touches it",
            "left gripper holds it off the table",
        ),
    ),  # fmt: skip
    "insertion": AlohaTask(
        xml="bimanual_viperx_insertion.xml",
        end_effector_xml="bimanual_viperx_end_effector_insertion.xml",
        instruction="insert the red peg into the blue socket",
        stages=(
            "each gripper touches its object",
            "both objects lifted",
            "peg touches the socket in the air",
            "peg touches the pin inside the socket",
        ),
    ),  # fmt: skip
}
ALOHA_INSTRUCTIONS = {name: task.instruction for name, task in ALOHA_TASKS.items()}
REWARD_STAGES = {name: task.stages for name, task in ALOHA_TASKS.items()}
MAX_REWARD = 4
# gym-aloha's scene cameras ("top" looks straight down on the table, "angle" from the front, above the
# arms' bases); the wrist cameras see little more than their own gripper.
KNOWN_CAMERAS = ("top", "angle", "front_close", "left_pillar", "right_pillar", "left_wrist", "right_wrist")
DEFAULT_CAMERAS = ("top", "angle")
DEFAULT_MAX_STEPS = 300  # gym-aloha registers both tasks with max_episode_steps=300
STATE_DIM = ACTION_DIM = 14


def resolve_aloha_tasks(spec: str) -> list[str]:
    """``"all"`` or comma-separated ALOHA task names -> task names."""
    if not isinstance(spec, str):
        raise ValueError(f"the ALOHA task list must be a str such as 'all' or 'insertion', got {spec!r}")
    names = list(ALOHA_TASKS) if spec.strip() == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [name for name in names if name not in ALOHA_TASKS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(
            f"bad ALOHA task list {spec!r} (unknown: {unknown}); use 'all' or comma-separated names, "
            f"each once; known ALOHA tasks: {sorted(ALOHA_TASKS)}"
        )
    return names


def object_poses(task: str, seed: int) -> np.ndarray:
    """The objects' initial free-joint poses for ``seed`` (xyz + quat wxyz each): ``[7]`` cube, ``[14]`` peg + socket."""
    if task == "transfer-cube":
        return sample_box_pose(seed)
    return np.concatenate(sample_insertion_pose(seed))


def _without_images(task_cls: type) -> type:
    """``task_cls`` whose observation skips gym-aloha's three 640x480 renders (we render what we return)."""

    def get_observation(self, physics) -> dict[str, np.ndarray]:
        return {"qpos": self.get_qpos(physics), "env_state": self.get_env_state(physics)}

    return type(f"{task_cls.__name__}NoRender", (task_cls,), {"get_observation": get_observation})


_JOINT_TASKS = {
    "transfer-cube": _without_images(joint_tasks.TransferCubeTask),
    "insertion": _without_images(joint_tasks.InsertionTask),
}


def control_env(xml: str, task: Any) -> control.Environment:
    """A dm_control environment for a gym-aloha scene and task, stepping at 50 Hz."""
    physics = dm_mujoco.Physics.from_xml_path(str(constants.ASSETS_DIR / xml))
    return control.Environment(
        physics, task, time_limit=float("inf"), control_timestep=constants.DT, flat_observation=False
    )


class AlohaEnv:
    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        max_steps: int | None = None,
        cameras: tuple[str, ...] = DEFAULT_CAMERAS,
    ):
        if task not in ALOHA_TASKS:
            raise ValueError(f"unknown ALOHA task {task!r}; known ALOHA tasks: {sorted(ALOHA_TASKS)}")
        check_image_size(image_size)
        max_steps = check_max_steps(DEFAULT_MAX_STEPS if max_steps is None else max_steps, 1000)
        seed = check_seed(seed)
        if isinstance(cameras, str):  # tuple("top") would be five one-letter cameras
            raise ValueError(f"cameras must be a tuple of camera names, got {cameras!r}")
        cameras = tuple(cameras)
        unknown = [name for name in cameras if name not in KNOWN_CAMERAS]
        if unknown or len(set(cameras)) != len(cameras):
            raise ValueError(f"cameras must be distinct names from {KNOWN_CAMERAS}, got {cameras!r}")

        self.task = task
        self.instruction = ALOHA_INSTRUCTIONS[task]
        self.image_size = image_size
        self.camera_names = cameras
        self.max_steps = max_steps
        self._next_seed = seed
        self.episode_seed: int | None = None
        self._closed = False
        self._env = control_env(ALOHA_TASKS[task].xml, _JOINT_TASKS[task]())
        self._physics = self._env.physics
        self._renderer = open_renderer(self._physics.model.ptr, image_size) if cameras else None
        close_at_exit(self)
        self._steps = 0
        self._max_reward = 0.0
        self._started = False

    @property
    def unwrapped(self) -> control.Environment:
        return self._env

    def reset(self, seed: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        check_open(self, self._closed)
        seed = self._next_seed if seed is None else check_seed(seed)
        self.episode_seed, self._next_seed = seed, seed + 1
        # gym-aloha's joint tasks read the object poses from this module global in initialize_episode.
        joint_tasks.BOX_POSE[0] = object_poses(self.task, seed)
        self._env.reset()
        self._steps, self._max_reward, self._started = 0, 0.0, True
        return self._observation(), {"success": False, "seed": seed, "max_reward": 0.0}

    def step(
        self, action: np.ndarray, *, render: bool = True
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        check_open(self, self._closed)
        if not self._started:
            raise RuntimeError("call reset() before step()")
        action = check_action(action, ACTION_DIM, np.float64)
        timestep = self._env.step(action)
        self._steps += 1
        reward = float(timestep.reward)
        self._max_reward = max(self._max_reward, reward)
        success = reward >= MAX_REWARD
        info = {"success": success, "step": self._steps, "max_reward": self._max_reward}
        truncated = self._steps >= self.max_steps and not success
        return self._observation(render), reward, success, truncated, info

    def object_poses(self) -> np.ndarray:
        """The objects' current poses (xyz + quat wxyz each): ``[7]`` or ``[14]``; for experts, never the policy."""
        return self._physics.data.qpos[16:].copy()

    def render_views(self) -> np.ndarray:
        """``[V, S, S, 3]`` uint8, one image per camera in ``camera_names``."""
        views = []
        for name in self.camera_names:
            self._renderer.update_scene(self._physics.data.ptr, camera=name)
            views.append(self._renderer.render())
        return np.stack(views) if views else np.zeros((0, self.image_size, self.image_size, 3), np.uint8)

    def _observation(self, render: bool = True) -> dict[str, Any]:
        qpos = joint_tasks.BimanualViperXTask.get_qpos(self._physics)  # [14], grippers normalised to [0, 1]
        return {
            "images": self.render_views() if render else None,
            "state": qpos.astype(np.float32),
            "instruction": self.instruction,
            "task": self.task,
        }

    def close(self) -> None:
        self._closed = True
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_aloha_env(
    task: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    max_steps: int | None = None,
    cameras: tuple[str, ...] = DEFAULT_CAMERAS,
) -> AlohaEnv:
    """An ALOHA task (``transfer-cube``, ``insertion``) with ``cameras`` views; see the module docstring."""
    return AlohaEnv(task, image_size=image_size, seed=seed, max_steps=max_steps, cameras=cameras)
