"""A gymnasium-style MetaWorld wrapper with two camera views and a 4-d proprioceptive state.

One observation (``obs``)::

    images       uint8   [2, S, S, 3]   0: third-person camera (``camera``), 1: gripper camera
    state        float32 [4]            end-effector xyz (m) + gripper opening in [0, 1]
    instruction  str                    INSTRUCTIONS[task]
    task         str

``step`` returns ``terminated=True`` at the first success (``info["success"]``) and ``truncated=True`` after
``max_steps`` steps without one. Actions are float32 [4] (end-effector xyz displacement, gripper close), clipped to [-1, 1].

Object and goal positions are deliberately *not* in ``state``: the policy has to see them. The full
MetaWorld observation (which the scripted experts need) stays inside the env as ``env.privileged_obs``.

Seeding: ``reset(seed=s)`` draws the task's object/goal placement and the perturbation from ``s`` alone, so
equal seeds give equal episodes. ``reset()`` without a seed uses ``make_env(seed=...)`` the first time and
then the previous episode's seed + 1. A seed is an int in ``[0, 2**32)``: a float or a bool is refused
(``1.5`` would otherwise run and report seed 1).

Bad input (shared by the MetaWorld, LIBERO and ALOHA envs): ``check_seed``, ``check_action`` (an action
that is not numbers of the right shape) and ``check_open`` (``reset``/``step`` after ``close()``) raise one
line naming the value; ``make_env`` names an unknown task with the names of every suite.
"""

from __future__ import annotations

import atexit
import os
import weakref
import zlib
from typing import Any

import mujoco
import numpy as np

from grids.core.validation import is_int
from grids.errors import UserError
from grids.sim.perturbations import HEADLIGHT_FIELDS, MODEL_FIELDS, Perturbation, get_perturbation, with_level
from grids.sim.tasks import INSTRUCTIONS, check_task

# Third-person cameras. "workspace" (the default) frames the region where MetaWorld's objects and goals
# are drawn (x in [-0.3, 0.3], y in [0.4, 0.95], z below 0.35) from the front right, so that a 4 cm goal
# sphere covers about one 8 px patch at 128 px (``benchmarks/results/metaworld_views.md``). It is our own
# pose, put on the unused ``corner4`` camera slot. "corner3" (MetaWorld's, 1.7 m away: the goal is 3-4 px)
# is the first benchmark's view, kept to read old datasets and results.
CAMERAS = {
    "workspace": {"pos": (0.6, 1.1, 0.6), "look_at": (-0.02, 0.68, 0.1), "fovy": 40.0, "slot": "corner4"},
    "corner3": None,  # as shipped (renders upside-down; rotated 180°)
}
DEFAULT_CAMERA = "workspace"
GRIPPER_CAMERA = "gripperPOV"
CAMERA_NAMES = (DEFAULT_CAMERA, GRIPPER_CAMERA)  # the default views, in observation order
_FLIPPED = {"corner", "corner2", "corner3", "corner4"}
# The scripted experts succeed within ~150 steps on MT10 (MetaWorld's own limit is 500).
DEFAULT_MAX_STEPS = 200

# Renderers still open at interpreter exit would be freed after EGL is torn down (a noisy EGLError); close them first.
_OPEN_ENVS: weakref.WeakSet = weakref.WeakSet()


class RendererError(RuntimeError, UserError):
    """MuJoCo's offscreen renderer cannot start (no GL libraries, a bad MUJOCO_GL)."""


class EnvClosedError(RuntimeError, UserError):
    """``reset`` or ``step`` on an environment after its ``close()``."""


def check_image_size(image_size) -> None:
    if not is_int(image_size) or not 16 <= image_size <= 1024:
        raise ValueError(f"image_size must be an int in [16, 1024], got {image_size!r}")


def check_seed(seed, name: str = "seed") -> int:
    """An episode seed: an int in ``[0, 2**32)`` (numpy ints too), not a float or a bool; returns it as an int."""
    if not is_int(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32), got {seed!r}")
    return int(seed)


def check_max_steps(max_steps, limit: int) -> int:
    if not is_int(max_steps) or not 1 <= max_steps <= limit:
        raise ValueError(f"max_steps must be an int in [1, {limit}], got {max_steps!r}")
    return int(max_steps)


def check_action(action, size: int, dtype=np.float32) -> np.ndarray:
    """``action`` as a finite ``dtype`` array of shape ``(size,)``; anything else is named in one line."""
    try:
        array = np.asarray(action, dtype=dtype)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != (size,) or not np.all(np.isfinite(array)):
        raise ValueError(f"action must be a finite array of shape ({size},), got {action!r}")
    return array


def check_open(env, closed: bool) -> None:
    if closed:
        raise EnvClosedError(
            f"this {type(env).__name__} ({env.task}) was closed; make a new one with make_env"
        )


def check_perturbation(task: str, perturbation: str | Perturbation) -> Perturbation:
    """The perturbation, if ``task``'s simulator can apply it (what ``make_env`` checks, without building)."""
    from grids.sim.tasks import is_aloha, is_libero

    if is_aloha(task):
        if perturbation != "none":
            raise ValueError(
                f"ALOHA tasks have no perturbations yet, got perturbation={perturbation!r} for {task}"
            )
        return get_perturbation("none")
    found = get_perturbation(perturbation)
    if found.libero_only and not is_libero(task):
        reason = getattr(
            found, "libero_only_reason", "moves LIBERO's initial state; MetaWorld has no such hook"
        )
        raise ValueError(f"perturbation {found.name!r} {reason} ({task} is a MetaWorld task)")
    return found


def open_renderer(model: mujoco.MjModel, image_size: int) -> mujoco.Renderer:
    """A ``image_size``² offscreen renderer without shadows, MSAA or reflections; one clear line if GL fails.

    MetaWorld, LIBERO and ALOHA scenes ask for 4096² shadow maps and 4x MSAA (LIBERO also for floor
    reflections): on a software GL that is ~5-10x slower.
    """
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, image_size)  # offscreen buffer >= image
    model.vis.global_.offheight = max(model.vis.global_.offheight, image_size)
    try:
        renderer = mujoco.Renderer(model, image_size, image_size)
    except (
        Exception
    ) as err:  # mujoco raises FatalError / RuntimeError / ImportError depending on the GL backend
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RendererError(
            f"cannot start MuJoCo's offscreen renderer (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {reason}; "
            "install the GL libraries (bash scripts/setup.sh) or try MUJOCO_GL=osmesa"
        ) from None
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
    return renderer


class MetaWorldEnv:
    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        perturbation: str | Perturbation = "none",
        max_steps: int | None = None,
        camera: str = DEFAULT_CAMERA,
    ):
        if check_task(task) != "metaworld":
            raise ValueError(
                f"{task!r} is not a MetaWorld task: make it with make_env, which knows every suite"
            )
        check_image_size(image_size)
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}; known third-person cameras: {sorted(CAMERAS)}")
        max_steps = check_max_steps(DEFAULT_MAX_STEPS if max_steps is None else max_steps, 500)
        seed = check_seed(seed)
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS, ML1_ARGS_KWARGS

        self.task = task
        self.instruction = INSTRUCTIONS[task]
        self.image_size = image_size
        self.camera_names = (camera, GRIPPER_CAMERA)
        self.max_steps = max_steps
        self.perturbation = check_perturbation(task, perturbation)
        self._next_seed = seed
        self._closed = False
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
        self._renderer = open_renderer(model, image_size)
        close_at_exit(self)
        self._camera_ids = [
            _place_camera(model, camera),
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, GRIPPER_CAMERA),
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
        check_open(self, self._closed)
        seed = self._next_seed if seed is None else check_seed(seed)
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

    def step(
        self, action: np.ndarray, *, render: bool = True
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        check_open(self, self._closed)
        if self.privileged_obs is None:
            raise RuntimeError("call reset() before step()")
        action = check_action(action, 4)
        self.privileged_obs, reward, _, _, mw_info = self._mw.step(np.clip(action, -1.0, 1.0))
        self._steps += 1
        success = bool(mw_info["success"])
        info = {"success": success, "step": self._steps}
        truncated = self._steps >= self.max_steps and not success
        return self._observation(render), float(reward), success, truncated, info

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

    def render_views(self) -> np.ndarray:
        views = []
        for name, cam_id in zip(self.camera_names, self._camera_ids, strict=True):
            self._renderer.update_scene(self._mw.data, camera=cam_id)
            image = self._renderer.render()
            views.append(image[::-1, ::-1] if name in _FLIPPED else image)
        return self.perturbation.corrupt(np.stack(views), self._rng)  # [2, S, S, 3]

    def _observation(self, render: bool = True) -> dict[str, Any]:
        return {
            "images": self.render_views() if render else None,
            "state": self.privileged_obs[:4].astype(np.float32),  # hand xyz + gripper opening
            "instruction": self.instruction,
            "task": self.task,
        }

    def close(self) -> None:
        self._closed = True
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
            self._mw.close()
        _OPEN_ENVS.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def project_points(model: mujoco.MjModel, data: mujoco.MjData, cam_id: int, points: np.ndarray) -> np.ndarray:
    """World points ``[M, 3]`` -> where camera ``cam_id`` renders them ``[M, 2]`` ((x, y) image fractions, y down)."""
    rotation = data.cam_xmat[cam_id].reshape(3, 3)  # columns: the camera's right, up, backward axes
    local = (np.asarray(points, float) - data.cam_xpos[cam_id]) @ rotation  # [M, 3]
    scale = 1.0 / (np.tan(np.deg2rad(model.cam_fovy[cam_id]) / 2) * -local[:, 2])
    return np.stack([(1 + local[:, 0] * scale) / 2, (1 - local[:, 1] * scale) / 2], axis=-1)


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


def close_at_exit(env) -> None:
    """Close ``env`` (anything with ``close()`` that owns a renderer) at interpreter exit, before EGL goes."""
    if not _OPEN_ENVS:  # registered after mujoco's own EGL exit handlers, so it runs before them
        atexit.register(_close_open_envs)
    _OPEN_ENVS.add(env)


def _close_open_envs() -> None:
    for env in list(_OPEN_ENVS):
        env.close()


def make_env(
    task: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    perturbation: str | Perturbation = "none",
    max_steps: int | None = None,
    camera: str = DEFAULT_CAMERA,
    level: int | None = None,
):
    """A MetaWorld task with two camera views (``camera`` + the gripper's), a LIBERO task
    (``"libero_object/0"``: agentview + eye-in-hand, see ``grids.sim.libero``) or an ALOHA task
    (``"transfer-cube"``, ``"insertion"``: top + angle, see ``grids.sim.aloha``); see the module docstring.

    ``level``: with one of LIBERO-Plus's seven dimensions as ``perturbation`` (``"camera"``, ``"background"``,
    ...; ``grids.sim.perturbations.DIMENSIONS``), its level 1-5 (0: none); the same as
    ``perturbation="background@3"``."""
    perturbation = with_level(perturbation, level)
    suite = check_task(task)
    if suite == "aloha":
        if camera not in (DEFAULT_CAMERA, "top"):
            raise ValueError(f"ALOHA tasks render gym-aloha's top and angle cameras, not {camera!r}")
        check_perturbation(task, perturbation)
        from grids.sim.aloha import make_aloha_env

        return make_aloha_env(task, image_size=image_size, seed=seed, max_steps=max_steps)
    if suite == "libero":
        if camera not in (DEFAULT_CAMERA, "agentview"):
            raise ValueError(f"LIBERO tasks render LIBERO's own agentview camera, not {camera!r}")
        from grids.sim.libero import LiberoEnv

        return LiberoEnv(
            task, image_size=image_size, seed=seed, perturbation=perturbation, max_steps=max_steps
        )
    return MetaWorldEnv(
        task, image_size=image_size, seed=seed, perturbation=perturbation, max_steps=max_steps, camera=camera
    )
