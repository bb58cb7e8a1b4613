"""One behaviour for every simulator suite (issue 41): each test runs on every suite registered in
``grids.sim.suites``, as timm tests every registered model. A new suite adds its case to ``CASES`` (a task,
the package its extra installs, its default step limit, an action that keeps the robot still) and passes
these unchanged: sizes and step limits, seeding, the observation dict, truncation, rendering off, close."""

import re

import numpy as np
import pytest

from grids.errors import UserError
from grids.sim import base
from grids.sim.base import MAX_STEPS_LIMIT, EnvClosedError
from grids.sim.env import make_env
from grids.sim.suites import SUITES
from grids.sim.tasks import task_instruction

CASES = {  # suite -> (task, the extra's package, default max_steps (benchmark results depend on it), still action)
    "metaworld": ("reach-v3", "metaworld", 200, lambda obs: np.zeros(4, np.float32)),
    "libero": ("libero_object/0", "libero.libero", 280, lambda obs: np.float32([0, 0, 0, 0, 0, 0, -1])),
    "aloha": ("insertion", "gym_aloha", 300, lambda obs: obs["state"]),
}
SIZE = 16


def test_every_registered_suite_has_a_case():
    assert set(CASES) == set(SUITES)


@pytest.fixture(scope="module", params=sorted(SUITES))
def suite(request) -> str:
    pytest.importorskip(CASES[request.param][1], reason=f"the {request.param} extra is not installed")
    return request.param


def make(suite: str, **kwargs):
    return make_env(CASES[suite][0], image_size=SIZE, **kwargs)


def still(suite: str, obs: dict) -> np.ndarray:
    return CASES[suite][3](obs)


@pytest.fixture(scope="module")
def env(suite):
    with make(suite) as env:
        yield env


@pytest.fixture(scope="module")
def lean(suite):
    """Physics only, two steps per episode."""
    with make(suite, render=False, max_steps=2) as env:
        yield env


def test_the_observation_dict(suite, env):
    task = CASES[suite][0]
    obs, info = env.reset(seed=0)
    assert set(obs) == {"images", "state", "instruction", "task"} and obs["task"] == task
    assert obs["images"].shape == (len(env.camera_names), SIZE, SIZE, 3) and obs["images"].dtype == np.uint8
    assert env.camera_names == type(env).views(None) and obs["images"].std() > 5
    assert obs["state"].ndim == 1 and obs["state"].dtype == np.float32
    assert obs["instruction"] == env.instruction == task_instruction(task)
    assert info["success"] is False and info["seed"] == 0
    obs, reward, terminated, truncated, info = env.step(still(suite, obs))
    assert isinstance(reward, float) and (terminated, truncated, info["success"], info["step"]) == (
        False,
        False,
        False,
        1,
    )
    assert obs["images"].shape == (len(env.camera_names), SIZE, SIZE, 3)


def test_each_suite_keeps_its_own_step_limit_and_one_bound_checks_them_all(suite, env):
    assert env.max_steps == CASES[suite][2] == type(env).default_max_steps(CASES[suite][0])
    for bad in (0, MAX_STEPS_LIMIT + 1, True, 2.0):
        with pytest.raises(
            ValueError, match=re.escape(f"max_steps must be an int in [1, {MAX_STEPS_LIMIT}], got {bad!r}")
        ):
            make(suite, max_steps=bad)


@pytest.mark.parametrize("size", [7, 2000, True, 16.0])
def test_image_sizes_are_checked_alike(suite, size):
    with pytest.raises(ValueError, match=re.escape(f"image_size must be an int in [16, 1024], got {size!r}")):
        make_env(CASES[suite][0], image_size=size)


def test_equal_seeds_give_equal_episodes_and_the_next_seed_follows(suite, env):
    first, info = env.reset(seed=11)
    again, _ = env.reset(seed=np.int64(11))  # a numpy int is an int
    np.testing.assert_array_equal(first["images"], again["images"])
    np.testing.assert_array_equal(first["state"], again["state"])
    following, info = env.reset()
    assert info["seed"] == 12 and type(info["seed"]) is int
    assert not np.array_equal(first["images"][0], following["images"][0])  # another seed, another scene
    for seed in (1.5, True, "3", -1, 2**32):
        with pytest.raises(ValueError, match=re.escape(f"seed must be an int in [0, 2**32), got {seed!r}")):
            env.reset(seed=seed)
        with pytest.raises(ValueError, match=re.escape(f"seed must be an int in [0, 2**32), got {seed!r}")):
            make(suite, seed=seed)


def test_a_step_without_render_moves_the_same_and_returns_no_images(suite, env):
    start, _ = env.reset(seed=4)
    action = still(suite, start)
    rendered = [env.step(action)[0] for _ in range(2)]
    env.reset(seed=4)
    skipped = [env.step(action, render=False)[0], env.step(action)[0]]
    assert skipped[0]["images"] is None
    np.testing.assert_array_equal(rendered[0]["state"], skipped[0]["state"])
    np.testing.assert_array_equal(rendered[1]["images"], skipped[1]["images"])


def test_truncates_at_max_steps_without_success(suite, lean):
    obs, _ = lean.reset(seed=0)
    steps = [lean.step(still(suite, obs)) for _ in range(2)]
    assert [truncated for _, _, _, truncated, _ in steps] == [False, True]
    assert [info["step"] for *_, info in steps] == [1, 2]


def test_render_false_renders_nothing(suite, lean):
    obs, _ = lean.reset(seed=1)
    assert obs["images"] is None and lean.step(still(suite, obs))[0]["images"] is None
    with pytest.raises(RuntimeError, match="was made with render=False"):
        lean.render_views()
    assert lean not in base._OPEN_ENVS  # no renderer to close at exit


def test_a_bad_action_is_named(suite, env):
    env.reset(seed=0)
    size = env.action_dim
    for action in ("left", np.zeros(size + 1), np.full(size, np.nan)):
        with pytest.raises(
            ValueError, match=re.escape(f"action must be a finite array of shape ({size},), got ")
        ):
            env.step(action)


def test_an_unknown_camera_is_named(suite):
    with pytest.raises(ValueError, match="'nowhere'"):
        make(suite, camera="nowhere")


def test_close_step_before_reset_and_the_first_seed(suite, env):
    expected, _ = env.reset(seed=5)
    other = make(suite, seed=5, max_steps=MAX_STEPS_LIMIT)  # any suite takes up to MAX_STEPS_LIMIT steps
    assert other in base._OPEN_ENVS  # its renderer is closed at interpreter exit, before EGL goes
    with pytest.raises(RuntimeError, match=re.escape("call reset() before step()")):
        other.step(np.zeros(other.action_dim))
    obs, info = other.reset()
    assert info["seed"] == 5  # the constructor's seed comes first: another env, the same episode
    np.testing.assert_array_equal(obs["images"], expected["images"])
    np.testing.assert_array_equal(obs["state"], expected["state"])
    other.close()
    other.close()  # closing twice is fine
    assert other not in base._OPEN_ENVS and other._renderer is None
    name = f"this {type(other).__name__} ({other.task}) was closed; make a new one"
    with pytest.raises(EnvClosedError, match=re.escape(name)):
        other.reset(seed=0)
    with pytest.raises(EnvClosedError, match=re.escape(name)):
        other.step(still(suite, obs))
    assert isinstance(EnvClosedError("x"), UserError)  # the CLI prints it as one line
    with make(suite, render=False) as inside:
        pass
    with pytest.raises(EnvClosedError):
        inside.reset(seed=0)
