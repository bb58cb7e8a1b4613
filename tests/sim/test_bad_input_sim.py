"""Bad input at the simulators' boundary (issue 43): every error names the argument and its value.

Kept fast: the checks fire before a MetaWorld env is built, and the env-level ones use an ALOHA env
without cameras (no renderer, ~0.2 s).
"""

import re

import numpy as np
import pytest

from grids.errors import UserError
from grids.sim import resolve_tasks
from grids.sim.env import EnvClosedError, check_action, check_perturbation, check_seed, make_env
from grids.sim.tasks import task_instruction


@pytest.fixture(scope="module")
def aloha_env():
    aloha = pytest.importorskip("grids.sim.aloha")
    env = aloha.make_aloha_env("insertion", cameras=(), max_steps=5)
    yield env
    env.close()


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


@pytest.mark.parametrize("seed", [1.5, True, -1])
@pytest.mark.parametrize("task", ["reach-v3", "insertion"])
def test_make_env_refuses_a_seed_that_cannot_be_right(task, seed):
    if task == "insertion":
        pytest.importorskip("grids.sim.aloha")
    with pytest.raises(ValueError, match=re.escape(f"seed must be an int in [0, 2**32), got {seed!r}")):
        make_env(task, image_size=16, seed=seed)


@pytest.mark.parametrize("seed", [1.0, 1.5, True, "1", -3])
def test_reset_refuses_a_seed_of_the_wrong_type_instead_of_running_another(aloha_env, seed):
    with pytest.raises(ValueError, match=re.escape(f"seed must be an int in [0, 2**32), got {seed!r}")):
        aloha_env.reset(seed=seed)
    obs, info = aloha_env.reset(seed=np.int64(7))  # a numpy int is an int
    assert info["seed"] == 7 and type(info["seed"]) is int


# --- actions: numbers of the right shape ----------------------------------------------------------------
BAD_ACTIONS = ["left", None, [0.0] * 3, [[0.0] * 4], {"x": 1}, [0.0, 0.0, float("nan"), 0.0]]


@pytest.mark.parametrize("action", BAD_ACTIONS, ids=repr)
def test_check_action_names_the_value(action):
    with pytest.raises(ValueError) as error:
        check_action(action, 4)
    assert str(error.value).startswith("action must be a finite array of shape (4,), got ")
    assert repr(action)[:4] in str(error.value)


@pytest.mark.parametrize("action", ["left", [0.0] * 3, None], ids=repr)
def test_step_with_an_action_that_is_not_numbers_is_named(aloha_env, action):
    aloha_env.reset(seed=0)
    with pytest.raises(
        ValueError, match=re.escape(f"action must be a finite array of shape (14,), got {action!r}")
    ):
        aloha_env.step(action)


# --- reset / step after close() ---------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["reset", "step"])
def test_reset_or_step_after_close_is_named(call):
    aloha = pytest.importorskip("grids.sim.aloha")
    env = aloha.make_aloha_env("insertion", cameras=(), max_steps=5)
    env.reset(seed=0)
    env.close()
    env.close()  # closing twice is fine
    with pytest.raises(
        EnvClosedError, match=re.escape("this AlohaEnv (insertion) was closed; make a new one")
    ):
        env.reset(seed=0) if call == "reset" else env.step(np.zeros(14))
    assert isinstance(EnvClosedError("x"), UserError)  # the CLI prints it as one line


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
