"""Scripted ALOHA experts: waypoints in the end-effector task, replayed as joint targets in the joint task.

No scripted ALOHA policy ships with gym-aloha. Its end-effector task (``tasks/sim_end_effector.py``, not wired
up by the package) welds a mocap body to each gripper, so an arm follows any pose we write there. The expert:

1. **plans**: from the objects' poses (privileged), waypoints per arm (gripper pose + opening at a control
   step), interpolated at 50 Hz (the idea of ACT's ``scripted_policy.py``; our own waypoints). A task is a
   few stages, each planned from the objects' poses when it starts: they slip and swing in the grippers;
2. **records**: runs them in the end-effector task and records, after every step, the six joint positions of
   each arm and the commanded gripper opening: a ``[T, 14]`` joint-position trajectory;
3. **replays** it in the joint-position task (``AlohaEnv``) from the same seed, once without images to
   correct the joint targets for the servos' tracking error (``expert_actions``), then for real. The replay
   is the demonstration (its own images, states and rewards), kept only if it reaches the top reward stage.
   A task may have a few plans (``STAGES``), tried in turn until a replay succeeds (``successful_actions``).

    env = make_aloha_env("transfer-cube")
    episode = rollout_expert(env, seed=0)  # grids.sim.rollout: dict of arrays up to the first success, or None
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from grids.sim.aloha import ALOHA_TASKS, MAX_REWARD, AlohaEnv, control_env, object_poses, sim_end_effector
from grids.sim.rendering import mujoco
from grids.sim.rollout import play_episode

OPEN, CLOSED = 1.0, 0.0  # normalised gripper opening

LEFT_BASE, RIGHT_BASE = np.array([-0.469, 0.5, 0.0]), np.array([0.469, 0.5, 0.0])  # the arms' waists (m)
HANDOVER = np.array([0.0, 0.5, 0.25])  # transfer-cube: where the right gripper presents the cube (m)
HANDOVER_OFFSET = np.array([0.0, 0, -0.025])  # left fingertip point just below the cube centre
HANDOVER_STEP = 250  # transfer-cube: when the left gripper has closed on the cube


@dataclass(frozen=True)
class Waypoint:
    t: int  # control step at which the arm is at this pose
    xyz: np.ndarray  # [3] the mocap point, between the fingertips (m, world frame; see ``align_mocaps``)
    quat: np.ndarray  # [4] the mocap's orientation (wxyz, world frame; identity = the arm's start pose)
    gripper: float  # opening, 0 closed .. 1 open


def rotation(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    """The unit quaternion (wxyz) [4] of a rotation by ``degrees`` about ``axis`` (world frame)."""
    quat = np.zeros(4)
    mujoco.mju_axisAngle2Quat(quat, np.asarray(axis, float), np.deg2rad(degrees))
    return quat


RIGHT_DOWN = rotation((0, 1, 0), -60)  # right fingers pointing down at 60°, towards the middle
SIDEWAYS = rotation((1, 0, 0), 90)  # left fingers level, opening vertically


def facing(quat: np.ndarray, base: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``quat`` [4] turned about the vertical so that the gripper points from the arm's ``base`` towards ``target``.

    ``quat`` is the orientation for a target straight ahead of the base (on its line y = base y); the arm
    reaches off that line more easily by turning its waist than by twisting its wrist.
    """
    ahead = 1.0 if base[0] < 0 else -1.0  # the left arm faces +x, the right arm -x
    yaw = np.arctan2(target[1] - base[1], ahead * (target[0] - base[0])) * ahead
    turned = np.zeros(4)
    mujoco.mju_mulQuat(turned, rotation((0, 0, 1), np.rad2deg(yaw)), quat)
    return turned


def interpolate(waypoints: list[Waypoint], t: float) -> np.ndarray:
    """The arm's command at step ``t``: [8] = xyz, quat (normalised lerp), gripper, eased in and out between
    waypoints; held after the last one."""
    later = [i for i, w in enumerate(waypoints) if w.t > t]
    if not later:
        last = waypoints[-1]
        return np.concatenate([last.xyz, last.quat, [last.gripper]])
    before, after = waypoints[max(later[0] - 1, 0)], waypoints[later[0]]
    frac = (t - before.t) / (after.t - before.t)
    frac = frac * frac * (3 - 2 * frac)  # smoothstep: start and stop without a jerk (held objects swing)
    sign = 1.0 if np.dot(before.quat, after.quat) >= 0 else -1.0  # q and -q are the same rotation
    quat = before.quat + frac * (sign * after.quat - before.quat)
    return np.concatenate([
        before.xyz + frac * (after.xyz - before.xyz),
        quat / np.linalg.norm(quat),
        [before.gripper + frac * (after.gripper - before.gripper)],
    ])  # fmt: skip


def hold(t: int, command: np.ndarray, gripper: float | None = None) -> Waypoint:
    """A waypoint at ``command`` [8] (xyz, quat, gripper), optionally with another gripper opening."""
    return Waypoint(t, command[:3], command[3:7], command[7] if gripper is None else gripper)


# A stage plans both arms from step t0 on, from the objects' poses at t0 and the arms' commands at t0 ([8]
# each: xyz, quat, gripper); replanning from the objects' actual poses absorbs how they sit in the grippers.


def grasp(
    t0: int,
    start: np.ndarray,
    obj: np.ndarray,
    quat: np.ndarray,
    *,
    height: float,
    base: np.ndarray | None = None,
    pace: float = 1.0,
) -> list[Waypoint]:
    """From the command ``start`` [8]: open on the way (the fingers are slow), come down on ``obj`` [3], close.

    ``height``: of the mocap point above the table at the grasp (the fingertips reach ~2 cm beyond it).
    ``quat``: the grasp orientation; with ``base``, the one straight ahead of that arm's base, turned to face
    ``obj``. The gripper closes by ``t0 + GRASPED`` and stays there until ``t0 + HELD`` (the fingers are slow);
    ``pace`` < 1 does it all that much sooner."""
    above = obj + [0, 0, 0.06]
    quat = quat if base is None else facing(quat, base, obj)
    at = np.array([obj[0], obj[1], height])
    return [
        hold(t0, start),
        Waypoint(t0 + round(pace * 30), (start[:3] + above) / 2, quat, OPEN),
        Waypoint(t0 + round(pace * 60), above, quat, OPEN),
        Waypoint(t0 + round(pace * 95), at, quat, OPEN),  # fingers around it; slowly, not to knock it over
        Waypoint(t0 + round(pace * GRASPED), at, quat, CLOSED),
        Waypoint(t0 + round(pace * HELD), at, quat, CLOSED),
    ]


GRASPED, HELD = 110, 125


def pick_cube(t0: int, poses: np.ndarray, left: np.ndarray, right: np.ndarray):
    """Right arm picks the cube (``poses`` [7]) and lifts it to ``HANDOVER``; the left arm waits, open, beside it."""
    right_plan = [
        *grasp(t0, right, poses[:3], RIGHT_DOWN, height=0.015, base=RIGHT_BASE),
        Waypoint(t0 + 165, HANDOVER + [0.05, 0, 0], RIGHT_DOWN, CLOSED),
        Waypoint(t0 + 185, HANDOVER, RIGHT_DOWN, CLOSED),
    ]
    left_plan = [hold(t0, left), Waypoint(t0 + 120, HANDOVER + [-0.15, 0, -0.03], SIDEWAYS, OPEN)]
    return left_plan, right_plan


def approach_cube(t0: int, poses: np.ndarray, left: np.ndarray, right: np.ndarray):
    """The left arm comes level with the cube, open, from the left; the right arm holds still."""
    return [hold(t0, left), Waypoint(t0 + 25, poses[:3] + [-0.08, 0, 0], SIDEWAYS, OPEN)], [hold(t0, right)]


def grasp_cube(t0: int, poses: np.ndarray, left: np.ndarray, right: np.ndarray):
    """The left arm reaches the cube where it is now (it sags in the right gripper), closes on it at step
    ``HANDOVER_STEP``; then the right arm lets go. Replanned every few steps until the left gripper closes."""
    target = poses[:3] + HANDOVER_OFFSET
    left_plan = [
        hold(t0, left),
        Waypoint(max(t0 + 10, HANDOVER_STEP - 15), target, SIDEWAYS, OPEN),
        Waypoint(max(t0 + 20, HANDOVER_STEP), target, SIDEWAYS, CLOSED),
    ]
    right_plan = [hold(t0, right), hold(HANDOVER_STEP + 10, right), hold(HANDOVER_STEP + 20, right, OPEN)]
    return left_plan, right_plan


def long_axis(quat: np.ndarray) -> np.ndarray:
    """The world direction [3] of an object's local x axis (the peg's and the socket's long axis)."""
    axis = np.zeros(3)
    mujoco.mju_rotVecQuat(axis, np.array([1.0, 0.0, 0.0]), quat)
    return axis


LEFT_DOWN = rotation((0, 1, 0), 60)  # left fingers pointing down at 60°, towards the middle
HALF_LENGTH = 0.06  # of the peg and of the socket (m); the pin (8 cm) is 2 cm inside the socket's openings
GRASP_PACE = 0.75  # the insertion's 300 steps leave no time to grasp as slowly as the cube
BOTH_HELD = round(GRASP_PACE * HELD)  # step at which both objects are held
SERVO_PERIOD = 5  # steps between replans once the objects are held
MAX_MOVE = 0.02  # m per replan: a held object pivots about the pinch when it accelerates
ON_AXIS = 0.005  # m: how far off the socket's axis the peg's leading end may enter its opening (8 mm play)
SERVO_GAIN = 0.3  # of the remaining way per replan: the arms lag, and 1.0 overshoots and shakes the peg loose


def pick_both(t0: int, poses: np.ndarray, left: np.ndarray, right: np.ndarray):
    """The left arm grasps the socket (``poses[7:]``), the right arm the peg (``poses[:7]``), each from above.

    The socket is pinched square across its axis (a slanted pinch slid off its walls where it lies to the
    side); the peg, narrower, is reached with the arm turned towards it (``facing``) as the cube is."""
    left_plan = grasp(t0, left, poses[7:10], LEFT_DOWN, height=0.02, pace=GRASP_PACE)
    right_plan = grasp(t0, right, poses[:3], RIGHT_DOWN, height=0.0, base=RIGHT_BASE, pace=GRASP_PACE)
    return left_plan, right_plan


def toward(command: np.ndarray, obj: np.ndarray, goal: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """The next command [8] for an arm holding ``obj`` [7]: the gripper shifted by the object's remaining way
    to ``goal`` [3] (at most ``MAX_MOVE``) and turned about the vertical to bring its long axis onto
    ``heading`` [3]. Shifting the last command, not the gripper's pose, integrates the arm's lag away."""
    way = SERVO_GAIN * (goal - obj[:3])
    way *= min(1.0, MAX_MOVE / max(np.linalg.norm(way), 1e-9))
    axis = long_axis(obj[3:])
    axis = axis if np.dot(axis, heading) >= 0 else -axis
    angle = np.arctan2(heading[1], heading[0]) - np.arctan2(axis[1], axis[0])
    moved = command.copy()
    moved[:3] += way
    mujoco.mju_mulQuat(moved[3:7], rotation((0, 0, 1), SERVO_GAIN * np.rad2deg(angle)), command[3:7])
    return moved


def insert(t0: int, poses: np.ndarray, left: np.ndarray, right: np.ndarray, *, meet: np.ndarray):
    """Both objects up (for 25 steps), the socket to ``meet`` [3] heading along x, the peg onto the
    socket's axis as the socket hangs now, its leading end ``push_depth`` inside the opening.

    Replanned every ``SERVO_PERIOD`` steps: both objects pivot about the pinch of their gripper (one contact
    per finger), and the arms lag behind their commands by centimetres. The pivot also helps: a peg that
    enters the opening at up to ~20° is turned onto the socket's axis by its walls, so only the leading
    end's position is servoed, and the peg's heading about the vertical."""
    peg, socket = poses[:7], poses[7:]
    x = np.array([1.0, 0.0, 0.0])
    if t0 < BOTH_HELD + 25:
        socket_goal, peg_goal = socket[:3] + [0, 0, 0.1], peg[:3] + [0, 0, 0.1]
        peg_heading = long_axis(peg[3:])  # no turn yet
    else:
        axis = long_axis(socket[3:])
        axis = axis if np.dot(axis, peg[:3] - socket[:3]) >= 0 else -axis  # to the opening facing the peg
        peg_axis = long_axis(peg[3:])
        peg_axis = peg_axis if np.dot(peg_axis, axis) >= 0 else -peg_axis
        leading_end = peg[:3] - HALF_LENGTH * peg_axis
        off_axis = leading_end - socket[:3] - np.dot(leading_end - socket[:3], axis) * axis
        depth = push_depth(t0 + SERVO_PERIOD)
        depth = depth if np.linalg.norm(off_axis) < ON_AXIS else min(depth, -0.015)  # in only when lined up
        goal = socket[:3] + (HALF_LENGTH - depth) * axis
        socket_goal, peg_goal, peg_heading = meet, peg[:3] + goal - leading_end, axis
    t1 = t0 + SERVO_PERIOD
    return (
        [hold(t0, left), hold(t1, toward(left, socket, socket_goal, x))],
        [hold(t0, right), hold(t1, toward(right, peg, peg_goal, peg_heading))],
    )


def push_depth(t: int) -> float:
    """How deep the peg's leading end should be inside the socket's opening at step ``t`` (m): 3 cm outside
    until 90 steps after the grasp, then pushed in at 1.4 mm per step, past the pin (2 cm in)."""
    return float(np.interp(t, [BOTH_HELD + 90, BOTH_HELD + 140], [-0.03, 0.04]))


# Where the socket is held for the insertion, one plan each: a replay that does not succeed is retried with
# the next (a held object's swing differs, and so does the outcome): 43 of seeds 0-49 succeed with the
# first plan, 47 with one of the three.
SOCKET_MEETS = (  # m, the socket's centre
    [-0.08, 0.5, 0.15],
    [-0.05, 0.5, 0.18],
    [-0.1, 0.5, 0.12],
)


# Each task's plans (tried in turn until a replay succeeds), each a list of (step at which a stage starts,
# the stage); a plan's first stage starts at 0.
STAGES = {
    "transfer-cube": (
        [(0, pick_cube), (190, approach_cube), *((t, grasp_cube) for t in range(215, 246, 5))],
    ),
    "insertion": tuple(
        [
            (0, pick_both),
            *((t, partial(insert, meet=np.array(meet))) for t in range(BOTH_HELD, 300, SERVO_PERIOD)),
        ]
        for meet in SOCKET_MEETS
    ),
}
_END_EFFECTOR_TASKS = {
    "transfer-cube": sim_end_effector.TransferCubeEndEffectorTask,
    "insertion": sim_end_effector.InsertionEndEffectorTask,
}


def welded_mocap_poses(physics) -> tuple[np.ndarray, np.ndarray]:
    """Where each mocap body would be if its weld held exactly: positions [2, 3] and quats [2, 4], by mocap id.

    gym-aloha's end-effector scenes give their welds no ``relpose``; MuJoCo 3 then keeps the relative pose of
    the XML's reference configuration: the mocap point sits 13.5 cm ahead of ``gripper_link`` along the
    fingers (between the fingertips), with the mocap's identity orientation = the arm's start orientation.
    The package's hard-coded start poses assume the mocap *at* ``gripper_link`` (older MuJoCo), 10 cm off.
    """
    model, data = physics.model.ptr, physics.data.ptr
    positions, quats = np.zeros((model.nmocap, 3)), np.zeros((model.nmocap, 4))
    for eq in range(model.neq):
        mocap_body, gripper_body = model.eq_obj1id[eq], model.eq_obj2id[eq]
        rel_pos, rel_quat = model.eq_data[eq, 3:6], model.eq_data[eq, 6:10]
        # gripper pose = mocap pose composed with (rel_pos, rel_quat), both in the mocap's frame
        inverse, quat, offset = np.zeros(4), np.zeros(4), np.zeros(3)
        mujoco.mju_negQuat(inverse, rel_quat)
        mujoco.mju_mulQuat(quat, data.xquat[gripper_body], inverse)
        mujoco.mju_rotVecQuat(offset, rel_pos, quat)
        mocap = model.body_mocapid[mocap_body]
        positions[mocap], quats[mocap] = data.xpos[gripper_body] - offset, quat
    return positions, quats


def align_mocaps(physics) -> None:
    """Put each mocap body where its weld already holds the gripper, so that the first step does not jerk."""
    mujoco.mj_kinematics(physics.model.ptr, physics.data.ptr)
    physics.data.mocap_pos[:], physics.data.mocap_quat[:] = welded_mocap_poses(physics)


def _seeded(task_cls: type) -> type:
    """``task_cls`` that places the objects at ``self.poses`` (its own sampler is unseeded), starts its mocap
    bodies at the grippers' poses, and renders nothing."""

    def initialize_episode(self, physics) -> None:
        super(cls, self).initialize_episode(physics)
        physics.data.qpos[16:] = self.poses  # inside reset_context: forward kinematics follow
        align_mocaps(physics)

    def get_observation(self, physics) -> dict[str, np.ndarray]:
        return {"env_state": self.get_env_state(physics)}

    cls = type(f"Seeded{task_cls.__name__}", (task_cls,), {
        "initialize_episode": initialize_episode, "get_observation": get_observation,
    })  # fmt: skip
    return cls


_EE_ENVS: dict[str, object] = {}  # one end-effector env per task and process: building one costs ~0.1 s


def plan_joint_actions(task: str, seed: int, *, num_steps: int, plan: int = 0) -> np.ndarray:
    """Run the waypoint expert's ``plan`` (an index into ``STAGES[task]``) in the end-effector task from ``seed``:
    joint targets ``[num_steps, 14]`` float32.

    Row t = (left arm 6 joints, left gripper opening, right arm 6 joints, right gripper opening) reached
    after end-effector step t, i.e. the joint-position action for step t of the replay. Each mocap is led
    sideways by the arm's integrated shortfall (``LEAD_GAIN``), so that the gripper goes where the plan says.
    """
    if task not in ALOHA_TASKS:
        raise ValueError(f"unknown ALOHA task {task!r}; known ALOHA tasks: {sorted(ALOHA_TASKS)}")
    if task not in _EE_ENVS:
        _EE_ENVS[task] = control_env(ALOHA_TASKS[task].end_effector_xml, _seeded(_END_EFFECTOR_TASKS[task])())
    env = _EE_ENVS[task]
    env.task.poses = object_poses(task, seed)
    env.reset()
    data = env.physics.data
    start = [np.concatenate([data.mocap_pos[i], data.mocap_quat[i]]) for i in (0, 1)]  # left, right
    left, right = (np.concatenate([pose, [CLOSED]]) for pose in start)
    stages = dict(STAGES[task][plan])
    actions = np.zeros((num_steps, 14), np.float32)
    lead = np.zeros(2)  # how far ahead of the plan each mocap is put sideways, along y (m)
    for t in range(num_steps):
        if t in stages:
            left_plan, right_plan = stages[t](t, env.task.get_env_state(env.physics), left, right)
        left, right = interpolate(left_plan, t), interpolate(right_plan, t)
        command = np.concatenate([left, right])
        command[[1, 9]] += lead
        env.step(command)
        actions[t] = np.concatenate([data.qpos[0:6], left[-1:], data.qpos[8:14], right[-1:]])
        reached = welded_mocap_poses(env.physics)[0][:, 1]  # [2]
        lead = np.clip(lead + LEAD_GAIN * (np.array([left[1], right[1]]) - reached), -MAX_LEAD, MAX_LEAD)
    return actions


# The soft welds leave an arm centimetres short of its mocap when it reaches sideways (the wrist must twist);
# leading the mocap by the integrated shortfall gets the gripper where the plan says. Sideways only: the grasp
# heights and reaches already allow for the sag and the lag along the arm.
LEAD_GAIN, MAX_LEAD = 0.05, 0.06


ARM_JOINTS = np.r_[0:6, 7:13]  # the 12 arm joints in the 14-d layout (6 and 13 are the grippers)
_REPLAY_ENVS: dict[str, AlohaEnv] = {}  # camera-less joint-space envs for the tracking correction


def expert_actions(
    task: str, seed: int, *, num_steps: int, corrections: int = 1, plan: int = 0
) -> np.ndarray:
    """The expert's joint-position actions ``[num_steps, 14]`` float32 for ``seed`` and ``plan``, corrected for
    tracking.

    The joint task's position servos lag behind the end-effector trajectory and sag under gravity (the wrist's
    gains are low), enough to miss a grasp. Each correction replays the actions without rendering and adds
    each arm joint's tracking error to its target (iterative learning control; the runs are deterministic).
    One correction raised transfer-cube replays from 9 to 11 of 12 seeds.
    """
    targets = plan_joint_actions(task, seed, num_steps=num_steps, plan=plan)
    actions = targets.copy()
    for _ in range(corrections):
        env = replay_env(task)
        env.reset(seed=seed)
        states = np.stack([env.step(action)[0]["state"] for action in actions])  # [T, 14], every step
        actions[:, ARM_JOINTS] += targets[:, ARM_JOINTS] - states[:, ARM_JOINTS]
    return actions


def replay_env(task: str) -> AlohaEnv:
    """This process's joint-space env for ``task`` that renders nothing (replays that need no pixels)."""
    if task not in _REPLAY_ENVS:
        _REPLAY_ENVS[task] = AlohaEnv(task, render=False)
    return _REPLAY_ENVS[task]


def replay(actions: np.ndarray) -> Callable[[dict], np.ndarray]:
    """An ``act(obs)`` that plays ``actions`` [T, 14] in order, whatever it observes."""
    steps = iter(actions)
    return lambda obs: next(steps)


def replay_max_reward(env: AlohaEnv, seed: int, actions: np.ndarray) -> float:
    """The best reward stage reached when ``actions`` [T, 14] are replayed from ``env.reset(seed)``."""
    return play_episode(env, replay(actions), seed, max_steps=len(actions)).info["max_reward"]


def successful_actions(task: str, seed: int, *, num_steps: int) -> tuple[np.ndarray | None, list[float]]:
    """The first of the task's plans whose corrected replay reaches the top stage: its actions ``[num_steps, 14]``
    (None if no plan does), and the best reward stage of each plan tried."""
    rewards = []
    for plan in range(len(STAGES[task])):
        actions = expert_actions(task, seed, num_steps=num_steps, plan=plan)
        rewards.append(replay_max_reward(replay_env(task), seed, actions))
        if rewards[-1] >= MAX_REWARD:
            return actions, rewards
    return None, rewards


def expert(env: AlohaEnv, seed: int) -> Callable[[dict], np.ndarray] | None:
    """The expert for the episode ``env.reset(seed)`` starts (registered in ``grids.sim.tasks``): the first of the
    task's plans whose corrected replay succeeds, replayed (``rollout_expert`` keeps it if it succeeds again,
    with images); None if no plan succeeds."""
    actions, _ = successful_actions(env.task, seed, num_steps=env.max_steps)
    return None if actions is None else replay(actions)
