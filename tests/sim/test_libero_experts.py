"""The LIBERO-Goal / LIBERO-10 expert: goals parsed into predicates, skills ordered, one rollout per kind of
skill, and a skill that cannot finish gives up within the episode."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("libero.libero", reason="LIBERO is installed by scripts/setup.sh (grids-vla[libero])")

from grids.sim.libero import LiberoEnv, suite_tasks  # noqa: E402
from grids.sim.libero_experts import expert_action, ordered, parse_goal  # noqa: E402

GOALS = {
    "libero_goal/0": [("open", "wooden_cabinet_1_middle_region")],
    "libero_goal/1": [("on", "akita_black_bowl_1", "flat_stove_1_cook_region")],
    "libero_goal/2": [("on", "wine_bottle_1", "wooden_cabinet_1_top_side")],
    "libero_goal/3": [("in", "akita_black_bowl_1", "wooden_cabinet_1_top_region")],
    "libero_goal/4": [("on", "akita_black_bowl_1", "wooden_cabinet_1_top_side")],
    "libero_goal/5": [("on", "plate_1", "main_table_stove_front_region")],
    "libero_goal/6": [("on", "cream_cheese_1", "akita_black_bowl_1")],
    "libero_goal/7": [("turnon", "flat_stove_1")],
    "libero_goal/8": [("on", "akita_black_bowl_1", "plate_1")],
    "libero_goal/9": [("on", "wine_bottle_1", "wine_rack_1_top_region")],
    "libero_10/0": [
        ("in", "alphabet_soup_1", "basket_1_contain_region"),
        ("in", "tomato_sauce_1", "basket_1_contain_region"),
    ],
    "libero_10/1": [
        ("in", "cream_cheese_1", "basket_1_contain_region"),
        ("in", "butter_1", "basket_1_contain_region"),
    ],
    "libero_10/2": [("turnon", "flat_stove_1"), ("on", "moka_pot_1", "flat_stove_1_cook_region")],
    "libero_10/3": [
        ("close", "white_cabinet_1_bottom_region"),
        ("in", "akita_black_bowl_1", "white_cabinet_1_bottom_region"),
    ],
    "libero_10/4": [("on", "porcelain_mug_1", "plate_1"), ("on", "white_yellow_mug_1", "plate_2")],
    "libero_10/5": [("in", "black_book_1", "desk_caddy_1_back_contain_region")],
    "libero_10/6": [
        ("on", "porcelain_mug_1", "plate_1"),
        ("on", "chocolate_pudding_1", "living_room_table_plate_right_region"),
    ],
    "libero_10/7": [
        ("in", "alphabet_soup_1", "basket_1_contain_region"),
        ("in", "cream_cheese_1", "basket_1_contain_region"),
    ],
    "libero_10/8": [  # the stove must be on too, which the instruction never says
        ("on", "moka_pot_1", "flat_stove_1_cook_region"),
        ("on", "moka_pot_2", "flat_stove_1_cook_region"),
        ("turnon", "flat_stove_1"),
    ],
    "libero_10/9": [("in", "white_yellow_mug_1", "microwave_1_heating_region"), ("close", "microwave_1")],
}


def parsed(task: str) -> SimpleNamespace:
    """Just enough of a LiberoEnv for parse_goal: the BDDL problem, parsed by LIBERO without building the scene."""
    from libero.libero.envs.bddl_utils import robosuite_parse_problem

    suite, index = task.split("/")
    bddl = suite_tasks(suite)[int(index)][2]
    return SimpleNamespace(robosuite=SimpleNamespace(parsed_problem=robosuite_parse_problem(bddl)), task=task)


@pytest.mark.parametrize("task", sorted(GOALS))
def test_parse_goal_gives_every_predicate_of_the_bddl_goal(task):
    assert parse_goal(parsed(task)) == GOALS[task]


def test_every_goal_and_libero_10_task_is_listed():
    assert sorted(GOALS) == sorted(
        t for suite in ("libero_goal", "libero_10") for t, _, _ in suite_tasks(suite)
    )


def test_a_predicate_without_a_skill_is_refused_by_name():
    env = SimpleNamespace(
        robosuite=SimpleNamespace(parsed_problem={"goal_state": [["up", "bowl_1"]]}), task="x/0"
    )
    with pytest.raises(NotImplementedError, match="'up'"):
        parse_goal(env)


def test_skills_run_open_turnon_put_close():
    """A drawer opens before anything goes in it, the stove turns on before the pot goes on it, and a drawer or a
    door closes only once the object is inside."""
    assert ordered(GOALS["libero_10/3"]) == GOALS["libero_10/3"][::-1]
    assert ordered(GOALS["libero_10/8"])[0] == ("turnon", "flat_stove_1")
    assert ordered(GOALS["libero_10/9"]) == GOALS["libero_10/9"]


def rollout(env: LiberoEnv, **reset) -> tuple[bool, int]:
    env.reset(**reset)
    for step in range(1, env.max_steps + 1):
        _, _, terminated, truncated, _ = env.step(expert_action(env))
        if terminated or truncated:
            return terminated, step
    return False, env.max_steps


@pytest.mark.parametrize(
    "task, limit",
    [
        ("libero_goal/0", 120),  # a drawer pulled open by its handle (~95 steps)
        ("libero_goal/7", 130),  # the stove's knob grasped and twisted (~100 steps)
    ],
)
def test_expert_opens_a_drawer_and_turns_a_knob_from_a_fresh_placement(task, limit):
    with LiberoEnv(task, render=False, max_steps=limit) as env:
        success, steps = rollout(env, seed=900_000)
    assert success, f"{task}: no success within {limit} steps"


@pytest.mark.slow
def test_a_skill_that_cannot_finish_gives_up_and_rests_open():
    """A bowl too slippery to lift: the pick regrasps a bounded number of times, the plan gives up, the hand rests
    open and still, and the episode runs out without success (the demonstration generator drops it)."""
    with LiberoEnv("libero_goal/1", render=False) as env:
        env.reset(seed=900_000)
        bowl = env.robosuite.obj_body_id["akita_black_bowl_1"]
        geoms = env.model.geom_bodyid == bowl
        env.model.geom_friction[geoms], env.model.geom_priority[geoms] = 0.0, 1  # it slips out of any grasp
        actions = []
        for _ in range(env.max_steps):
            actions.append(expert_action(env))
            _, _, terminated, truncated, _ = env.step(actions[-1])
            if terminated or truncated:
                break
        log = env.expert_state["log"]
    assert not terminated and truncated
    assert log == [(GOALS["libero_goal/1"][0], False)]
    rest = np.stack(actions[-20:])  # [20, 7]
    assert np.all(rest[:, 6] == -1.0) and np.abs(rest[:, :3]).max() < 0.2
