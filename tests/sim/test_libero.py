"""LIBERO behind the MetaWorld interface: tasks, observations, the two resets, the scripted expert, generation."""

import builtins
import json

import numpy as np
import pytest

pytest.importorskip("libero.libero", reason="LIBERO is installed by scripts/setup.sh (grids-vla[libero])")

from grids.sim import DemoDataset, expert_action, generate_demos, make_env, resolve_tasks  # noqa: E402
from grids.sim import libero as libero_module  # noqa: E402
from grids.sim.libero import MAX_STEPS, SETTLE_STEPS, LiberoEnv, official_init_states  # noqa: E402

SIZE = 32
TASK = "libero_object/0"


@pytest.fixture(scope="module")
def env():
    env = make_env(TASK, image_size=SIZE, seed=3)
    yield env
    env.close()


def object_positions(env):
    return np.stack([env.body_position(name) for name in env.robosuite.obj_body_id])  # [n, 3]


def test_suites_resolve_to_their_tasks_with_libero_instructions():
    tasks = resolve_tasks("libero_object")
    assert tasks == [f"libero_object/{i}" for i in range(10)]
    assert resolve_tasks("libero_spatial/2,libero_spatial/5") == ["libero_spatial/2", "libero_spatial/5"]
    assert libero_module.instruction(TASK) == "pick up the alphabet soup and place it in the basket"


@pytest.mark.parametrize(
    "spec, names",
    [
        ("libero_objekt/0", "libero_object"),
        ("libero_object/10", "libero_object/9"),
        ("libero_object/0,reach-v3", "mixes"),
    ],
)
def test_unknown_or_mixed_tasks_name_what_is_known(spec, names):
    with pytest.raises(ValueError, match=names):
        resolve_tasks(spec)


def test_observation_shapes_dtypes_and_views(env):
    obs, info = env.reset(seed=0)
    assert obs["images"].shape == (2, SIZE, SIZE, 3) and obs["images"].dtype == np.uint8
    assert obs["state"].shape == (8,) and obs["state"].dtype == np.float32
    assert obs["instruction"] == env.instruction and obs["task"] == TASK
    assert (
        env.camera_names == ("agentview", "robot0_eye_in_hand")
        and env.max_steps == MAX_STEPS["libero_object"]
    )
    assert not np.array_equal(obs["images"][0], obs["images"][1]) and obs["images"].std() > 10
    np.testing.assert_allclose(obs["state"][:3], env.raw_obs["robot0_eef_pos"], atol=1e-6)
    obs, reward, terminated, truncated, info = env.step(np.zeros(7, np.float32))
    assert info == {"success": False, "step": 1, "lifted": [], "target": "alphabet_soup_1"}
    assert not terminated and not truncated


def test_an_official_episode_does_not_depend_on_the_episode_before_it(env):
    push = np.array([0.5, 0.0, -0.3, 0.0, 0.0, 0.0, -1.0], np.float32)
    close = np.array([-0.5, 0.6, 0.3, 0.2, 0.0, 0.0, 1.0], np.float32)  # ends with the gripper closed

    def episode(init_state, action, steps=3):
        env.reset(init_state=init_state)
        return np.stack([env.step(action, render=False)[0]["state"] for _ in range(steps)])

    first = episode(2, push)
    episode(5, close, steps=20)
    np.testing.assert_array_equal(episode(2, push), first)  # a soft reset starts the gripper afresh


def test_an_init_state_out_of_range_is_refused(env):
    with pytest.raises(ValueError, match="init_state must be in \\[0, 50\\)"):
        env.reset(init_state=50)


def test_fresh_placements_are_seeded_and_differ_between_seeds(env):
    env.reset(seed=5)
    first = object_positions(env)
    images_first = env.render_views()
    env.reset(seed=6)
    other = object_positions(env)
    env.reset(seed=5)
    np.testing.assert_array_equal(object_positions(env), first)
    np.testing.assert_array_equal(env.render_views(), images_first)
    assert np.abs(other - first).max() > 1e-3


def arm_joints(env):
    robot = env.robosuite.robots[0]
    return env.robosuite.sim.data.qpos[robot._ref_joint_pos_indexes] - np.asarray(robot.init_qpos)  # [7]


def test_fresh_arm_starts_carry_the_official_states_joint_noise(env):
    official = official_init_states(TASK)[:, 1:8] - np.asarray(env.robosuite.robots[0].init_qpos)  # [50, 7]
    fresh = []
    for seed in range(8):
        env.reset(seed=seed)
        fresh.append(arm_joints(env))
    fresh = np.stack(fresh)  # [8, 7], after the settle steps (the arm holds its start)
    assert 0.5 < fresh.std() / official.std() < 1.5  # ~0.02 rad both
    with LiberoEnv(TASK, render=False, robot_init_noise=0.0) as still:
        starts = []
        for seed in range(3):
            still.reset(seed=seed)
            starts.append(arm_joints(still))
    assert np.ptp(np.stack(starts), axis=0).max() < 1e-3  # one arm pose without the noise
    with pytest.raises(ValueError, match="robot_init_noise"):
        LiberoEnv(TASK, render=False, robot_init_noise=-0.1)


def test_official_init_states_are_libero_s_own(env):
    states = official_init_states(TASK)
    assert states.shape[0] == 50
    env.reset(init_state=7)
    at_7 = object_positions(env)
    env.reset(seed=123, init_state=7)  # the seed does not matter for an official state
    np.testing.assert_allclose(object_positions(env), at_7, atol=1e-9)
    env.reset(init_state=8)
    assert np.abs(object_positions(env) - at_7).max() > 1e-3
    # what the policy sees first is LIBERO's state after the settle steps: objects drop (z), but stay put in xy
    env.robosuite.sim.set_state_from_flattened(states[7])
    env.robosuite.sim.forward()
    assert np.abs(object_positions(env) - at_7)[:, :2].max() < 0.005 and SETTLE_STEPS == 10


def test_expert_succeeds_from_a_fresh_placement_lifting_its_target_only():
    with LiberoEnv(TASK, render=False) as env:
        _, info = env.reset(seed=1000)
        assert info["lifted"] == []
        for _ in range(env.max_steps):
            _, _, terminated, truncated, info = env.step(expert_action(env))
            if terminated or truncated:
                break
        assert terminated and env.robosuite._check_success()
        assert env.expert_state["regrasps"] == 0
        assert info["lifted"] == [info["target"]] == [env.object_names()[0]]


def test_expert_turns_the_hand_straight_down_whatever_the_arm_start_tilt():
    from robosuite.utils.transform_utils import quat2mat

    def tilt_degrees(env) -> float:  # angle between the hand's axis and the world's -z
        return float(np.degrees(np.arccos(-quat2mat(env.raw_obs["robot0_eef_quat"])[2, 2])))

    with LiberoEnv("libero_object/1", render=False, robot_init_noise=0.05) as env:  # the flat cream cheese
        env.reset(seed=3)
        start = tilt_degrees(env)
        tilts = []
        for step in range(60):
            env.step(expert_action(env))
            tilts += [tilt_degrees(env)] if step >= 10 else []
        assert start > 8.0  # the nominal start is tilted ~3.3 degrees, this one more by the noise
        assert max(tilts) < 2.5  # the hand was turned down within 10 steps and held there while it moved


def test_an_object_raised_off_the_table_counts_as_lifted(env):
    env.reset(seed=0)
    other = next(n for n in env.robosuite.objects_dict if n != env.object_names()[0])
    joint = env.robosuite.objects_dict[other].joints[0]  # its free joint: xyz, quaternion
    qpos = env.robosuite.sim.data.get_joint_qpos(joint).copy()
    env.robosuite.sim.data.set_joint_qpos(joint, qpos + np.r_[0, 0, 0.2, np.zeros(4)])
    env.robosuite.sim.forward()
    info = env.step(np.zeros(7))[-1]
    assert info["lifted"] == [other] and info["target"] == env.object_names()[0]
    assert env.reset(seed=0)[1]["lifted"] == []  # every episode starts counting afresh


def test_privileged_positions_project_into_the_image(env):
    env.reset(seed=0)
    points = env.privileged_positions()  # gripper, the moved object, the container
    assert points.shape == (3, 2) and np.all((points > 0) & (points < 1))


def test_generation_writes_a_readable_libero_dataset(tmp_path):
    generate_demos([TASK], 1, tmp_path, image_size=SIZE, workers=1, progress=False)
    dataset = DemoDataset(tmp_path, chunk_size=4, verify="sha256")
    assert dataset.camera_names == ["agentview", "robot0_eye_in_hand"] and dataset.tasks == [TASK]
    item = dataset[0]
    assert item["state"].shape[-1] == 8 and item["actions"].shape[-1] == 7
    assert dataset.meta["config"]["max_steps"] == MAX_STEPS["libero_object"]
    # a policy trained on it takes LIBERO's state and action sizes and renders LIBERO's camera
    from grids.bench.policy import PolicyConfig
    from grids.bench.train import TrainConfig, build_policy

    policy_cfg = PolicyConfig(image_size=SIZE, patch_size=8)
    config = TrainConfig(
        data=str(tmp_path), out=str(tmp_path / "run"), policy=policy_cfg, language_model="hash"
    )
    policy = build_policy(config, dataset)
    assert (policy.cfg.state_dim, policy.cfg.action_dim, policy.cfg.camera) == (8, 7, "agentview")


@pytest.mark.parametrize(
    "missing, says",
    [
        ("robot_init_noise", "predates fresh LIBERO placements drawing the arm"),  # before the arm's noise
        ("expert_version", "'expert_version': 2"),  # demonstrations of the expert before version 2
    ],
)
def test_a_dataset_from_before_the_arm_noise_or_of_another_expert_is_refused(tmp_path, missing, says):
    generate_demos([TASK], 1, tmp_path, image_size=SIZE, workers=1, progress=False)
    manifest = tmp_path / "manifest.json"
    meta = json.loads(manifest.read_text())
    del meta["config"][missing]
    manifest.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=says):
        generate_demos([TASK], 2, tmp_path, image_size=SIZE, workers=1, progress=False)


def test_missing_libero_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_libero(name, *args, **kwargs):
        if name.startswith("libero"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_libero)
    libero_module._benchmark.cache_clear()
    libero_module.suite_tasks.cache_clear()
    try:
        with pytest.raises(libero_module.LiberoUnavailable, match="pip install 'grids-vla\\[libero\\]'"):
            libero_module.suite_tasks("libero_goal")
    finally:
        libero_module._benchmark.cache_clear()
        libero_module.suite_tasks.cache_clear()


def test_evaluation_starts_episode_i_from_official_state_i():
    from grids.bench.evaluate import EVAL_SEED_BASE, evaluate, official_init_state

    assert official_init_state(TASK, EVAL_SEED_BASE + 7) == 7
    assert official_init_state("reach-v3", EVAL_SEED_BASE + 7) is None
    assert official_init_state(TASK, EVAL_SEED_BASE + 7, "fresh") is None  # a placement drawn from the seed
    with pytest.raises(ValueError, match="50 official init states"):
        evaluate("no-such-run", [TASK], episodes=51)
    with pytest.raises(ValueError, match="starts must be one of"):
        evaluate("no-such-run", [TASK], starts="demo")
    with pytest.raises(FileNotFoundError):  # fresh placements are not limited to 50: it goes on to the run
        evaluate("no-such-run", [TASK], episodes=51, starts="fresh")


@pytest.mark.parametrize("name", ["robot-init", "layout"])
def test_state_perturbations_move_the_start_reproducibly(name):
    with LiberoEnv(TASK, render=False) as clean, LiberoEnv(TASK, render=False, perturbation=name) as moved:
        clean.reset(seed=4, init_state=2)
        moved.reset(seed=4, init_state=2)
        first_joints, first_objects = moved.robosuite.sim.data.qpos[:7].copy(), object_positions(moved)
        joint_shift = np.abs(first_joints - clean.robosuite.sim.data.qpos[:7]).max()
        object_shift = np.abs(first_objects - object_positions(clean))[:, :2].max()
        moved.reset(seed=4, init_state=2)
        np.testing.assert_allclose(object_positions(moved), first_objects, atol=1e-9)
    if name == "robot-init":
        assert joint_shift > 0.02 and object_shift < 1e-3
    else:
        assert object_shift > 0.005


def test_language_shift_rewords_the_instruction_reproducibly():
    with LiberoEnv(TASK, render=False, perturbation="language") as env:
        said = {env.reset(seed=s)[0]["instruction"] for s in range(8)}
        first = env.reset(seed=3)[0]["instruction"]
        env.reset(seed=4)
        assert env.reset(seed=3)[0]["instruction"] == first
    assert env.instruction not in said and len(said) > 1
    assert all("alphabet soup" in text and "basket" in text and ".bddl" not in text for text in said)


def test_a_missing_init_state_file_is_named(tmp_path, monkeypatch):
    import libero.libero.benchmark as benchmark

    monkeypatch.setattr(benchmark, "get_libero_path", lambda key: str(tmp_path / key))
    with pytest.raises(FileNotFoundError, match=f"unavailable: {tmp_path}/init_states/libero_goal/.+"):
        official_init_states.__wrapped__("libero_goal/3")  # uncached


SCENE = """
<mujoco>
  <worldbody>
    {extra}
    <body name="can"><freejoint name="can_joint"/><geom size=".05"/></body>
    <body name="door" pos="1 0 0"><joint name="hinge" type="hinge"/><geom size=".05"/></body>
  </worldbody>
</mujoco>
"""
EXTRA = '<body name="distractor" pos="0 1 0"><freejoint name="distractor_joint"/><geom size=".05"/></body>'


def test_a_state_is_carried_into_a_larger_scene_joint_by_joint():
    """An object added before the others moves every address: each joint's values still reach it by name."""
    from grids.sim.libero import carry_state, joint_layout
    from grids.sim.rendering import mujoco

    small = joint_layout(mujoco.MjModel.from_xml_string(SCENE.format(extra="")))
    large = joint_layout(mujoco.MjModel.from_xml_string(SCENE.format(extra=EXTRA)))
    assert large.joints["can_joint"][0] != small.joints["can_joint"][0]
    state = 1.0 + np.arange(1 + small.nq + small.nv)  # time, qpos (7 + 1), qvel (6 + 1)
    current = np.full(1 + large.nq + large.nv, -1.0)
    carried = carry_state(state, source=small, target=large, current=current)
    assert carried[0] == state[0]
    for name, (q, nq, v, nv) in small.joints.items():
        to_q, _, to_v, _ = large.joints[name]
        np.testing.assert_array_equal(carried[1 + to_q : 1 + to_q + nq], state[1 + q : 1 + q + nq])
        np.testing.assert_array_equal(
            carried[1 + large.nq + to_v :][:nv], state[1 + small.nq + v :][:nv], err_msg=name
        )
    q, nq, v, nv = large.joints["distractor_joint"]
    assert np.all(carried[1 + q : 1 + q + nq] == -1.0) and np.all(carried[1 + large.nq + v :][:nv] == 0.0)
    with pytest.raises(
        ValueError, match=r"shape \(15,\) is not one of this scene's \(1 \+ 15 \+ 13 values\)"
    ):
        carry_state(state[:15], source=large, target=large, current=current)
    with pytest.raises(ValueError, match=r"the scene lacks joints \['distractor_joint'\]"):
        carry_state(current, source=large, target=small, current=state)


def test_placed_redraws_a_crowded_placement_and_names_the_scene_when_every_draw_fails():
    from robosuite.utils.errors import RandomizationError

    from grids.sim.libero import placed

    attempts = []

    def crowded_twice(attempt):
        attempts.append(attempt)
        if attempt < 2:
            raise RandomizationError("Cannot place all objects ):")
        return "placed"

    assert placed(crowded_twice, tries=3, what="x") == "placed" and attempts == [0, 1, 2]
    attempts.clear()
    with pytest.raises(RuntimeError, match=r"^libero_spatial/4 under layout@2: .* in 2 draws$"):
        placed(crowded_twice, tries=2, what="libero_spatial/4 under layout@2")
    assert attempts == [0, 1]
