"""A scripted pick-and-place expert for LIBERO, from privileged state (object poses and collision geometry).

No scripted LIBERO expert ships anywhere (LIBERO's demonstrations are teleoperated). This one reads the
BDDL goal (``in <object> <container>_contain_region`` or ``on <object> <target>``), then runs a state
machine on the end-effector position with a proportional controller, the hand held pointing straight down::

    above -> descend -> grasp -> lift -> carry -> lower -> release -> retreat

A grasp that does not lift the object sends it back to ``above`` (at most ``MAX_REGRASPS`` times). The
gripper points straight down, its fingers closing along the world y axis; wide objects (bowls) are
pinched at the rim on the side facing the robot, with the hand turned 90 degrees (fingers along x), which
also reaches a bowl inside a half-open drawer.

The expert keeps its state in ``env.expert_state`` (cleared by ``env.reset``).
"""

from __future__ import annotations

import numpy as np

EXPERT_VERSION = 2  # recorded in a dataset's config; 2: the hand held straight down, not at its start tilt
MAX_REGRASPS = 2
GAIN = 16.0  # action per metre of error: 1.0 (robosuite: 5 cm per step) beyond ~6 cm
CARRY_HEIGHT = 0.30  # hand height above the table while carrying (m); containers are < 0.15 m tall
FINGER_SPAN = 0.07  # objects wider than this (both ways) are grasped at the rim
OPEN, CLOSE = -1.0, 1.0
# the hand pointing straight down, fingers closing along world y. Not the start's orientation: the arm's start
# noise tilts the hand up to ~7 degrees, enough for a fingertip to stop on a 2-cm-flat box (the cream cheese)
DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])


def object_extent(env, name: str) -> tuple[np.ndarray, np.ndarray]:
    """World-axis bounding box ``(low [3], high [3])`` of the collision geoms of body ``name`` (and its children)."""
    model, data = env.model, env.data
    root = env.robosuite.obj_body_id[name]
    bodies = {b for b in range(model.nbody) if b == root or model.body_parentid[b] == root}
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for g in range(model.ngeom):
        if model.geom_bodyid[g] not in bodies or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        rotation = data.geom_xmat[g].reshape(3, 3)
        center = data.geom_xpos[g] + rotation @ model.geom_aabb[g, :3]
        half = np.abs(rotation) @ model.geom_aabb[g, 3:]
        low, high = np.minimum(low, center - half), np.maximum(high, center + half)
    return low, high


def parse_goal(env) -> tuple[str, str, str]:
    """``(relation, moved, target_body)`` from the BDDL goal, e.g. ``("in", "milk_1", "basket_1")``."""
    goal = env.robosuite.parsed_problem["goal_state"]
    if len(goal) != 1 or goal[0][0].lower() not in ("in", "on"):
        raise NotImplementedError(f"the scripted expert handles one 'in'/'on' goal, not {goal} ({env.task})")
    relation, moved, target = goal[0][0].lower(), goal[0][1], goal[0][2]
    bodies = env.robosuite.obj_body_id
    while target not in bodies:  # "basket_1_contain_region" -> "basket_1"
        target = target.rsplit("_", 1)[0]
        if "_" not in target and target not in bodies:
            raise NotImplementedError(f"cannot find the body of goal target {goal[0][2]!r} ({env.task})")
    return relation, moved, target


def _grasp_point(env, moved: str) -> np.ndarray:
    low, high = object_extent(env, moved)
    center = (low + high) / 2
    size = high - low
    if min(size[0], size[1]) <= FINGER_SPAN:  # fits between the fingers: grasp near the top, at the centre
        return np.array([center[0], center[1], max(high[2] - 0.03, low[2] + 0.012)])
    # a bowl: pinch its wall on the side facing the robot (-x; the robot stands at -x in every LIBERO scene),
    # with the hand turned 90 degrees so that the fingers close across the wall (along x)
    return np.array([low[0] + 0.012, center[1], high[2] - 0.015])


def _turned(env, moved: str) -> bool:
    low, high = object_extent(env, moved)
    return min(high[0] - low[0], high[1] - low[1]) > FINGER_SPAN


def _orientation_action(env) -> np.ndarray:
    from robosuite.utils.transform_utils import mat2quat, quat2axisangle, quat2mat

    current = quat2mat(env.raw_obs["robot0_eef_quat"].copy())
    if "orientation" not in env.expert_state:
        turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about world z
        env.expert_state["orientation"] = turn @ DOWN if _turned(env, env.expert_state["moved"]) else DOWN
    goal = env.expert_state["orientation"]
    error = quat2axisangle(mat2quat(goal @ current.T))  # world-frame axis-angle that turns current into goal
    return np.clip(error / 0.5 * 0.5, -1.0, 1.0)


def _phase(state: dict, name: str, t: int) -> None:
    state["phase"], state["since"] = name, t


def expert_action(env) -> np.ndarray:
    """The expert's action for ``env``'s current state: float32 [7] in [-1, 1]."""
    if env.raw_obs is None:
        raise RuntimeError("call env.reset() before expert_action(env)")
    state = env.expert_state
    if "relation" not in state:
        state["relation"], state["moved"], state["target"] = parse_goal(env)
        state["regrasps"], state["t"] = 0, 0
        # the table (or floor) top: where the moved object rests; LIBERO scenes put it at z = 0 or ~0.9
        state["carry_z"] = object_extent(env, state["moved"])[0][2] + CARRY_HEIGHT
        _phase(state, "above", 0)
    t, eef = state["t"], env.raw_obs["robot0_eef_pos"].copy()
    state["t"] += 1
    goal, grip = _step_goal(env, state, t, eef)
    action = np.zeros(7, dtype=np.float32)
    action[:3] = np.clip((goal - eef) * GAIN, -1.0, 1.0)
    action[3:6] = _orientation_action(env)
    action[6] = grip
    return action


def _step_goal(env, state: dict, t: int, eef: np.ndarray) -> tuple[np.ndarray, float]:
    """Advance the state machine; returns the end-effector target [3] and the gripper command."""
    moved = state["moved"]
    phase, elapsed = state["phase"], t - state["since"]
    if phase == "above":
        grasp = state["grasp"] = _grasp_point(env, moved)
        goal = np.array([grasp[0], grasp[1], max(object_extent(env, moved)[1][2] + 0.07, grasp[2] + 0.07)])
        if (np.linalg.norm((goal - eef)[:2]) < 0.01 and abs(goal[2] - eef[2]) < 0.02) or elapsed > 60:
            state["bottom"] = object_extent(env, moved)[0][2]
            _phase(state, "descend", t)
        return goal, OPEN
    if phase == "descend":
        goal = state["grasp"]
        if np.linalg.norm(goal - eef) < 0.008 or elapsed > 40:
            _phase(state, "grasp", t)
        return goal, OPEN
    if phase == "grasp":
        if elapsed >= 10:
            _phase(state, "lift", t)
        return state["grasp"], CLOSE
    if phase == "lift":
        goal = np.array([state["grasp"][0], state["grasp"][1], state["carry_z"]])
        if eef[2] > state["carry_z"] - 0.03 or elapsed > 40:
            low = object_extent(env, moved)[0]
            if low[2] < state["bottom"] + 0.05:  # the object stayed down: open and try again
                state["regrasps"] += 1
                _phase(state, "above" if state["regrasps"] <= MAX_REGRASPS else "retreat", t)
                return goal, OPEN
            state["offset"] = env.body_position(moved)[:2] - eef[:2]  # where the object hangs from the hand
            state["depth"] = eef[2] - low[2]  # from the hand down to the object's bottom
            _phase(state, "carry", t)
        return goal, CLOSE
    if phase in ("carry", "lower"):
        low, high = object_extent(env, state["target"])
        center = (low + high) / 2
        goal = np.array([center[0] - state["offset"][0], center[1] - state["offset"][1], state["carry_z"]])
        if phase == "carry":
            if np.linalg.norm((goal - eef)[:2]) < 0.01 or elapsed > 80:
                _phase(state, "lower", t)
            return goal, CLOSE
        # release with the object's bottom just above the container's floor or the target's top
        bottom = low[2] + 0.06 if state["relation"] == "in" else high[2] + 0.015
        goal[2] = bottom + state["depth"]
        if abs(goal[2] - eef[2]) < 0.015 or elapsed > 40:
            _phase(state, "release", t)
        return goal, CLOSE
    if phase == "release":
        if elapsed >= 8:
            _phase(state, "retreat", t)
        return eef, OPEN
    return np.array([eef[0], eef[1], state["carry_z"]]), OPEN  # retreat
