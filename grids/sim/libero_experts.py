"""Scripted LIBERO experts from privileged state (object poses, joints and collision geometry).

No scripted LIBERO expert ships anywhere (LIBERO's demonstrations are teleoperated). ``expert_action(env)`` reads
the BDDL goal (``parse_goal``) and acts with a proportional controller on the end-effector position and the hand's
orientation. Two experts behind it:

* LIBERO-Object and -Spatial (one ``in`` / ``on`` goal): a pick-and-place state machine, the hand pointing
  straight down::

      above -> descend -> grasp -> lift -> carry -> lower -> release -> retreat

  A grasp that does not lift the object sends it back to ``above`` (at most ``MAX_REGRASPS`` times). The fingers
  close along the world y axis; wide objects (bowls) are pinched at the rim on the side facing the robot, with the
  hand turned 90 degrees (fingers along x), which also reaches a bowl inside a half-open drawer. Its demonstrations
  are committed: ``EXPERT_VERSION`` names this behaviour and it stays bit for bit as it is.
* LIBERO-Goal and LIBERO-10 (``in``, ``on``, ``open``, ``close``, ``turnon``, up to three at once): a plan of
  skills, one per goal predicate, in the order open, turn on, put, close (``_plan``): pick-and-place as above (a
  drawer opened first when the object goes in it), a drawer pulled by its handle or pushed shut, a stove knob
  grasped and twisted, a hinged door swung shut, a plate dragged by its dish. Every skill has a bounded number
  of tries; one that fails them gives up, and the episode runs out (the demonstration generator drops it).

The expert keeps its state in ``env.expert_state`` (cleared by ``env.reset``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

EXPERT_VERSION = 2  # recorded in a dataset's config; 2: the hand held straight down, not at its start tilt
MAX_REGRASPS = 2
GAIN = 16.0  # action per metre of error: 1.0 (robosuite: 5 cm per step) beyond ~6 cm
CARRY_HEIGHT = 0.30  # hand height above the table while carrying (m); containers are < 0.15 m tall
FINGER_SPAN = 0.07  # objects wider than this (both ways) are grasped at the rim
OPEN, CLOSE = -1.0, 1.0
# one In/On goal each: the version-2 pick-and-place state machine, unchanged
PICK_PLACE_SUITES = ("libero_object", "libero_spatial")
ARITY = {"in": 2, "on": 2, "open": 1, "close": 1, "turnon": 1}
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


def parse_goal(env) -> list[tuple[str, ...]]:
    """The BDDL goal as predicates, lower-cased: ``[("in", "milk_1", "basket_1_contain_region")]``, or
    ``[("turnon", "flat_stove_1"), ("on", "moka_pot_1", "flat_stove_1_cook_region")]``; all must hold at once."""
    predicates = [(p[0].lower(), *p[1:]) for p in env.robosuite.parsed_problem["goal_state"]]
    for predicate in predicates:
        if ARITY.get(predicate[0]) != len(predicate) - 1:
            raise NotImplementedError(f"the scripted expert has no skill for {predicate} ({env.task})")
    return predicates


def _pick_place_goal(env) -> tuple[str, str, str]:
    """``(relation, moved, target_body)`` of a one-predicate goal, e.g. ``("in", "milk_1", "basket_1")``."""
    goal = parse_goal(env)
    if len(goal) != 1 or goal[0][0] not in ("in", "on"):
        raise NotImplementedError(
            f"the pick-and-place expert handles one 'in'/'on' goal, not {goal} ({env.task})"
        )
    relation, moved, target = goal[0]
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
    if env.suite in PICK_PLACE_SUITES:
        return _pick_place_action(env)
    state = env.expert_state
    if "plan" not in state:
        state["plan"] = _plan(env)
    target, grip, orientation = next(state["plan"])
    action = np.zeros(7, dtype=np.float32)
    action[:3] = np.clip((target - env.raw_obs["robot0_eef_pos"]) * GAIN, -1.0, 1.0)
    action[3:6] = _rotation_action(env, orientation)
    action[6] = grip
    return action


def expert(env, seed: int) -> Callable[[dict], np.ndarray]:
    """The expert as ``act(obs)`` for the episode ``env.reset(seed)`` starts (``grids.sim.rollout``)."""
    return lambda obs: expert_action(env)


def _pick_place_action(env) -> np.ndarray:
    state = env.expert_state
    if "relation" not in state:
        state["relation"], state["moved"], state["target"] = _pick_place_goal(env)
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


# ---------------------------------------------------------------------------------------------------------------
# LIBERO-Goal and LIBERO-10: a plan of skills, one per goal predicate.
#
# Each skill is a generator: it yields one command per step, ``(end-effector target [3], gripper, hand orientation
# [3, 3])``, reads the simulator afresh whenever it is resumed, and returns whether its predicate holds. Handles,
# knobs and doors come from the articulated objects' own joints and collision geoms. A skill that fails its bounded
# tries makes the plan give up: the hand rests open until the episode runs out, and the generator drops it.

Command = tuple[np.ndarray, float, np.ndarray]
SKILL_ORDER = ("open", "turnon", "on", "in", "close")  # "in a drawer" opens it first; "close" comes last
MAX_TRIES = 2  # attempts per predicate (each pick also regrasps up to MAX_REGRASPS times)
MAX_DRAGS = 3  # a plate dragged: the fingers go down into its dish at most this often
ROBOT_PREFIXES = ("robot0_", "gripper0_", "mount0_")
TURNED = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ DOWN  # fingers along world x
RELEASE_GAP = 0.015  # the object's bottom above its support when released (m)
FINGER_DEPTH = 0.0125  # how far the closed fingers reach below the end-effector point (m)
# dragging a plate: the fingers' target this far below its dish floor (pressed on, they hold the plate down and do
# not ride over its rim) and this far ahead of the hand (~1 cm a step against the friction)
DRAG_PRESS, DRAG_LEAD = 0.012, 0.03


def ordered(goal: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The goal's predicates in the order the expert makes them hold (``SKILL_ORDER``; stable otherwise)."""
    return sorted(goal, key=lambda p: SKILL_ORDER.index(p[0]))


def _plan(env) -> Iterator[Command]:
    goal = ordered(parse_goal(env))
    log = env.expert_state.setdefault("log", [])  # (predicate, whether its skill made it hold)
    for _ in range(2):  # a second round redoes what a later step undid
        for predicate in goal:
            if _holds(env, predicate):
                continue
            if predicate[0] in ("open", "close"):
                done = yield from _articulate(env, predicate[1], predicate[0])
            elif predicate[0] == "turnon":
                done = yield from _turn_on(env, predicate[1])
            else:
                done = yield from _put(env, predicate, _slot(goal, predicate))
            log.append((predicate, done))
            if not done:  # give up
                break
        if not log or not log[-1][1] or all(_holds(env, p) for p in goal):
            break
    rest = np.array(_eef(env))
    while True:  # done, or given up: rest with the hand open
        yield rest, OPEN, _hand_rotation(env)


def _holds(env, predicate: tuple[str, ...]) -> bool:
    return bool(env.robosuite._eval_predicate(list(predicate)))


def _slot(goal: list[tuple[str, ...]], predicate: tuple[str, ...]) -> tuple[int, int]:
    """``(i, n)``: ``predicate`` puts the i-th of n objects on or in its target (both moka pots on the stove)."""
    sharing = [p for p in goal if p[0] in ("in", "on") and p[2] == predicate[2]]
    return sharing.index(predicate), len(sharing)


# --- geometry from privileged state ---


def _eef(env) -> np.ndarray:
    return env.raw_obs["robot0_eef_pos"].copy()


def _hand_rotation(env) -> np.ndarray:
    from robosuite.utils.transform_utils import quat2mat

    return quat2mat(env.raw_obs["robot0_eef_quat"].copy())


def _rotation_action(env, goal: np.ndarray) -> np.ndarray:
    from robosuite.utils.transform_utils import mat2quat, quat2axisangle

    error = quat2axisangle(mat2quat(goal @ _hand_rotation(env).T))  # world-frame axis-angle, current -> goal
    return np.clip(error, -1.0, 1.0)


def _turn_error(env, goal: np.ndarray) -> float:
    return float(np.linalg.norm(_rotation_action(env, goal)))


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _body_id(env, name: str) -> int:
    return env.robosuite.obj_body_id[name]


def _subtree(model, root: int) -> set[int]:
    bodies = {root}
    for b in range(root + 1, model.nbody):  # MuJoCo numbers a body after its parent
        if model.body_parentid[b] in bodies:
            bodies.add(b)
    return bodies


def _corners(env, bodies: set[int] | int) -> np.ndarray:
    """World corners ``[G, 8, 3]`` of the bounding boxes of the collision geoms of ``bodies`` (an id: its subtree)."""
    model, data = env.model, env.data
    bodies = _subtree(model, bodies) if isinstance(bodies, int) else bodies
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)  # [8, 3]
    out = []
    for g in range(model.ngeom):
        if model.geom_bodyid[g] in bodies and (model.geom_contype[g] or model.geom_conaffinity[g]):
            rotation = data.geom_xmat[g].reshape(3, 3)
            local = model.geom_aabb[g, :3] + signs * model.geom_aabb[g, 3:]  # [8, 3]
            out.append(data.geom_xpos[g] + local @ rotation.T)
    return np.asarray(out).reshape(-1, 8, 3)


def _extent(env, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = corners.reshape(-1, 3)
    return points.min(0), points.max(0)


def _narrowest(corners: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The horizontal direction across which ``corners`` are narrowest: ``(width, yaw, centre xy)``."""
    points = corners.reshape(-1, 3)[:, :2]
    best = None
    for yaw in np.linspace(0.0, np.pi, 36, endpoint=False):
        across, along = np.array([np.cos(yaw), np.sin(yaw)]), np.array([-np.sin(yaw), np.cos(yaw)])
        a, b = points @ across, points @ along
        width = a.max() - a.min()
        if best is None or width < best[0] - 1e-6:
            centre = across * (a.max() + a.min()) / 2 + along * (b.max() + b.min()) / 2
            best = (width, yaw, centre)
    return best


def _fingers_across(yaw: float, wrist: np.ndarray | None = None) -> np.ndarray:
    """The hand pointing down with its fingers closing along the horizontal direction ``yaw`` (mod pi). Of the
    two such hands, the one whose wrist (the arm's last links, on the hand's +x side) leans away from the robot,
    or toward ``wrist`` [2] (pushing: over the pushed object, not into what stands behind it)."""
    turn = (yaw + np.pi) % np.pi - np.pi / 2  # DOWN closes along y: yaw pi/2 is no turn
    if wrist is not None and np.cos(turn) * wrist[0] + np.sin(turn) * wrist[1] < 0:
        turn += np.pi
    return _rot_z(turn) @ DOWN


def _ray(env, start: np.ndarray, direction: np.ndarray, skip: set[int]) -> tuple[float, int]:
    """Distance along ``direction`` from ``start`` to the first collision geom past the robot and ``skip``, and
    that geom (``inf``, -1 if none)."""
    import mujoco

    model, data = env.model, env.data
    point, geom, travelled = np.asarray(start, dtype=float).copy(), np.zeros(1, np.int32), 0.0
    for _ in range(20):
        distance = mujoco.mj_ray(model, data, point, direction, None, 1, -1, geom)
        if distance < 0:
            return np.inf, -1
        g, body = geom[0], model.geom_bodyid[geom[0]]
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or ""
        travelled += distance
        if (
            body in skip
            or name.startswith(ROBOT_PREFIXES)
            or not (model.geom_contype[g] or model.geom_conaffinity[g])
        ):
            point = point + direction * (distance + 1e-4)
            travelled += 1e-4
            continue
        return travelled, int(g)
    return np.inf, -1


def _surface_z(env, xy: np.ndarray, z_from: float, skip: set[int]) -> float:
    """Height of the first collision surface straight below ``(xy, z_from)``, past the robot and ``skip``."""
    return z_from - _ray(env, np.array([xy[0], xy[1], z_from]), np.array([0.0, 0.0, -1.0]), skip)[0]


def _mouth(env, region: str, skip: set[int]) -> tuple[np.ndarray, float] | None:
    """For a region under a roof (a microwave's inside): the horizontal direction out of its open side [2] and how
    far from the region's centre the roof ends that way (m); None for a region open above (a basket's handle
    arching over part of it is no roof)."""
    centre, _, half = _site(env, region)
    up = np.array([0.0, 0.0, 1.0])
    spots = [
        centre + [dx * half[0] / 2, dy * half[1] / 2, 0.0]
        for dx, dy in ((0, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))
    ]
    hits = [_ray(env, spot, up, skip) for spot in spots]
    if any(distance > 0.25 for distance, _ in hits):
        return None
    best = None
    for outward in (np.array([1.0, 0.0]), np.array([-1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, -1.0])):
        distance = _ray(env, centre, np.array([*outward, 0.0]), skip)[0]
        if best is None or distance > best[1]:
            best = (outward, distance)
    outward = best[0]
    roof = _corners(env, {int(env.model.geom_bodyid[hits[0][1]])})
    roof = roof[roof[:, :, 2].min(1) >= centre[2]]  # the geoms above the region
    return outward, float(((roof.reshape(-1, 3) - centre)[:, :2] @ outward).max())


def _boxes_overlap(centre_a, axes_a, half_a, centre_b, axes_b, half_b) -> bool:
    """Separating-axis test of two oriented boxes (centres [3], axes as columns [3, 3], half-sizes [3])."""
    offset = centre_b - centre_a
    candidates = [*axes_a.T, *axes_b.T]
    candidates += [np.cross(a, b) for a in axes_a.T for b in axes_b.T]
    for axis in candidates:
        norm = np.linalg.norm(axis)
        if norm < 1e-9:
            continue
        axis = axis / norm
        reach = np.abs(axes_a.T @ axis) @ half_a + np.abs(axes_b.T @ axis) @ half_b
        if abs(offset @ axis) > reach:
            return False
    return True


def _hand_collides(env, position: np.ndarray, orientation: np.ndarray, skip: set[int]) -> bool:
    """Would the hand (palm and open fingers, two boxes) at ``position``, ``orientation`` overlap a collision geom
    other than the robot's and ``skip``'s (each taken as its bounding box)?"""
    import mujoco

    model, data = env.model, env.data
    hand = [  # (centre, half-size) in the hand frame: z points from the wrist to the fingertips
        (np.array([0.0, 0.0, -0.075]), np.array([0.035, 0.105, 0.053])),  # palm
        (np.array([0.0, 0.0, -0.02]), np.array([0.012, 0.05, 0.028])),  # fingers, open
    ]
    boxes = [(position + orientation @ centre, half) for centre, half in hand]
    for g in range(model.ngeom):
        body = model.geom_bodyid[g]
        if body == 0 or body in skip or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        if (mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or "").startswith(ROBOT_PREFIXES):
            continue
        axes = data.geom_xmat[g].reshape(3, 3)
        centre, half = data.geom_xpos[g] + axes @ model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
        if any(_boxes_overlap(c, orientation, h, centre, axes, half) for c, h in boxes):
            return True
    return False


def _clearance(
    env, start: np.ndarray, end: np.ndarray, skip: set[int], hang: float = 0.0, under: float = np.inf
) -> float:
    """The lowest hand height for moving from ``start`` to ``end`` (xy) without the hand, or an object hanging
    ``hang`` below it, meeting anything: the highest collision geom within a palm's reach of the path, plus a
    margin. Bodies lying wholly above ``under`` are left out (an open drawer over the object to grasp: the hand
    has to come in below it anyway)."""
    import mujoco

    model, data = env.model, env.data
    path = start + np.linspace(0.0, 1.0, 12)[:, None] * (end - start)  # [12, 2]
    boxes = {}  # body -> [(centre, half)] of its collision geoms
    for g in range(model.ngeom):
        body = model.geom_bodyid[g]
        if body == 0 or body in skip or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        if (mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or "").startswith(ROBOT_PREFIXES):
            continue
        half = np.abs(data.geom_xmat[g].reshape(3, 3)) @ model.geom_aabb[g, 3:]
        centre = data.geom_xpos[g] + data.geom_xmat[g].reshape(3, 3) @ model.geom_aabb[g, :3]
        boxes.setdefault(body, []).append((centre, half))
    top = -np.inf
    for geoms in boxes.values():
        if min(centre[2] - half[2] for centre, half in geoms) > under:
            continue
        for centre, half in geoms:  # [12, 2] per-axis distance from the path to the box:
            gap = np.maximum(np.abs(path - centre[:2]) - half[:2], 0.0)
            if (np.linalg.norm(gap, axis=1) < 0.11).any():
                top = max(top, centre[2] + half[2])
    return top + max(hang, 0.014) + 0.025


def _site(env, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A BDDL region's ``(position [3], rotation [3, 3], world half-size [3])``."""
    import mujoco

    sid = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_SITE, name)
    rotation = env.data.site_xmat[sid].reshape(3, 3).copy()
    size = np.asarray(env.robosuite.object_sites_dict[name].size, dtype=float)
    return env.data.site_xpos[sid].copy(), rotation, np.abs(rotation @ size)


def _joint(env, name: str) -> int:
    """The joint that articulates a region (a drawer) or a fixture (a microwave door, a stove knob)."""
    import mujoco

    if name in env.robosuite.object_sites_dict:
        joints = env.robosuite.object_sites_dict[name].joints
    else:
        joints = env.robosuite.get_object(name).joints
    if not joints:
        raise NotImplementedError(f"{name!r} has no joint to articulate ({env.task})")
    return mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_JOINT, joints[0])


def _articulation(env, name: str) -> dict:
    parent = (
        env.robosuite.object_sites_dict[name].parent_name if name in env.robosuite.object_sites_dict else name
    )
    return env.robosuite.get_object(parent).object_properties["articulation"]


def _qpos(env, joint: int) -> float:
    return float(env.data.qpos[env.model.jnt_qposadr[joint]])


# --- motion primitives ---


def _go(
    env, target, grip: float, orientation: np.ndarray, *, tol: float = 0.01, steps: int = 60, turn_tol=None
):
    """Head for ``target`` until within ``tol`` (and the hand turned within ``turn_tol`` rad); False on timeout."""
    target = np.asarray(target, dtype=float)
    for _ in range(steps):
        near = np.linalg.norm(target - _eef(env)) < tol
        if near and (turn_tol is None or _turn_error(env, orientation) < turn_tol):
            return True
        yield target, grip, orientation
    return False


def _stay(env, target, grip: float, orientation: np.ndarray, steps: int):
    for _ in range(steps):
        yield np.asarray(target, dtype=float), grip, orientation


def _lift_clear(env, orientation: np.ndarray, z: float, grip: float = OPEN):
    eef = _eef(env)
    yield from _go(env, [eef[0], eef[1], max(z, eef[2])], grip, orientation, tol=0.02, steps=30)


# --- skills ---


def _grasp_pose(env, moved: str) -> tuple[np.ndarray, np.ndarray]:
    """Where and how to grasp ``moved``: a point [3] and a hand orientation [3, 3].

    Across its narrowest side near the top if that fits between the fingers (boxes, cans, bottles), shifted
    along the object or turned a little if the hand would meet a neighbour (a milk carton beside the cream
    cheese); else by a small
    part on top (a moka pot's lid knob); else pinching the rim that faces the robot (bowls, mugs).
    """
    corners = _corners(env, _body_id(env, moved))
    low, high = _extent(env, corners)
    width, yaw, centre = _narrowest(corners)
    if width <= FINGER_SPAN:
        along = np.array([-np.sin(yaw), np.cos(yaw)])
        reach = np.abs((corners.reshape(-1, 3)[:, :2] - centre) @ along).max() - 0.015
        skip = _subtree(env.model, _body_id(env, moved))
        z = max(high[2] - 0.03, low[2] + 0.012)
        for turn in (
            0.0,
            0.25,
            -0.25,
            0.4,
            -0.4,
        ):  # rad off the narrowest direction, if the fingers still span it
            across = np.array([np.cos(yaw + turn), np.sin(yaw + turn)])
            if np.ptp(corners.reshape(-1, 3)[:, :2] @ across) > FINGER_SPAN + 0.006:
                continue
            orientation = _fingers_across(yaw + turn)
            for shift in (0.0, 0.01, -0.01, 0.02, -0.02, 0.03, -0.03):
                point = np.array([*(centre + along * np.clip(shift, -reach, reach)), z])
                if not any(_hand_collides(env, point + [0, 0, dz], orientation, skip) for dz in (0.0, 0.05)):
                    return point, orientation
        return np.array([*centre, z]), _fingers_across(yaw)
    top = corners[corners[:, :, 2].max(1) > high[2] - 0.015]
    width, yaw, centre = _narrowest(top)
    if width <= FINGER_SPAN / 2:
        return np.array([*centre, high[2] - 0.012]), _fingers_across(yaw)
    # the rim facing the robot (-x), or the nearest other side where the hand meets nothing (an open drawer
    # hanging over the bowl)
    body, z = env.body_position(moved), max(high[2] - 0.015, low[2] + 0.015)
    skip = _subtree(env.model, _body_id(env, moved))
    for turn in (0.0, 0.5, -0.5, 1.0, -1.0, 1.6, -1.6):
        side = np.array([-np.cos(turn), np.sin(turn)])  # from the centre to the rim
        rim = body[:2] + side * (((corners.reshape(-1, 3)[:, :2] - body[:2]) @ side).max() - 0.012)
        orientation = TURNED if turn == 0.0 else _fingers_across(np.arctan2(side[1], side[0]))
        point = np.array([*rim, z])
        if not any(_hand_collides(env, point + [0, 0, dz], orientation, skip) for dz in (0.0, 0.07)):
            return point, orientation
    return np.array([low[0] + 0.012, body[1], z]), TURNED


def _overhang(env, moved: str) -> np.ndarray | None:
    """The xy centre [2] of what hangs over ``moved`` (bodies lying wholly above its top within a palm's reach
    of it: an open drawer), or None."""
    import mujoco

    model = env.model
    low, high = _extent(env, _corners(env, _body_id(env, moved)))
    skip = _subtree(model, _body_id(env, moved))
    bodies = {
        int(model.geom_bodyid[g])
        for g in range(model.ngeom)
        if (model.geom_contype[g] or model.geom_conaffinity[g]) and model.geom_bodyid[g] not in skip
    }
    over = []
    for body in bodies - {0}:
        if (mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or "").startswith(ROBOT_PREFIXES):
            continue
        b_low, b_high = _extent(env, _corners(env, {body}))
        if b_low[2] > high[2] and np.all(b_low[:2] < high[:2] + 0.05) and np.all(b_high[:2] > low[:2] - 0.05):
            over.append((np.maximum(b_low[:2], low[:2]) + np.minimum(b_high[:2], high[:2])) / 2)
    return np.mean(over, axis=0) if over else None


def _pick(env, moved: str, lift_z: float):
    """Grasp ``moved`` and lift the hand to ``lift_z``; returns the hand orientation, or None after the regrasps.
    The hand travels above whatever stands along its way (a tall carton beside the path); under something that
    hangs over the object (an open drawer) it comes in low, straight from where it is, and slides the object out
    from under it before lifting."""
    for _ in range(MAX_REGRASPS + 1):
        grasp, orientation = _grasp_pose(env, moved)
        low, high = _extent(env, _corners(env, _body_id(env, moved)))
        above = np.array([grasp[0], grasp[1], max(high[2] + 0.07, grasp[2] + 0.07)])
        overhang = _overhang(env, moved)
        if overhang is None:
            travel = max(above[2], _clearance(env, _eef(env)[:2], grasp[:2], set()))
            yield from _lift_clear(env, _hand_rotation(env), travel)
            yield from _go(env, [*grasp[:2], max(travel, _eef(env)[2])], OPEN, orientation, steps=80)
        yield from _go(env, above, OPEN, orientation, steps=40, turn_tol=0.1)
        yield from _go(env, grasp, OPEN, orientation, tol=0.008, steps=40)
        yield from _stay(env, grasp, CLOSE, orientation, 10)
        if overhang is not None:
            away = (low[:2] + high[:2]) / 2 - overhang
            away = grasp[:2] + away / max(np.linalg.norm(away), 1e-6) * 0.08
            yield from _go(env, [*away, grasp[2] + 0.01], CLOSE, orientation, tol=0.015, steps=30)
        eef = _eef(env)
        yield from _go(env, [eef[0], eef[1], lift_z], CLOSE, orientation, tol=0.03, steps=40)
        if _extent(env, _corners(env, _body_id(env, moved)))[0][2] > low[2] + 0.04:
            return orientation
        yield from _stay(env, _eef(env), OPEN, orientation, 5)
    return None


def _place_spot(env, predicate: tuple[str, ...], slot: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Where ``moved``'s body goes: ``(xy [2], height of the surface it rests on)``."""
    relation, moved, target = predicate
    skip = _subtree(env.model, _body_id(env, moved))
    if target in env.robosuite.obj_body_id:  # on an object: LIBERO wants the two bodies within 3 cm
        xy = env.body_position(target)[:2]
        return xy, _surface_z(env, xy, _extent(env, _corners(env, _body_id(env, target)))[1][2] + 0.05, skip)
    position, _, half = _site(env, target)
    xy = position[:2].copy()
    i, n = slot
    if n > 1:  # side by side along x, 3 cm apart if the region allows
        low, high = _extent(env, _corners(env, _body_id(env, moved)))
        xy[0] += np.clip((i - (n - 1) / 2) * (high[0] - low[0] + 0.03), 0.015 - half[0], half[0] - 0.015)
    if relation == "in":
        z_from = position[2]
        drawer = env.robosuite.object_sites_dict[target].joints
        if drawer:  # well out of the cabinet: the hand must not meet the drawer above
            joint = _joint(env, target)
            xy += _open_direction(env, target, joint)[:2] * min(0.03, half[:2].min())
    else:
        z_from = position[2] + half[2] + 0.05
    return xy, _surface_z(env, xy, z_from, skip)


def _put(env, predicate: tuple[str, ...], slot: tuple[int, int]):
    """``on`` / ``in``: pick the object up and set it down on or in the target (or drag a plate there, or slide it
    into a region under a roof)."""
    relation, moved, target = predicate
    corners = _corners(env, _body_id(env, moved))
    low, high = _extent(env, corners)
    if _narrowest(corners)[0] > FINGER_SPAN and high[2] - low[2] < 0.03:  # a plate: too flat to pinch
        return (yield from _push(env, predicate))
    skip = _subtree(env.model, _body_id(env, moved))
    if relation == "in" and target in env.robosuite.object_sites_dict:
        drawer = bool(env.robosuite.object_sites_dict[target].joints)  # roofed until it is pulled open
        mouth = None if drawer else _mouth(env, target, skip)
        if mouth is not None:
            return (yield from _slide_in(env, predicate, mouth))
    for _ in range(MAX_TRIES):
        if relation == "in" and target in env.robosuite.object_sites_dict:
            if env.robosuite.object_sites_dict[target].joints and not _holds(env, ("open", target)):
                if not (yield from _articulate(env, target, "open")):
                    return False
        low, high = _extent(env, _corners(env, _body_id(env, moved)))
        spot, support = _place_spot(env, predicate, slot)
        carry_z = max(low[2] + CARRY_HEIGHT, support + (high[2] - low[2]) + 0.10)
        orientation = yield from _pick(env, moved, carry_z)
        if orientation is None:
            return False
        eef = _eef(env)
        offset = env.body_position(moved)[:2] - eef[:2]  # where the object hangs from the hand
        depth = eef[2] - _extent(env, _corners(env, _body_id(env, moved)))[0][2]  # hand to object bottom
        spot, support = _place_spot(env, predicate, slot)
        over = spot - offset
        carry_z = max(carry_z, _clearance(env, eef[:2], over, skip, hang=depth))
        yield from _lift_clear(env, orientation, carry_z, CLOSE)
        yield from _go(env, [*over, carry_z], CLOSE, orientation, steps=80)
        yield from _go(env, [*over, support + RELEASE_GAP + depth], CLOSE, orientation, tol=0.015, steps=40)
        yield from _stay(env, _eef(env), OPEN, orientation, 8)
        yield from _lift_clear(env, orientation, carry_z)
        if _holds(env, predicate):
            return True
    return False


def _move_aside(env, moved: str, spot: np.ndarray):
    """Pick ``moved`` up and set it down on the table (or whatever is there) with its body at ``spot`` [2]."""
    orientation = yield from _pick(env, moved, env.body_position(moved)[2] + CARRY_HEIGHT)
    if orientation is None:
        return False
    eef = _eef(env)
    over = spot - (env.body_position(moved)[:2] - eef[:2])
    depth = eef[2] - _extent(env, _corners(env, _body_id(env, moved)))[0][2]
    support = _surface_z(env, spot, eef[2] - depth - 0.005, _subtree(env.model, _body_id(env, moved)))
    yield from _go(env, [*over, eef[2]], CLOSE, orientation, steps=80)
    yield from _go(env, [*over, support + RELEASE_GAP + depth], CLOSE, orientation, tol=0.015, steps=40)
    yield from _stay(env, _eef(env), OPEN, orientation, 8)
    yield from _lift_clear(env, orientation, _eef(env)[2] + 0.08)
    return True


def _slide_in(env, predicate: tuple[str, ...], mouth: tuple[np.ndarray, float]):
    """Put an object in a region under a roof (a microwave): held level by its rear part (a mug by its handle),
    the hand pointing in, it goes through the open side to the region's centre; a level hand fits under the roof.
    The hand turns level out in the open, by way of pointing down with its wrist toward the region."""
    _, moved, target = predicate
    outward, edge = mouth
    outward3 = np.array([*outward, 0.0])
    side = np.cross(np.array([0.0, 0.0, 1.0]), outward3)
    level = _level(outward3, side)
    down = _fingers_across(np.arctan2(side[1], side[0]), wrist=-outward)  # a quarter turn from level
    skip = _subtree(env.model, _body_id(env, moved))
    centre, _, half = _site(env, target)
    for _ in range(MAX_TRIES):
        # first set it down in front of the open side, clear of whatever stood behind it (the level hand and the
        # arm's wrist reach far behind a level grasp)
        body = env.body_position(moved)
        front = -((_corners(env, _body_id(env, moved)).reshape(-1, 3)[:, :2] - body[:2]) @ outward).min()
        stage = centre[:2] + outward * (edge + front + 0.02)  # just before the open side
        if np.linalg.norm(body[:2] - stage) > 0.03 and not (yield from _move_aside(env, moved, stage)):
            return False
        corners = _corners(env, _body_id(env, moved))
        low, high = _extent(env, corners)
        reach = corners[:, :, :2] @ outward  # [G, 8]
        rear = corners[reach.max(1) > reach.max() - 0.03]  # the part farthest out: a handle
        _, rear_high = _extent(env, rear)
        grasp = np.array([*_narrowest(rear)[2], rear_high[2] - 0.02])
        behind = grasp + outward3 * 0.10
        yield from _lift_clear(
            env, _hand_rotation(env), max(behind[2] + 0.10, _clearance(env, _eef(env)[:2], behind[:2], set()))
        )
        yield from _go(env, [*behind[:2], _eef(env)[2]], OPEN, down, steps=80, turn_tol=0.15)
        yield from _go(env, behind + [0, 0, 0.10], OPEN, level, steps=60, turn_tol=0.1)
        yield from _go(env, behind, OPEN, level, tol=0.01, steps=40)
        yield from _go(env, grasp, OPEN, level, tol=0.008, steps=40)
        yield from _stay(env, grasp, CLOSE, level, 10)
        floor = _surface_z(env, centre[:2], centre[2], skip)
        depth = grasp[2] - low[2]
        inside = np.array([*(centre[:2] - (env.body_position(moved)[:2] - grasp[:2])), floor + 0.02 + depth])
        entry = inside + outward3 * (half[:2] @ np.abs(outward) + 0.15)
        lift = max(inside[2], grasp[2]) + 0.05
        yield from _go(env, [*grasp[:2], lift], CLOSE, level, tol=0.02, steps=30)
        if _extent(env, _corners(env, _body_id(env, moved)))[0][2] < low[2] + 0.02:  # not held
            yield from _stay(env, _eef(env), OPEN, level, 5)
            yield from _go(env, _eef(env) + outward3 * 0.10, OPEN, level, tol=0.02, steps=30)
            continue
        yield from _go(env, [*entry[:2], lift], CLOSE, level, steps=80)
        yield from _go(env, entry, CLOSE, level, tol=0.015, steps=40)
        yield from _go(env, inside, CLOSE, level, tol=0.01, steps=60)
        yield from _stay(env, _eef(env), OPEN, level, 8)
        yield from _go(env, entry, OPEN, level, tol=0.02, steps=60)
        if _holds(env, predicate):
            return True
    return False


def _push(env, predicate: tuple[str, ...]):
    """Drag a plate over the table onto the target region: the closed fingers go down into its dish, press on its
    floor and move it to ``_drag_goal``, the leading finger caught by the inside of the rim. The hand stays over
    the plate, clear of what stands around it (a cabinet's drawer handles right behind); a plate stalled against
    another object lets the fingers slip over its rim: they go down into it again."""
    _, moved, target = predicate
    for _ in range(MAX_DRAGS):
        body, goal = env.body_position(moved)[:2], _drag_goal(env, moved, target)
        heading = goal - body
        orientation = _fingers_across(np.arctan2(heading[1], heading[0]))  # the fingers' long side leads
        high = _extent(env, _corners(env, _body_id(env, moved)))[1]
        floor = _surface_z(env, body, high[2] + 0.05, set()) + FINGER_DEPTH  # the hand's height on the dish
        yield from _lift_clear(env, _hand_rotation(env), high[2] + 0.06, CLOSE)
        yield from _go(env, [*body, high[2] + 0.06], CLOSE, orientation, steps=80, turn_tol=0.1)
        yield from _go(env, [*body, floor + 0.003], CLOSE, orientation, tol=0.006, steps=30)
        yield from _stay(env, [*body, floor - DRAG_PRESS], CLOSE, orientation, 10)
        yield from _drag_to(env, moved, goal, floor, orientation)
        yield from _lift_clear(env, _hand_rotation(env), _eef(env)[2] + 0.06, CLOSE)
        if _holds(env, predicate):
            return True
    return False


def _drag_to(env, moved: str, point: np.ndarray, floor: float, orientation: np.ndarray):
    """Drag the plate (the fingers pressed on its dish's ``floor``) until its centre is within 1.2 cm of ``point``
    [2], or until the fingers have left the dish (they rode over the rim of a plate that stalled)."""
    for _ in range(120):
        body, eef = env.body_position(moved)[:2], _eef(env)
        error = point - body
        if np.linalg.norm(error) < 0.012 or np.linalg.norm(eef[:2] - body) > 0.04 or eef[2] > floor + 0.01:
            return
        lead = error / np.linalg.norm(error) * min(DRAG_LEAD, np.linalg.norm(error))
        yield np.array([*(eef[:2] + lead), floor - DRAG_PRESS]), CLOSE, orientation


def _drag_goal(env, moved: str, target: str) -> np.ndarray:
    """Where a dragged plate's centre goes [2]: the point of the target region nearest to it, 1.5 cm inside (the
    shortest drag, and the least of the objects standing in the region pushed ahead)."""
    centre, _, half = _site(env, target)
    inner = np.maximum(half[:2] - 0.015, 0.0)
    return np.clip(env.body_position(moved)[:2], centre[:2] - inner, centre[:2] + inner)


def _open_direction(env, name: str, joint: int) -> np.ndarray:
    """The world direction a drawer moves when it opens."""
    axis = env.data.xmat[env.model.jnt_bodyid[joint]].reshape(3, 3) @ env.model.jnt_axis[joint]
    ranges = _articulation(env, name)
    return axis * np.sign(np.mean(ranges["default_open_ranges"]) - np.mean(ranges["default_close_ranges"]))


def _goal_qpos(env, name: str, relation: str) -> float:
    """A joint position that makes ``relation`` ("open", "close", "turnon") hold: the far end of LIBERO's range for
    a drawer or a door (all the way), a quarter into it for a knob (turning on is a threshold)."""
    ranges = _articulation(env, name)
    opposite = {"open": "close", "close": "open", "turnon": "turnoff"}[relation]
    inside, other = (
        np.asarray(ranges[f"default_{relation}_ranges"]),
        np.asarray(ranges[f"default_{opposite}_ranges"]),
    )
    near, far = (inside.min(), inside.max()) if inside.mean() > other.mean() else (inside.max(), inside.min())
    return float(near + (far - near) * (0.25 if relation == "turnon" else 1.0))


def _articulate(env, name: str, relation: str):
    """``open`` / ``close`` a drawer (by its handle) or a hinged door."""
    joint = _joint(env, name)
    if env.model.jnt_type[joint] == 2:  # slide: a drawer
        return (yield from _slide(env, name, joint, relation))
    return (yield from _swing(env, name, joint, relation))


def _handle(env, name: str, joint: int) -> tuple[np.ndarray, np.ndarray]:
    """A drawer's handle: the centre [3] of its front-most collision geom, and the drawer's opening direction [3]."""
    outward = _open_direction(env, name, joint)
    corners = _corners(env, {int(env.model.jnt_bodyid[joint])})
    front = corners[np.argmax(corners.mean(1) @ outward)]
    return front.mean(0), outward


def _slide(env, name: str, joint: int, relation: str):
    """Open a drawer by pulling its handle, or push it shut."""
    for _ in range(MAX_TRIES):
        if relation == "open":
            yield from _pull_open(env, name, joint)
        else:
            yield from _push_shut(env, name, joint)
        if _holds(env, (relation, name)):
            return True
    return False


def _level(outward: np.ndarray, fingers: np.ndarray) -> np.ndarray:
    """The hand level, pointing at a drawer's front (against ``outward``), its fingers closing along ``fingers``."""
    return np.column_stack([np.cross(fingers, -outward), fingers, -outward])


def _pull_open(env, name: str, joint: int):
    """Grasp the handle's bar level, the fingers closing on it from above and below, and pull it all the way."""
    handle, outward = _handle(env, name, joint)
    orientation = _level(outward, np.array([0.0, 0.0, 1.0]))
    stop = handle + outward * (abs(_goal_qpos(env, name, "open") - _qpos(env, joint)) + 0.01)
    before = handle + outward * 0.10
    yield from _lift_clear(env, _hand_rotation(env), before[2] + 0.05)
    yield from _go(
        env, [*before[:2], max(before[2], _eef(env)[2])], OPEN, orientation, steps=60, turn_tol=0.1
    )
    yield from _go(env, before, OPEN, orientation, steps=40, turn_tol=0.1)
    yield from _go(env, handle, OPEN, orientation, tol=0.008, steps=40)
    yield from _stay(env, handle, CLOSE, orientation, 10)
    for _ in range(80):
        if _holds(env, ("open", name)):
            break
        yield stop, CLOSE, orientation
    yield from _stay(env, stop, CLOSE, orientation, 3)
    yield from _stay(env, _eef(env), OPEN, orientation, 6)
    yield from _go(env, _eef(env) + outward * 0.08, OPEN, orientation, tol=0.02, steps=30)


def _push_shut(env, name: str, joint: int):
    """Push a drawer shut by its handle's bar with the closed fingertips: first with the hand pointing down, its
    narrow side forward, until the hand nears the cabinet's front; then level, pointing at the bar (from the start,
    a level hand's wrist would reach back into whatever stands behind an open drawer: a wine rack)."""
    handle, outward = _handle(env, name, joint)
    travel = abs(_goal_qpos(env, name, "close") - _qpos(env, joint))
    push = -outward[:2] / np.linalg.norm(outward[:2])
    down = _fingers_across(np.arctan2(push[1], push[0]) + np.pi / 2, wrist=push)
    start = handle + outward * 0.03
    skip = _subtree(env.model, int(env.model.jnt_bodyid[joint]))
    yield from _lift_clear(env, _hand_rotation(env), handle[2] + 0.10, CLOSE)
    yield from _go(
        env,
        [*start[:2], max(handle[2] + 0.10, _clearance(env, _eef(env)[:2], start[:2], skip))],
        CLOSE,
        down,
        steps=60,
        turn_tol=0.1,
    )
    yield from _go(env, start, CLOSE, down, tol=0.01, steps=40)
    for _ in range(60):
        left = abs(_goal_qpos(env, name, "close") - _qpos(env, joint))
        if left < 0.04:  # the hand would meet the drawer above
            break
        yield handle - outward * (travel + 0.02), CLOSE, down
    handle, _ = _handle(env, name, joint)
    level = _level(outward, np.cross(np.array([0.0, 0.0, 1.0]), outward))
    yield from _lift_clear(env, down, handle[2] + 0.10, CLOSE)
    yield from _go(
        env, [*(handle + outward * 0.06)[:2], handle[2] + 0.10], CLOSE, level, steps=60, turn_tol=0.1
    )
    yield from _go(env, handle + outward * 0.06, CLOSE, level, tol=0.01, steps=40)
    for _ in range(60):
        if _holds(env, ("close", name)):
            break
        yield handle - outward * 0.06, CLOSE, level
    yield from _stay(env, _eef(env), CLOSE, level, 3)
    yield from _go(env, _eef(env) + outward * 0.08, CLOSE, level, tol=0.02, steps=30)


def _swing(env, name: str, joint: int, relation: str):
    """Swing a hinged door (the microwave's) by pushing near its free edge with the side of the closed hand."""
    predicate = (relation, name)
    model, data = env.model, env.data
    door = int(model.jnt_bodyid[joint])
    hinge = data.xanchor[joint].copy()
    axis = data.xmat[door].reshape(3, 3) @ model.jnt_axis[joint]
    sense = np.sign(_goal_qpos(env, name, relation) - _qpos(env, joint)) * np.sign(axis[2])
    for _ in range(MAX_TRIES):
        corners = _corners(env, {door})
        low, high = _extent(env, corners)
        radial = corners.reshape(-1, 3)[:, :2] - hinge[:2]
        length = np.linalg.norm(radial, axis=1).max()
        mid_z = (low[2] + high[2]) / 2
        for step in range(140):
            if _holds(env, predicate):
                break
            centre = _corners(env, {door}).reshape(-1, 3)[:, :2].mean(0) - hinge[:2]
            along = centre / np.linalg.norm(centre)
            ahead = np.array([-along[1], along[0]]) * sense  # where the free edge goes
            contact = hinge[:2] + along * 0.75 * length
            if step == 0:
                start = contact - ahead * 0.07
                yield from _lift_clear(env, DOWN, high[2] + 0.05, CLOSE)
                yield from _go(env, [*start, high[2] + 0.05], CLOSE, DOWN, steps=80, turn_tol=0.15)
                yield from _go(env, [*start, mid_z], CLOSE, DOWN, steps=40)
            lead = _rot_z(sense * 0.35)[:2, :2] @ (along * 0.75 * length)
            yield np.array([*(hinge[:2] + lead), mid_z]), CLOSE, DOWN
        yield from _stay(env, _eef(env), CLOSE, DOWN, 3)
        yield from _lift_clear(env, DOWN, high[2] + 0.05, CLOSE)
        if _holds(env, predicate):
            return True
    return False


def _turn_on(env, name: str):
    """Turn a stove's knob: grasp its ridge from above and twist the hand about the knob's axis."""
    predicate = ("turnon", name)
    model, data = env.model, env.data
    joint = _joint(env, name)
    knob = int(model.jnt_bodyid[joint])
    axis = data.xanchor[joint].copy()
    goal = _goal_qpos(env, name, "turnon")
    for _ in range(MAX_TRIES):
        corners = _corners(env, {knob})
        ridge = corners[np.argmax(corners[:, :, 2].max(1))]
        _, yaw, centre = _narrowest(ridge)
        grasp = np.array([*centre, ridge[:, 2].max() - 0.015])
        orientation = _fingers_across(yaw)
        start = _qpos(env, joint)
        yield from _lift_clear(env, _hand_rotation(env), grasp[2] + 0.08)
        yield from _go(env, grasp + [0, 0, 0.07], OPEN, orientation, steps=80, turn_tol=0.1)
        yield from _go(env, grasp, OPEN, orientation, tol=0.008, steps=40)
        yield from _stay(env, grasp, CLOSE, orientation, 10)
        for _ in range(80):
            turned = _qpos(env, joint) - start
            if _qpos(env, joint) >= goal:
                break
            follow = axis[:2] + _rot_z(turned)[:2, :2] @ (grasp[:2] - axis[:2])
            yield np.array([*follow, grasp[2]]), CLOSE, _rot_z(min(turned + 0.3, goal - start)) @ orientation
        yield from _stay(env, _eef(env), OPEN, _hand_rotation(env), 8)
        yield from _lift_clear(env, _hand_rotation(env), grasp[2] + 0.08)
        if _holds(env, predicate):
            return True
    return False
