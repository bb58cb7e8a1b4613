"""ALOHA bimanual simulation (gym-aloha 0.1.5) as a ``SimEnv`` (``grids.sim.base``), like MetaWorld's and LIBERO's.

One observation (``obs``)::

    images       uint8   [V, S, S, 3]   one view per name in ``cameras`` (default: 0 ``top``, 1 ``angle``)
    state        float32 [14]           joint positions, left arm then right arm: 6 joints (rad) + gripper
                                        opening (0 closed, 1 open)
    instruction  str                    ALOHA_INSTRUCTIONS[task]
    task         str

Actions are float32 [14] absolute joint-position targets in the layout of ``state``, at 50 Hz (10 physics
steps of 2 ms). The reward is the task's contact stage, 0-4 (``REWARD_STAGES``); success is the top stage,
4. ``max_steps`` defaults to the tasks' own 300; ``info["max_reward"]`` is the episode's best stage so far.

Object poses are not in ``state``; ``env.object_poses()`` gives them to the scripted experts.

Rendering: gym-aloha draws three 640x480 cameras with 4096² shadows and 4x MSAA on every step whatever
size is asked for (3.7 steps/s on a CPU). Here the task's observation skips rendering, and one renderer
draws only ``cameras``, at ``image_size``, without shadows or multisampling; ``render=False`` renders nothing
(for expert replays that need no pixels).

Seeding: ``reset(seed=s)`` places the objects with gym-aloha's own samplers seeded by ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grids.errors import UserError
from grids.sim.base import DEFAULT_CAMERA, SimEnv
from grids.sim.perturbations import Perturbation, get_perturbation


class MissingDependency(ImportError, UserError):
    """An optional extra is not installed."""


try:
    from dm_control import mujoco as dm_mujoco
    from dm_control.rl import control
    from gym_aloha import constants
    from gym_aloha.tasks import sim as joint_tasks
    from gym_aloha.tasks import sim_end_effector  # noqa: F401  (for grids.sim.aloha_experts)
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


class AlohaEnv(SimEnv):
    action_dim = ACTION_DIM
    action_dtype = np.float64

    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        perturbation: str | Perturbation = "none",
        max_steps: int | None = None,
        camera: str | None = None,
        cameras: tuple[str, ...] | None = None,
        render: bool = True,
    ):
        """``camera``: None, ``"top"`` (or ``DEFAULT_CAMERA``) for the default views; ``cameras``: which of
        ``KNOWN_CAMERAS`` to render instead, in order."""
        if task not in ALOHA_TASKS:
            raise ValueError(f"unknown ALOHA task {task!r}; known ALOHA tasks: {sorted(ALOHA_TASKS)}")
        cameras = self.views(camera) if cameras is None else cameras
        if isinstance(cameras, str):  # tuple("top") would be five one-letter cameras
            raise ValueError(f"cameras must be a tuple of camera names, got {cameras!r}")
        unknown = [name for name in cameras if name not in KNOWN_CAMERAS]
        if not cameras or unknown or len(set(cameras)) != len(tuple(cameras)):
            raise ValueError(
                f"cameras must be distinct names from {KNOWN_CAMERAS}, got {cameras!r} (render=False renders none)"
            )
        super().__init__(
            task, instruction=ALOHA_INSTRUCTIONS[task], image_size=image_size, seed=seed, max_steps=max_steps,
            perturbation=perturbation, camera_names=tuple(cameras), render=render,
        )  # fmt: skip
        self._env = control_env(ALOHA_TASKS[task].xml, _JOINT_TASKS[task]())
        self._physics = self._env.physics
        self._open_renderer(self._physics.model.ptr)
        self._max_reward = 0.0

    @classmethod
    def instructions(cls) -> dict[str, str]:
        return ALOHA_INSTRUCTIONS

    @classmethod
    def views(cls, camera: str | None = None) -> tuple[str, ...]:
        if camera not in (None, DEFAULT_CAMERA, DEFAULT_CAMERAS[0]):
            raise ValueError(f"ALOHA tasks render gym-aloha's top and angle cameras, not {camera!r}")
        return DEFAULT_CAMERAS

    @classmethod
    def default_max_steps(cls, task: str) -> int:
        return DEFAULT_MAX_STEPS

    @classmethod
    def check_perturbation(cls, task: str, perturbation: str | Perturbation) -> Perturbation:
        if perturbation != "none":
            raise ValueError(
                f"ALOHA tasks have no perturbations yet, got perturbation={perturbation!r} for {task}"
            )
        return get_perturbation("none")

    @classmethod
    def dataset_config(cls) -> dict[str, Any]:
        return {"suite": "aloha"}  # MetaWorld's configs have no suite (older datasets still resume)

    @property
    def unwrapped(self) -> control.Environment:
        return self._env

    def _reset(self, seed: int) -> dict[str, Any]:
        # gym-aloha's joint tasks read the object poses from this module global in initialize_episode.
        joint_tasks.BOX_POSE[0] = object_poses(self.task, seed)
        self._env.reset()
        self._max_reward = 0.0
        return {"max_reward": 0.0}

    def _step(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        reward = float(self._env.step(action).reward)
        self._max_reward = max(self._max_reward, reward)
        return reward, reward >= MAX_REWARD, {"max_reward": self._max_reward}

    def object_poses(self) -> np.ndarray:
        """The objects' current poses (xyz + quat wxyz each): ``[7]`` or ``[14]``; for experts, never the policy."""
        return self._physics.data.qpos[16:].copy()

    def state(self) -> np.ndarray:
        qpos = joint_tasks.BimanualViperXTask.get_qpos(self._physics)  # [14], grippers normalised to [0, 1]
        return qpos.astype(np.float32)

    def _render_view(self, index: int) -> np.ndarray:
        self._renderer.update_scene(self._physics.data.ptr, camera=self.camera_names[index])
        return self._renderer.render()


def make_aloha_env(
    task: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    max_steps: int | None = None,
    cameras: tuple[str, ...] = DEFAULT_CAMERAS,
    render: bool = True,
) -> AlohaEnv:
    """An ALOHA task (``transfer-cube``, ``insertion``) with ``cameras`` views; see the module docstring."""
    return AlohaEnv(
        task, image_size=image_size, seed=seed, max_steps=max_steps, cameras=cameras, render=render
    )
