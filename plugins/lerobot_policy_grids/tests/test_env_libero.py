"""``--env.type=grids_libero``: our LIBERO env behind LeRobot's gym interface, with the cameras, state and action
of our LIBERO demos, episode e starting from LIBERO's official initial state e, so that ``lerobot-eval`` can run a
policy trained on them."""

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.envs.configs import EnvConfig
from lerobot.envs.factory import make_env
from lerobot.envs.utils import NEW_ROLLOUT_OPTION, env_to_policy_features, preprocess_observation
from lerobot.utils.feature_utils import dataset_to_policy_features

pytest.importorskip(
    "libero.libero", reason="LIBERO missing from LeRobot's venv: rerun bash scripts/setup_lerobot_env.sh"
)

from lerobot_policy_grids.env_libero import (  # noqa: E402
    GridsLiberoEnvConfig,
    GridsLiberoGymEnv,
    lerobot_features,
    parse_tasks,
)

from grids.sim.lerobot_export import episode_frames  # noqa: E402

IMAGE = 32
TASK = "libero_goal/3"


@pytest.fixture(scope="module")
def single():
    env = GridsLiberoGymEnv(TASK, image_size=IMAGE)  # openpi's step limit, official states from 0
    yield env
    env.close()


@pytest.fixture(scope="module")
def vector():
    """lerobot-eval's envs for --eval.batch_size=2 and a 2-step episode limit."""
    config = GridsLiberoEnvConfig(task=TASK, image_size=IMAGE, episode_length=2)
    envs = make_env(config, n_envs=2)
    assert list(envs) == [TASK] and list(envs[TASK]) == [0]
    yield envs[TASK][0]
    envs[TASK][0].close()


def test_the_env_shows_a_policy_the_features_of_the_dataset():
    config = EnvConfig.get_choice_class("grids_libero")(image_size=IMAGE)
    assert isinstance(config, GridsLiberoEnvConfig)
    dataset = dataset_to_policy_features(lerobot_features(image_size=IMAGE))
    dataset = {key: feature for key, feature in dataset.items() if not key.startswith("next.")}
    assert env_to_policy_features(config) == dataset


def test_a_dataset_with_those_features_takes_our_env_frames(single, tmp_path):
    """What grids' export writes per frame (episode_frames), from a real observation, fits the features."""
    observation, _ = single.reset(options={"init_state": 0})
    episode = {
        "images": np.stack([observation["pixels"][camera] for camera in single.camera_names])[None],
        "state": observation["agent_pos"][None],
        "actions": single.action_space.sample()[None],
        "reward": np.zeros(1, np.float32),
        "success": np.zeros(1, bool),
    }
    dataset = LeRobotDataset.create(
        repo_id="local/libero", fps=20, features=lerobot_features(image_size=IMAGE), root=tmp_path / "ds",
        use_videos=False,
    )  # fmt: skip
    for frame in episode_frames(
        episode, camera_names=list(single.camera_names), task=single.task_description
    ):
        dataset.add_frame(frame)  # LeRobot checks every feature's shape and dtype
    dataset.save_episode()
    dataset.finalize()
    assert LeRobotDataset("local/libero", root=tmp_path / "ds").num_frames == 1


def test_observations_instruction_and_the_suites_step_limit(single):
    assert single.task_description == "open the top drawer and put the bowl inside"
    assert single._max_episode_steps == 300  # openpi's LIBERO-Goal limit
    observation, info = single.reset(options={"init_state": 0})
    batch = preprocess_observation({key: _batched(value) for key, value in observation.items()})
    assert {key: tuple(value.shape) for key, value in batch.items()} == {
        "observation.images.agentview": (1, 3, IMAGE, IMAGE),
        "observation.images.robot0_eye_in_hand": (1, 3, IMAGE, IMAGE),
        "observation.state": (1, 8),
    }
    assert info["init_state"] == 0 and single.render().shape == (IMAGE, IMAGE, 3)
    _, _, terminated, truncated, info = single.step(np.zeros(7, np.float32))
    assert not terminated and not truncated and info["is_success"] is False


def _batched(value):
    return {k: v[None] for k, v in value.items()} if isinstance(value, dict) else value[None]


def test_lerobot_evals_episodes_take_the_official_states_in_order(vector, single):
    observation, info = vector.reset(seed=[1000, 1001], options={NEW_ROLLOUT_OPTION: True})
    assert info["init_state"].tolist() == [0, 1]
    assert vector.call("_max_episode_steps") == (2, 2)
    for step in range(3):  # the third step hits two finished sub-envs: autoreset, which must use up no state
        _, _, terminated, truncated, info = vector.step(np.zeros((2, 7), np.float32))
        if step == 1:
            assert truncated.tolist() == [True, True] and not terminated.any()
            assert info["final_info"]["is_success"].tolist() == [False, False]
    observation, info = vector.reset(seed=[1002, 1003], options={NEW_ROLLOUT_OPTION: True})
    assert info["init_state"].tolist() == [2, 3]  # episodes 2 and 3
    # the same episode directly: state 3 (the fixtures, which no MuJoCo state holds, are placed by the seed)
    official, _ = single.reset(seed=1003, options={"init_state": 3})
    for camera in single.camera_names:
        assert np.array_equal(observation["pixels"][camera][1], official["pixels"][camera])
    assert np.array_equal(observation["agent_pos"][1], official["agent_pos"])


@pytest.mark.parametrize(
    "task, message",
    [
        ("libero_gaol/3", "did you mean 'libero_goal'"),
        ("libero_goal/10", r"index 0-9"),
        ("libero_goal/03", "unknown LIBERO task 'libero_goal/03'"),
        ("reach-v3", "grids_metaworld"),
        (" , ", "names no LIBERO task"),
    ],
)
def test_a_bad_task_is_refused_naming_what_is_allowed(task, message):
    with pytest.raises(ValueError, match=message) as error:
        GridsLiberoEnvConfig(task=task)
    assert "libero_spatial" in str(error.value) and "libero_10" in str(error.value)


@pytest.mark.parametrize("task", ["libero_goal/3,libero_goal/3", "libero_goal,libero_goal/3"])
def test_a_task_named_twice_is_refused(task):
    with pytest.raises(ValueError, match=r"names \['libero_goal/3'\] twice"):
        GridsLiberoEnvConfig(task=task)


def test_a_suite_means_its_ten_tasks():
    assert parse_tasks("libero_10, libero_goal/3") == [f"libero_10/{i}" for i in range(10)] + [
        "libero_goal/3"
    ]
