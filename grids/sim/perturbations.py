"""Out-of-distribution perturbations applied at reset, in the spirit of LIBERO-Plus.

A perturbation is a named, parameterised object with two hooks:

* ``apply(model, rng, camera_id)`` changes the MuJoCo model (camera pose, lights, material colours) once per
  episode, right after reset. The env restores the original model fields before every reset, so
  perturbations never accumulate.
* ``corrupt(images, rng)`` changes the rendered pixels of every frame (sensor noise).
* ``move(env, rng)`` changes the initial state (robot joints, object layout), after the placement and before
  the settle steps, and ``reword(instruction, rng)`` the instruction the policy is given; only LIBERO's env
  calls them (``libero_only``): MetaWorld's refuses such perturbations.

``rng`` is a ``numpy.random.Generator`` that the env derives from the episode seed and the perturbation's
name, so the same (seed, perturbation) gives the same episode, and different perturbations draw
independent numbers. Only the third-person camera (``camera_id``) is moved; the gripper camera rides on
the robot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mujoco
import numpy as np

# Model fields that perturbations may modify; the env snapshots and restores exactly these.
MODEL_FIELDS = (
    "cam_pos",
    "cam_quat",
    "light_diffuse",
    "light_ambient",
    "light_specular",
    "light_dir",
    "mat_rgba",
    "mat_texid",
)
HEADLIGHT_FIELDS = ("ambient", "diffuse", "specular")


@dataclass(frozen=True)
class Perturbation:
    name: str = "none"

    def apply(self, model: mujoco.MjModel, rng: np.random.Generator, camera_id: int) -> None:
        pass

    def corrupt(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return images

    libero_only = False

    def move(self, env, rng: np.random.Generator) -> None:
        pass

    def reword(self, instruction: str, rng: np.random.Generator) -> str:
        return instruction

    @property
    def pixel_level(self) -> bool:
        """Only ``corrupt`` changes anything: the perturbation applies to recorded frames as well."""
        hooks = ("apply", "move", "reword", "corrupt")
        overridden = [h for h in hooks if getattr(type(self), h) is not getattr(Perturbation, h)]
        return overridden == ["corrupt"]


@dataclass(frozen=True, kw_only=True)
class RobotInit(Perturbation):
    """Start the arm elsewhere: every joint offset by up to ``max_rad`` radians (LIBERO-Plus "robot init")."""

    max_rad: float = 0.1
    libero_only = True

    def move(self, env, rng):
        robot, sim = env.robosuite.robots[0], env.robosuite.sim
        joints = robot._ref_joint_pos_indexes
        sim.data.qpos[joints] += rng.uniform(-self.max_rad, self.max_rad, size=len(joints))
        sim.forward()


@dataclass(frozen=True, kw_only=True)
class ObjectLayout(Perturbation):
    """Move every free object by up to ``max_m`` metres in x and y (LIBERO-Plus "layout"); they then settle."""

    max_m: float = 0.03
    libero_only = True

    def move(self, env, rng):
        sim = env.robosuite.sim
        for obj in env.robosuite.objects_dict.values():
            for joint in obj.joints:  # a free joint: qpos = xyz + quaternion
                address = sim.model.get_joint_qpos_addr(joint)[0]
                sim.data.qpos[address : address + 2] += rng.uniform(-self.max_m, self.max_m, size=2)
        sim.forward()


@dataclass(frozen=True, kw_only=True)
class CameraShift(Perturbation):
    """Move the third-person camera by ``shift_m`` metres and turn it by ``rotate_deg`` degrees (random directions)."""

    shift_m: float = 0.05
    rotate_deg: float = 5.0

    def apply(self, model, rng, camera_id):
        direction = rng.normal(size=3)
        model.cam_pos[camera_id] += self.shift_m * direction / np.linalg.norm(direction)
        axis = rng.normal(size=3)
        turn = np.zeros(4)
        mujoco.mju_axisAngle2Quat(turn, axis / np.linalg.norm(axis), np.deg2rad(self.rotate_deg))
        quat = np.zeros(4)
        mujoco.mju_mulQuat(quat, turn, model.cam_quat[camera_id].copy())
        model.cam_quat[camera_id] = quat


@dataclass(frozen=True, kw_only=True)
class Lighting(Perturbation):
    """Scale all lights by a factor in ``dim`` or ``bright`` (coin flip), tint them, and tilt their directions."""

    dim: tuple[float, float] = (0.3, 0.6)
    bright: tuple[float, float] = (1.6, 2.4)
    tint: float = 0.25
    tilt: float = 0.5

    def apply(self, model, rng, camera_id):
        low, high = self.dim if rng.random() < 0.5 else self.bright
        scale = rng.uniform(low, high) * (1.0 + rng.uniform(-self.tint, self.tint, size=3))  # [3] rgb
        for field in ("light_diffuse", "light_ambient", "light_specular"):
            getattr(model, field)[:] = np.clip(getattr(model, field) * scale, 0.0, 1.0)
        for field in HEADLIGHT_FIELDS:
            setattr(
                model.vis.headlight, field, np.clip(getattr(model.vis.headlight, field) * scale, 0.0, 1.0)
            )
        tilted = model.light_dir + rng.uniform(-self.tilt, self.tilt, size=model.light_dir.shape)
        model.light_dir[:] = tilted / np.linalg.norm(tilted, axis=1, keepdims=True)


@dataclass(frozen=True, kw_only=True)
class SensorNoise(Perturbation):
    """Additive Gaussian RGB noise with standard deviation ``std`` (in 0..255 units), fresh every frame."""

    std: float = 12.0

    def corrupt(self, images, rng):
        noise = rng.normal(0.0, self.std, size=images.shape)
        return np.clip(images + noise, 0, 255).astype(np.uint8)


@dataclass(frozen=True, kw_only=True)
class MaterialColor(Perturbation):
    """Recolour the named materials (table top, floor) with one random colour and drop their texture."""

    materials: tuple[str, ...] = ("table_wood", "table_col")

    def apply(self, model, rng, camera_id):
        color = rng.uniform(0.1, 0.9, size=3)
        for mat_name in self.materials:
            mat_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, mat_name)
            if mat_id < 0:
                continue
            model.mat_texid[mat_id] = -1
            model.mat_rgba[mat_id, :3] = color


@dataclass(frozen=True, kw_only=True)
class Reword(Perturbation):
    """Say the same task in other words (LIBERO-Plus "language"): a paraphrase of LIBERO's "pick up the X and
    place it in/on the Y", else the instruction wrapped in a polite or verbose frame. Never names a file."""

    libero_only = True
    pick_place = (
        "put the {x} {prep} the {y}",
        "grab the {x} and drop it {prep} the {y}",
        "take the {x} and set it {prep} the {y}",
        "move the {x} so that it ends up {prep} the {y}",
    )
    frames = ("please {i}", "{i}, please", "could you {i}?", "your task: {i}")

    def reword(self, instruction, rng):
        match = re.fullmatch(
            r"pick (?:up )?the (.+?) and place it (in|on|into|onto) the (.+)", instruction.strip()
        )
        if match:
            x, prep, y = match.groups()
            return self.pick_place[rng.integers(len(self.pick_place))].format(x=x, prep=prep, y=y)
        return self.frames[rng.integers(len(self.frames))].format(i=instruction.strip())


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in [
        Perturbation(),
        CameraShift(name="camera-small", shift_m=0.05, rotate_deg=5.0),
        CameraShift(name="camera-large", shift_m=0.2, rotate_deg=15.0),
        Lighting(name="light"),
        SensorNoise(name="noise", std=12.0),
        MaterialColor(name="table-color", materials=("table_wood", "table_col")),
        MaterialColor(name="floor-color", materials=("basic_floor",)),
        RobotInit(name="robot-init", max_rad=0.1),  # LIBERO only
        Reword(name="language"),  # LIBERO only
        ObjectLayout(name="layout", max_m=0.03),  # LIBERO only
    ]
}


def get_perturbation(perturbation: str | Perturbation) -> Perturbation:
    if isinstance(perturbation, Perturbation):
        return perturbation
    if perturbation not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {perturbation!r}; choose one of {sorted(PERTURBATIONS)}")
    return PERTURBATIONS[perturbation]
