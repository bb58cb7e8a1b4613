"""``--env.type=grids_metaworld``: our MetaWorld env behind LeRobot's gym interface, with the features of
``grids data export`` (cameras, state, action), so that ``lerobot-eval`` can run a policy trained on it."""

import numpy as np
import pytest
from lerobot.envs.configs import EnvConfig
from lerobot.envs.factory import make_env
from lerobot.envs.utils import env_to_policy_features, preprocess_observation
from lerobot.utils.feature_utils import dataset_to_policy_features

pytest.importorskip(
    "metaworld", reason="metaworld missing from LeRobot's venv: rerun bash scripts/setup_lerobot_env.sh"
)

from lerobot_policy_grids.env_metaworld import GridsMetaWorldEnvConfig  # noqa: E402

from grids.sim.lerobot_export import lerobot_features  # noqa: E402

IMAGE = 32


@pytest.mark.parametrize("camera", ["workspace", "corner3"])
def test_the_env_shows_a_policy_the_features_of_the_export(camera):
    config = EnvConfig.get_choice_class("grids_metaworld")(camera=camera, image_size=IMAGE)
    assert isinstance(config, GridsMetaWorldEnvConfig)
    exported = dataset_to_policy_features(
        lerobot_features(image_size=IMAGE, camera_names=[camera, "gripperPOV"])
    )
    exported = {key: feature for key, feature in exported.items() if not key.startswith("next.")}
    assert env_to_policy_features(config) == exported


def test_reset_and_step_give_lerobot_observations_and_end_at_the_step_limit():
    config = GridsMetaWorldEnvConfig(task="reach-v3, drawer-close-v3", image_size=IMAGE, episode_length=3)
    envs = make_env(config, n_envs=1)
    assert {task: list(group) for task, group in envs.items()} == {"reach-v3": [0], "drawer-close-v3": [0]}
    env = envs["reach-v3"][0]
    try:
        assert env.call("task_description") == ("reach the red goal point",)
        assert env.call("_max_episode_steps") == (3,)
        observation, _ = env.reset(seed=[7])
        batch = preprocess_observation(observation)
        assert {key: tuple(value.shape) for key, value in batch.items()} == {
            "observation.images.workspace": (1, 3, IMAGE, IMAGE),
            "observation.images.gripperPOV": (1, 3, IMAGE, IMAGE),
            "observation.state": (1, 4),
        }
        assert env.call("render")[0].shape == (IMAGE, IMAGE, 3)
        for step in range(3):
            _, _, terminated, truncated, info = env.step(np.zeros((1, 4), np.float32))
            assert not terminated[0] and truncated[0] == (step == 2)
        assert info["final_info"]["is_success"].tolist() == [False]
        again, _ = env.reset(seed=[7])  # a seed is an episode: the same placement, the same pixels
        assert np.array_equal(again["pixels"]["workspace"], observation["pixels"]["workspace"])
    finally:
        for group in envs.values():
            for vector_env in group.values():
                vector_env.close()
