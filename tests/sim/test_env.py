"""MetaWorld's own behaviour; what every suite shares (seeds, truncation, rendering off, close, bad input) is
tested once for all of them in test_suites.py."""

import numpy as np
import pytest

from grids.sim import CAMERA_NAMES, INSTRUCTIONS, PERTURBATIONS, TASK_SETS, make_env, resolve_tasks

SIZE = 48


@pytest.fixture(scope="module")
def env():
    env = make_env("reach-v3", image_size=SIZE, seed=3)
    yield env
    env.close()


def test_observation_shapes_and_dtypes(env):
    obs, info = env.reset()
    assert obs["images"].shape == (2, SIZE, SIZE, 3) and obs["images"].dtype == np.uint8
    assert obs["state"].shape == (4,) and obs["state"].dtype == np.float32
    assert obs["instruction"] == env.instruction == INSTRUCTIONS["reach-v3"]
    assert obs["task"] == "reach-v3" and len(CAMERA_NAMES) == 2
    assert info["success"] is False and env.max_steps == 200
    obs, reward, terminated, truncated, info = env.step(np.array([0.5, 0.0, 0.0, 1.0], dtype=np.float32))
    assert obs["images"].shape == (2, SIZE, SIZE, 3) and isinstance(reward, float)
    assert isinstance(info["success"], bool) and isinstance(terminated, bool) and isinstance(truncated, bool)
    # the two views are different cameras and actually show something
    assert not np.array_equal(obs["images"][0], obs["images"][1])
    assert obs["images"].std() > 10


def test_state_excludes_object_and_goal(env):
    obs0, _ = env.reset(seed=0)
    goal0 = env.privileged_obs[-3:].copy()
    obs1, _ = env.reset(seed=1)
    goal1 = env.privileged_obs[-3:].copy()
    assert np.abs(goal0 - goal1).max() > 0.01  # the scene did change ...
    np.testing.assert_array_equal(obs0["state"], obs1["state"])  # ... but the state did not see it
    assert not np.array_equal(obs0["images"], obs1["images"])  # the cameras did
    np.testing.assert_allclose(obs1["state"][:3], env.unwrapped.tcp_center, atol=0.05)


PIXEL_PERTURBATIONS = sorted(
    name for name, p in PERTURBATIONS.items() if name != "none" and not p.libero_only
)


@pytest.mark.parametrize("name", PIXEL_PERTURBATIONS)
def test_perturbation_changes_image_and_is_reproducible(env, name):
    clean, _ = env.reset(seed=5)
    perturbed_env = make_env("reach-v3", image_size=SIZE, perturbation=name)
    first, _ = perturbed_env.reset(seed=5)
    perturbed_env.reset(seed=6)
    again, _ = perturbed_env.reset(seed=5)  # also checks that perturbations do not accumulate over resets
    other, _ = perturbed_env.reset(seed=6)
    perturbed_env.close()
    diff = np.abs(first["images"].astype(int) - clean["images"].astype(int)).mean()
    assert diff > 2.0, f"{name} barely changed the image (mean abs diff {diff:.2f})"
    np.testing.assert_array_equal(first["images"], again["images"])
    np.testing.assert_array_equal(first["state"], clean["state"])  # perturbations touch pixels only
    assert not np.array_equal(first["images"], other["images"])


def test_state_perturbations_are_refused_on_metaworld():
    with pytest.raises(ValueError, match="robot-init.*LIBERO"):
        make_env("reach-v3", image_size=SIZE, perturbation="robot-init")


def test_camera_perturbation_moves_only_third_person_view(env):
    clean, _ = env.reset(seed=5)
    shifted_env = make_env("reach-v3", image_size=SIZE, perturbation="camera-large")
    shifted, _ = shifted_env.reset(seed=5)
    shifted_env.close()
    assert not np.array_equal(clean["images"][0], shifted["images"][0])
    np.testing.assert_array_equal(clean["images"][1], shifted["images"][1])


def test_task_sets_and_resolve():
    assert 2 <= len(TASK_SETS["quick"]) <= 3 and len(TASK_SETS["mt10"]) == 10
    assert all(task in INSTRUCTIONS for tasks in TASK_SETS.values() for task in tasks)
    assert resolve_tasks("quick") == TASK_SETS["quick"]
    assert resolve_tasks("reach-v3, drawer-close-v3") == ["reach-v3", "drawer-close-v3"]
    with pytest.raises(ValueError, match="pick-the-moon"):
        resolve_tasks("reach-v3,pick-the-moon")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "fly-v3"}, "fly-v3"),
        ({"task": "reach-v3", "perturbation": "earthquake"}, "earthquake"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_env(**kwargs)


@pytest.mark.parametrize("task", TASK_SETS["mt10"])
def test_every_mt10_task_renders(task):
    env = make_env(task, image_size=16)
    obs, _ = env.reset(seed=0)
    env.close()
    assert obs["images"].std() > 5 and np.isfinite(obs["state"]).all()


def test_cameras_are_named_recorded_and_checked(tmp_path):
    from grids.sim import DemoDataset, generate_demos

    with pytest.raises(ValueError, match="unknown camera 'corner9'; known third-person cameras"):
        make_env("reach-v3", image_size=16, camera="corner9")
    views = {}
    for camera in ("workspace", "corner3"):
        env = make_env("reach-v3", image_size=SIZE, camera=camera)
        obs, _ = env.reset(seed=0)
        views[camera] = obs["images"]
        assert env.camera_names == (camera, "gripperPOV")
        env.close()
    assert not np.array_equal(views["workspace"][0], views["corner3"][0])  # another third-person view
    np.testing.assert_array_equal(views["workspace"][1], views["corner3"][1])  # the same gripper view
    out = generate_demos(
        ["reach-v3"], 1, tmp_path / "d", image_size=16, workers=1, progress=False, camera="corner3"
    )
    assert DemoDataset(out).camera_names == ["corner3", "gripperPOV"]
    with pytest.raises(ValueError, match="holds a dataset generated with"):  # never mixed with another camera
        generate_demos(["reach-v3"], 2, out, image_size=16, workers=1, progress=False, camera="workspace")


def test_only_sensor_noise_is_pixel_level():
    from grids.sim.perturbations import PERTURBATIONS

    assert [name for name, p in PERTURBATIONS.items() if p.pixel_level] == ["noise"]
