import numpy as np
import pytest

pytest.importorskip("gym_aloha", reason="ALOHA needs the aloha extra (gym-aloha, dm-control)")

from grids.errors import UserError  # noqa: E402
from grids.sim import aloha, rendering  # noqa: E402
from grids.sim.aloha import ALOHA_INSTRUCTIONS, ALOHA_TASKS, make_aloha_env  # noqa: E402
from grids.sim.rendering import RendererError  # noqa: E402
from grids.sim.rollout import rollout_expert  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def env():
    env = make_aloha_env("transfer-cube", image_size=SIZE, seed=3)
    yield env
    env.close()


def test_observation_shapes_and_dtypes(env):
    obs, info = env.reset()
    assert obs["images"].shape == (2, SIZE, SIZE, 3) and obs["images"].dtype == np.uint8
    assert obs["state"].shape == (14,) and obs["state"].dtype == np.float32
    assert obs["instruction"] == env.instruction == ALOHA_INSTRUCTIONS["transfer-cube"]
    assert obs["task"] == "transfer-cube" and env.camera_names == ("top", "angle")
    assert info == {"success": False, "seed": 3, "max_reward": 0.0} and env.max_steps == 300
    obs, reward, terminated, truncated, info = env.step(obs["state"])  # hold the start pose
    assert obs["images"].shape == (2, SIZE, SIZE, 3) and reward == 0.0
    assert (terminated, truncated, info["success"], info["step"]) == (False, False, False, 1)
    # the two views are different cameras and actually show something
    assert not np.array_equal(obs["images"][0], obs["images"][1])
    assert obs["images"].std() > 10


def test_renders_only_the_requested_cameras_without_shadows():
    with make_aloha_env("insertion", image_size=24, cameras=("top",)) as one:
        obs, _ = one.reset(seed=0)
        quality = one.unwrapped.physics.model.vis.quality
        assert obs["images"].shape == (1, 24, 24, 3)
        assert (quality.shadowsize, quality.offsamples) == (0, 0)
    with pytest.raises(ValueError, match="render=False renders none"):  # one way to render nothing
        make_aloha_env("insertion", image_size=24, cameras=())


def rollout(env, seed, steps=4):
    obs, _ = env.reset(seed=seed)
    frames = [obs]
    for _ in range(steps):
        frames.append(env.step(frames[0]["state"] + 0.05)[0])  # a small move of every joint
    return np.stack([f["images"] for f in frames]), np.stack([f["state"] for f in frames])


def test_reset_with_a_seed_is_deterministic(env):
    images_a, states_a = rollout(env, seed=11)
    poses_a = env.object_poses()
    with make_aloha_env("transfer-cube", image_size=SIZE, seed=11) as other:
        images_b, states_b = rollout(other, seed=None)  # make_aloha_env(seed=11): the first reset uses 11
        np.testing.assert_array_equal(other.object_poses(), poses_a)
    np.testing.assert_array_equal(images_a, images_b)
    np.testing.assert_array_equal(states_a, states_b)
    images_c, _ = rollout(env, seed=12)
    assert np.abs(env.object_poses()[:2] - poses_a[:2]).max() > 0.005  # another seed moves the cube ...
    assert not np.array_equal(images_a[0], images_c[0])  # ... and the cameras see it


def test_unknown_task_names_the_known_ones():
    with pytest.raises(ValueError, match="known ALOHA tasks: \\['insertion', 'transfer-cube'\\]"):
        make_aloha_env("transfer_cube")
    with pytest.raises(ValueError, match="unknown: \\['peg'\\].*known ALOHA tasks: \\['insertion'"):
        aloha.resolve_aloha_tasks("transfer-cube,peg")
    assert aloha.resolve_aloha_tasks("all") == ["transfer-cube", "insertion"]


def test_bad_cameras_raise():
    with pytest.raises(ValueError, match="cameras must be distinct names"):
        make_aloha_env("insertion", cameras=("top", "wrist"))


def test_a_renderer_that_cannot_start_gives_one_line(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("gladLoadGL error\nsecond line of detail")

    monkeypatch.setattr(rendering.mujoco, "Renderer", broken)  # open_renderer (grids.sim.rendering) builds it
    with pytest.raises(RendererError) as caught:
        make_aloha_env("insertion")
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and "\n" not in message
    assert "gladLoadGL error" in message and "MUJOCO_GL" in message and "osmesa" in message


def test_reward_stages_are_documented_for_every_task():
    assert set(aloha.REWARD_STAGES) == set(ALOHA_TASKS)
    assert all(len(stages) == aloha.MAX_REWARD for stages in aloha.REWARD_STAGES.values())


@pytest.mark.parametrize(("task", "seed"), [("transfer-cube", 0), ("insertion", 0)])
def test_expert_succeeds_and_the_episode_ends_at_the_first_success(task, seed):
    with make_aloha_env(task, image_size=SIZE) as env:
        episode = rollout_expert(env, seed=seed)
    assert episode is not None, f"the {task} expert failed seed {seed}"
    num_frames = len(episode["actions"])
    assert episode["images"].shape == (num_frames, 2, SIZE, SIZE, 3)
    assert episode["state"].shape == episode["actions"].shape == (num_frames, 14)
    assert episode["success"][-1] and not episode["success"][:-1].any()
    assert episode["reward"][-1] == aloha.MAX_REWARD and num_frames <= env.max_steps
    if task == "transfer-cube":  # the right gripper holds the cube before the left one takes it
        first = [int(np.argmax(episode["reward"] >= stage)) for stage in (1, 2, 4)]
        assert first == sorted(first) and first[0] > 0
    if task == "insertion":  # two-armed: both objects are held off the table before the peg goes in
        assert (episode["reward"][:-1] == 2).any()


def test_a_replay_that_does_not_succeed_is_not_kept(monkeypatch):
    from grids.sim import aloha_experts

    def stand_still(t0, poses, left, right):
        return [aloha_experts.hold(t0, left)], [aloha_experts.hold(t0, right)]

    monkeypatch.setitem(aloha_experts.STAGES, "insertion", ([(0, stand_still)], [(0, stand_still)]))
    actions, rewards = aloha_experts.successful_actions("insertion", 0, num_steps=20)
    assert actions is None and rewards == [0.0, 0.0]  # every plan tried, none kept
    with make_aloha_env("insertion", image_size=SIZE, max_steps=20) as env:
        assert rollout_expert(env, seed=0) is None


def test_dataset_round_trip(tmp_path):
    from grids.sim import DemoDataset, generate_demos

    with pytest.raises(ValueError, match="known aloha tasks"):
        generate_demos(["reach-v3"], 1, tmp_path / "bad", suite="aloha", progress=False)
    with pytest.raises(ValueError, match="top and angle cameras, not 'corner3'"):
        generate_demos(["insertion"], 1, tmp_path / "bad", suite="aloha", camera="corner3", progress=False)
    out = generate_demos(["transfer-cube"], 1, tmp_path / "demos", image_size=16, workers=1, suite="aloha",
                         progress=False)  # fmt: skip
    dataset = DemoDataset(out, chunk_size=4, verify="sha256")
    assert dataset.meta["config"]["suite"] == "aloha" and dataset.camera_names == ["top", "angle"]
    assert dataset.instructions == [ALOHA_INSTRUCTIONS["transfer-cube"]]
    item = dataset[0]
    assert item["images"].shape == (2, 16, 16, 3) and item["state"].shape == (14,)
    assert item["actions"].shape == (4, 14)
    stored, entry = dataset.episode(0), dataset.episodes[0]
    with make_aloha_env("transfer-cube", image_size=16) as env:
        replay = rollout_expert(env, entry["seed"])  # the manifest's seed reproduces the episode
    for key in ("images", "state", "actions", "reward", "success"):
        np.testing.assert_array_equal(stored[key], replay[key])


def test_aloha_tasks_resolve_by_set_and_name_and_do_not_mix():
    from grids.sim import resolve_tasks
    from grids.sim.tasks import ALOHA_TASK_NAMES, task_instruction

    assert ALOHA_TASK_NAMES == tuple(ALOHA_TASKS)  # the light copy names the same tasks
    assert resolve_tasks("aloha") == ["transfer-cube", "insertion"]
    assert resolve_tasks("insertion, transfer-cube") == ["insertion", "transfer-cube"]
    assert task_instruction("insertion") == ALOHA_INSTRUCTIONS["insertion"]
    with pytest.raises(ValueError, match="mixes suites"):
        resolve_tasks("insertion,reach-v3")


def test_make_env_builds_aloha_tasks_with_their_own_cameras_and_step_limit():
    from grids.sim import make_env

    with make_env("insertion", image_size=16, camera="top") as env:
        assert isinstance(env, aloha.AlohaEnv) and env.camera_names == ("top", "angle")
        assert env.max_steps == aloha.DEFAULT_MAX_STEPS == 300
    with pytest.raises(ValueError, match="not 'corner3'"):
        make_env("insertion", camera="corner3")
    with pytest.raises(ValueError, match="no perturbations"):
        make_env("insertion", perturbation="light")
