"""Bad input at the simulators' boundary (issue 43): every error names the argument and its value.

Kept fast: the checks fire before an env is built. What every env checks (seeds, actions, sizes, step limits,
``reset``/``step`` after ``close``) is tested once for every suite in ``test_suites.py``.
"""

import re

import pytest

from grids.errors import UserError
from grids.sim import resolve_tasks
from grids.sim.base import check_action, check_seed
from grids.sim.env import check_perturbation, make_env
from grids.sim.tasks import task_instruction


# --- an unknown task is named with every suite's names, and the closest ones ---------------------------
@pytest.mark.parametrize(
    "task, closest",
    [
        ("transfer_cube", "'transfer-cube'"),  # an ALOHA name, misspelt
        ("libero_objects/0", "'libero_object/0'"),  # a LIBERO suite, misspelt
        ("reach-v2", "'reach-v3'"),  # a MetaWorld name of another version
        ("teleport", None),
    ],
)
@pytest.mark.parametrize("where", ["make_env", "task_instruction"])
def test_an_unknown_task_names_every_suite(where, task, closest):
    with pytest.raises(ValueError) as error:
        make_env(task, image_size=16) if where == "make_env" else task_instruction(task)
    message = str(error.value)
    assert message.startswith(f"unknown task {task!r}"), message
    assert all(suite in message for suite in ("MetaWorld", "LIBERO", "ALOHA")), message
    assert closest is None or f"did you mean {closest}" in message, message


@pytest.mark.parametrize("spec", ["", " ", ",", " , "])
def test_an_empty_task_list_is_refused_not_replaced_by_a_default(spec):
    with pytest.raises(ValueError, match=re.escape(f"the task list is empty ({spec!r})")):
        resolve_tasks(spec)


# --- seeds: an int in [0, 2**32), never a float or a bool ------------------------------------------------
BAD_SEEDS = [1.5, True, "3", -1, 2**32, None]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_check_seed_names_the_value(seed):
    with pytest.raises(ValueError, match=re.escape(f"seed must be an int in [0, 2**32), got {seed!r}")):
        check_seed(seed)


# --- actions: numbers of the right shape ----------------------------------------------------------------
BAD_ACTIONS = ["left", None, [0.0] * 3, [[0.0] * 4], {"x": 1}, [0.0, 0.0, float("nan"), 0.0]]


@pytest.mark.parametrize("action", BAD_ACTIONS, ids=repr)
def test_check_action_names_the_value(action):
    with pytest.raises(ValueError) as error:
        check_action(action, 4)
    assert str(error.value).startswith("action must be a finite array of shape (4,), got ")
    assert repr(action)[:4] in str(error.value)


# --- perturbations: checked for the task before anything is built --------------------------------------------
@pytest.mark.parametrize(
    "task, perturbation, message",
    [
        ("reach-v3", "earthquake", "unknown perturbation 'earthquake'"),
        (
            "insertion",
            "light",
            "ALOHA tasks have no perturbations yet, got perturbation='light' for insertion",
        ),
        ("reach-v3", "robot-init", "perturbation 'robot-init'"),
    ],
)
def test_a_perturbation_the_task_cannot_take_is_named(task, perturbation, message):
    if task == "insertion":
        pytest.importorskip("grids.sim.aloha")
    with pytest.raises(ValueError, match=re.escape(message)):
        check_perturbation(task, perturbation)


# --- generation: refused before anything is written --------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seed": -1}, "seed must be an int >= 0, got -1"),
        ({"seed": 1.5}, "seed must be an int >= 0, got 1.5"),
        ({"workers": 0}, "workers must be an int >= 1 or None, got 0"),
        ({"workers": -2}, "workers must be an int >= 1 or None, got -2"),
        ({"episodes_per_task": True}, "episodes_per_task must be an int >= 1, got True"),
    ],
)
def test_generation_refuses_bad_values_before_writing_the_manifest(tmp_path, kwargs, message):
    from grids.sim.generate import generate_demos

    options = {"episodes_per_task": 1, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_demos(["reach-v3"], out=tmp_path / "ds", progress=False, **options)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("under", [False, True])
def test_generation_names_an_output_path_that_is_a_file(tmp_path, under):
    from grids.sim.generate import generate_demos

    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker / "ds" if under else blocker
    expected = f"out {out} is under {blocker}, which is a file" if under else f"out {out} is a file"
    with pytest.raises(UserError, match=re.escape(expected)):
        generate_demos(["reach-v3"], 1, out, progress=False)
