"""Task names of every suite, their registration (``grids.sim.suites``), task sets, MetaWorld's instructions.

The MetaWorld instructions are our own wording (MetaWorld ships none): one imperative sentence per task that
names the object and what to do with it, so that a policy conditioned on language can tell tasks apart.
Nothing here imports a simulator: LIBERO's and ALOHA's task names are known without their extras.
"""

from __future__ import annotations

import difflib

from grids.sim.suites import SUITES, Suite, register_suite

INSTRUCTIONS: dict[str, str] = {
    "assembly-v3": "put the ring onto the peg",
    "basketball-v3": "dunk the ball into the basket",
    "bin-picking-v3": "move the cube from the left bin to the right bin",
    "box-close-v3": "put the lid on the box",
    "button-press-topdown-v3": "press the button from the top",
    "button-press-topdown-wall-v3": "press the button from the top behind the wall",
    "button-press-v3": "press the button from the front",
    "button-press-wall-v3": "press the button behind the wall",
    "coffee-button-v3": "push the button on the coffee machine",
    "coffee-pull-v3": "pull the mug out of the coffee machine",
    "coffee-push-v3": "push the mug under the coffee machine",
    "dial-turn-v3": "turn the dial",
    "disassemble-v3": "pick the ring off the peg",
    "door-close-v3": "close the door",
    "door-lock-v3": "lock the door by turning the lock",
    "door-open-v3": "open the door",
    "door-unlock-v3": "unlock the door by turning the lock",
    "hand-insert-v3": "put your hand into the hole",
    "drawer-close-v3": "close the drawer",
    "drawer-open-v3": "open the drawer",
    "faucet-open-v3": "turn the faucet handle to open it",
    "faucet-close-v3": "turn the faucet handle to close it",
    "hammer-v3": "hammer the nail into the wall",
    "handle-press-side-v3": "press the handle down from the side",
    "handle-press-v3": "press the handle down",
    "handle-pull-side-v3": "pull the handle up from the side",
    "handle-pull-v3": "pull the handle up",
    "lever-pull-v3": "pull the lever up",
    "pick-place-wall-v3": "pick up the puck and place it at the goal behind the wall",
    "pick-out-of-hole-v3": "pick the peg out of the hole",
    "pick-place-v3": "pick up the puck and place it at the goal",
    "plate-slide-v3": "slide the plate into the goal",
    "plate-slide-side-v3": "slide the plate sideways into the goal",
    "plate-slide-back-v3": "slide the plate back out of the goal",
    "plate-slide-back-side-v3": "slide the plate sideways out of the goal",
    "peg-insert-side-v3": "insert the peg into the hole from the side",
    "peg-unplug-side-v3": "unplug the peg sideways",
    "soccer-v3": "kick the ball into the goal",
    "stick-push-v3": "grasp the stick and push the box with it",
    "stick-pull-v3": "grasp the stick and pull the box with it",
    "push-v3": "push the puck to the goal",
    "push-wall-v3": "push the puck to the goal behind the wall",
    "push-back-v3": "pull the puck back to the goal",
    "reach-v3": "reach the red goal point",
    "reach-wall-v3": "reach the goal point behind the wall",
    "shelf-place-v3": "place the puck on the shelf",
    "sweep-into-v3": "sweep the puck into the hole",
    "sweep-v3": "sweep the puck off the table",
    "window-open-v3": "slide the window open",
    "window-close-v3": "slide the window closed",
}

MT10 = [
    "reach-v3",
    "push-v3",
    "pick-place-v3",
    "door-open-v3",
    "drawer-open-v3",
    "drawer-close-v3",
    "button-press-topdown-v3",
    "peg-insert-side-v3",
    "window-open-v3",
    "window-close-v3",
]

TASK_SETS: dict[str, list[str]] = {
    # short expert episodes (~40-80 steps) and a target that is visible in the third-person view
    "quick": ["reach-v3", "button-press-topdown-v3", "drawer-close-v3"],
    "mt10": MT10,
    "mt50": list(INSTRUCTIONS),
}


LIBERO_SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")
# gym-aloha's two bimanual tasks (grids.sim.aloha.ALOHA_TASKS, named here without importing gym-aloha)
ALOHA_TASK_NAMES = ("transfer-cube", "insertion")


def is_libero(task: str) -> bool:
    return task.split("/", 1)[0] in LIBERO_SUITES


def is_aloha(task: str) -> bool:
    return task in ALOHA_TASK_NAMES


register_suite(Suite(
    "metaworld", owns=INSTRUCTIONS.__contains__, env="grids.sim.metaworld:MetaWorldEnv",
    expert="grids.sim.experts:expert",
))  # fmt: skip
register_suite(Suite(
    "libero", owns=is_libero, env="grids.sim.libero:LiberoEnv", expert="grids.sim.libero_experts:expert",
))  # fmt: skip
register_suite(Suite(
    "aloha", owns=is_aloha, env="grids.sim.aloha:AlohaEnv", expert="grids.sim.aloha_experts:expert",
))  # fmt: skip


def suite_of(task: str) -> str | None:
    """The name of the registered suite that has ``task``; None if none has it."""
    return next((suite.name for suite in SUITES.values() if suite.owns(task)), None)


KNOWN_TASKS = (
    f"MetaWorld v3 tasks such as 'reach-v3' ({len(INSTRUCTIONS)}, grids.sim.INSTRUCTIONS), LIBERO tasks "
    f"'<suite>/<index>' with a suite of {list(LIBERO_SUITES)} (e.g. 'libero_object/0'), ALOHA tasks "
    f"{list(ALOHA_TASK_NAMES)}"
)


def check_task(task) -> str:
    """The suite of one task name (``"metaworld"``, ``"libero"``, ``"aloha"``); an unknown name is named with
    the closest known ones and the names of every suite (a LIBERO index is checked when its env is made)."""
    if not isinstance(task, str):
        raise ValueError(f"task must be a task name (str), got {task!r}; known: {KNOWN_TASKS}")
    suite = suite_of(task)
    if suite is not None:
        return suite
    names = [*INSTRUCTIONS, *ALOHA_TASK_NAMES, *(f"{suite}/0" for suite in LIBERO_SUITES)]
    close = difflib.get_close_matches(task, names, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise ValueError(f"unknown task {task!r}{hint}; known: {KNOWN_TASKS}")


def task_instruction(task: str) -> str:
    """The instruction of any suite's task (MetaWorld's and ALOHA's are ours, LIBERO's its own BDDL file's)."""
    suite = check_task(task)
    instructions = SUITES[suite].env_class().instructions()
    if task not in instructions:  # a LIBERO index out of range
        raise ValueError(f"unknown task {task!r}; known {suite} tasks: {sorted(instructions)}")
    return instructions[task]


def resolve_tasks(spec: str) -> list[str]:
    """A task-set name or comma-separated task names -> task names.

    Sets: ``"quick"``, ``"mt10"``, ``"mt50"`` (MetaWorld), the LIBERO suites (``"libero_object"`` ...) and
    ``"aloha"`` (both ALOHA tasks); names: MetaWorld v3 tasks (``"reach-v3"``), LIBERO tasks as
    ``"<suite>/<index>"`` (``"libero_object/3"``) or ALOHA tasks (``"transfer-cube"``, ``"insertion"``).
    """
    if not isinstance(spec, str) or not spec.strip(" ,"):
        raise ValueError(
            f"the task list is empty ({spec!r}); use a set name {sorted(TASK_SETS)}, a LIBERO suite "
            f"{list(LIBERO_SUITES)}, 'aloha', or comma-separated task names"
        )
    spec = spec.strip()
    if spec in TASK_SETS:
        return list(TASK_SETS[spec])
    if spec == "aloha":
        return list(ALOHA_TASK_NAMES)
    if spec in LIBERO_SUITES:
        from grids.sim.libero import suite_tasks

        return [task for task, _, _ in suite_tasks(spec)]
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if suite_of(name) is None]
    if not names or unknown:
        raise ValueError(
            f"unknown task(s) {unknown or [spec]} in {spec!r}; use a set name {sorted(TASK_SETS)}, a LIBERO "
            f"suite {list(LIBERO_SUITES)}, 'aloha', or comma-separated MetaWorld v3 task names such as "
            f"'reach-v3,drawer-close-v3', LIBERO tasks such as 'libero_object/0' or ALOHA tasks {list(ALOHA_TASK_NAMES)}"
        )
    for name in names:
        if is_libero(name):
            from grids.sim.libero import split_task

            split_task(name)  # names the suite's tasks if the index is out of range
    if len(set(names)) != len(names):
        raise ValueError(f"task list {spec!r} names a task twice")
    if len({suite_of(name) for name in names}) > 1:
        raise ValueError(f"task list {spec!r} mixes suites ({sorted({suite_of(name) for name in names})})")
    return names
