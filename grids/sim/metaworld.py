"""MetaWorld v3 tasks with two camera views and a 4-d proprioceptive state (a ``SimEnv``, see ``grids.sim.base``).

One observation (``obs``)::

    images       uint8   [2, S, S, 3]   0: third-person camera (``camera``), 1: gripper camera
    state        float32 [4]            end-effector xyz (m) + gripper opening in [0, 1]
    instruction  str                    INSTRUCTIONS[task]
    task         str

Actions are float32 [4] (end-effector xyz displacement, gripper close), clipped to [-1, 1]. ``max_steps``
defaults to 200.

Object and goal positions are deliberately *not* in ``state``: the policy has to see them. The full
MetaWorld observation (which the scripted experts need) stays inside the env as ``env.privileged_obs``.

Seeding: ``reset(seed=s)`` draws the task's object/goal placement and the perturbation from ``s`` alone.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from grids.sim.base import DEFAULT_CAMERA, SimEnv
from grids.sim.perturbations import HEADLIGHT_FIELDS, MODEL_FIELDS, Perturbation, get_perturbation
from grids.sim.rendering import mujoco, project_points
from grids.sim.tasks import INSTRUCTIONS, check_task

# Third-person cameras. "workspace" (the default) frames the region where MetaWorld's objects and goals
# are drawn (x in [-0.3, 0.3], y in [0.4, 0.95], z below 0.35) from the front right, so that a 4 cm goal
# sphere covers about one 8 px patch at 128 px (``benchmarks/results/metaworld_views.md``). It is our own
# pose, put on the unused ``corner4`` camera slot. "corner3" (MetaWorld's, 1.7 m away: the goal is 3-4 px)
# is the first benchmark's view, kept to read old datasets and results.
CAMERAS = {
    DEFAULT_CAMERA: {"pos": (0.6, 1.1, 0.6), "look_at": (-0.02, 0.68, 0.1), "fovy": 40.0, "slot": "corner4"},
    "corner3": None,  # as shipped (renders upside-down; rotated 180°)
}
GRIPPER_CAMERA = "gripperPOV"
CAMERA_NAMES = (DEFAULT_CAMERA, GRIPPER_CAMERA)  # the default views, in observation order
_FLIPPED = {"corner", "corner2", "corner3", "corner4"}
# The scripted experts succeed within ~150 steps on MT10 (MetaWorld's own limit is 500).
DEFAULT_MAX_STEPS = 200


class MetaWorldEnv(SimEnv):
    action_dim = 4

    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        perturbation: str | Perturbation = "none",
        max_steps: int | None = None,
        camera: str | None = DEFAULT_CAMERA,
        render: bool = True,
    ):
        if check_task(task) != "metaworld":
            raise ValueError(
                f"{task!r} is not a MetaWorld task: make it with make_env, which knows every suite"
            )
        super().__init__(
            task, instruction=INSTRUCTIONS[task], image_size=image_size, seed=seed, max_steps=max_steps,
            perturbation=perturbation, camera_names=self.views(camera), render=render,
        )  # fmt: skip
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML1_ARGS_KWARGS

        self._mw = ALL_V3_ENVIRONMENTS[task]()
        # Draw object/goal placement from the env's own seeded generator instead of a frozen task list.
        self._mw._set_task_called = True
        self._mw._freeze_rand_vec = False
        self._mw.seeded_rand_vec = True
        # The goal must be in the privileged observation: the experts steer towards it.
        self._mw._partially_observable = False
        vars(self._mw).pop("sawyer_observation_space", None)  # cached for the goal-hidden variant
        self._mw.max_path_length = self.max_steps
        task_kwargs = {k: v for k, v in ML1_ARGS_KWARGS[task]["kwargs"].items() if k != "task_id"}
        self._mw._set_task_inner(**task_kwargs)

        model = self._mw.model
        self._open_renderer(model)
        self._camera_ids = [
            _place_camera(model, self.camera_names[0]),
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, GRIPPER_CAMERA),
        ]
        self._model_defaults = {field: getattr(model, field).copy() for field in MODEL_FIELDS}
        self._headlight_defaults = {f: getattr(model.vis.headlight, f).copy() for f in HEADLIGHT_FIELDS}
        self.privileged_obs: np.ndarray | None = None  # MetaWorld's 39-d observation, for experts only

    @classmethod
    def instructions(cls) -> dict[str, str]:
        return INSTRUCTIONS

    @classmethod
    def views(cls, camera: str | None = None) -> tuple[str, ...]:
        camera = DEFAULT_CAMERA if camera is None else camera
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}; known third-person cameras: {sorted(CAMERAS)}")
        return camera, GRIPPER_CAMERA

    @classmethod
    def default_max_steps(cls, task: str) -> int:
        return DEFAULT_MAX_STEPS

    @classmethod
    def check_perturbation(cls, task: str, perturbation: str | Perturbation) -> Perturbation:
        found = get_perturbation(perturbation)
        if found.libero_only:
            reason = getattr(
                found, "libero_only_reason", "moves LIBERO's initial state; MetaWorld has no such hook"
            )
            raise ValueError(f"perturbation {found.name!r} {reason} ({task} is a MetaWorld task)")
        return found

    @property
    def unwrapped(self):
        return self._mw

    def _reset(self, seed: int) -> dict[str, Any]:
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
        return {}

    def _step(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        self.privileged_obs, reward, _, _, mw_info = self._mw.step(np.clip(action, -1.0, 1.0))
        return float(reward), bool(mw_info["success"]), {}

    def state(self) -> np.ndarray:
        return self.privileged_obs[:4].astype(np.float32)  # hand xyz + gripper opening

    def privileged_positions(self) -> np.ndarray:
        """Where the gripper, the object and the goal appear in the third-person view: ``[3, 2]`` (x, y).

        Image fractions in ``[0, 1]`` (0: left / top edge), from MetaWorld's privileged observation
        (hand xyz, first object xyz, goal xyz); for diagnostics only, never given to a policy.
        """
        obs = self.privileged_obs
        return self.project(np.stack([obs[:3], obs[4:7], obs[-3:]]))

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``[M, 3]`` -> their positions in the third-person view ``[M, 2]`` (image fractions)."""
        xy = project_points(self._mw.model, self._mw.data, self._camera_ids[0], points)
        return 1 - xy if self.camera_names[0] in _FLIPPED else xy

    def _render_view(self, index: int) -> np.ndarray:
        self._renderer.update_scene(self._mw.data, camera=self._camera_ids[index])
        image = self._renderer.render()
        return image[::-1, ::-1] if self.camera_names[index] in _FLIPPED else image

    def _close_simulator(self) -> None:
        self._mw.close()


def _place_camera(model: mujoco.MjModel, camera: str) -> int:
    """The id of ``camera``; a pose of ours is written onto its slot first (before the env snapshots the model)."""
    pose = CAMERAS[camera]
    if pose is None:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, pose["slot"])
    pos, target = np.asarray(pose["pos"], float), np.asarray(pose["look_at"], float)
    back = (pos - target) / np.linalg.norm(pos - target)  # a MuJoCo camera looks along its -z axis
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.stack([right, np.cross(back, right), back], axis=1).flatten())
    model.cam_pos[cam_id], model.cam_quat[cam_id], model.cam_fovy[cam_id] = pos, quat, pose["fovy"]
    model.cam_mode[cam_id] = mujoco.mjtCamLight.mjCAMLIGHT_FIXED
    return cam_id
