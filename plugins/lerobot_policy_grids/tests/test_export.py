"""`grids data export DIR --to-lerobot OUT`: our demos through LeRobot's writer, read back by LeRobotDataset.

The exported dataset stores images as images (PNG inside parquet), so the round trip is exact: every
pixel, state, action, reward, success flag, task string and episode boundary equals the source.
"""

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from grids.cli.main import main

pytest.importorskip(
    "h5py", reason="h5py missing from LeRobot's venv: rerun bash scripts/setup_lerobot_env.sh"
)

from grids.sim.dataset import DemoDataset  # noqa: E402
from grids.sim.lerobot_export import METAWORLD_FPS, camera_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
LENGTHS = (3, 5, 2, 4)  # frames per episode: unequal, so a shifted boundary cannot go unnoticed


def write_tiny_demos(root: Path, **options) -> Path:
    """The main suite's synthetic DemoDataset writer (tests/conftest.py), loaded by path: `tests` is
    not a package, and LeRobot's venv has an unrelated top-level `tests` package installed."""
    spec = importlib.util.spec_from_file_location("grids_tests_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_tiny_demos(root, **options)


@pytest.fixture
def demos(tmp_path) -> Path:
    return write_tiny_demos(tmp_path / "demos", image_size=24, lengths=LENGTHS)


def export(source: Path, out: Path) -> int:
    return main(["data", "export", str(source), "--to-lerobot", str(out), "--no-progress"])


def test_export_round_trip_is_exact(demos, tmp_path):
    out = tmp_path / "lerobot"
    assert export(demos, out) == 0
    exported = LeRobotDataset("local/lerobot", root=out)
    source = DemoDataset(demos)
    assert (exported.num_episodes, exported.num_frames) == (source.num_episodes, source.num_frames) == (4, 14)
    assert exported.fps == METAWORLD_FPS
    assert exported.meta.robot_type == "sawyer"
    start = 0
    for e in range(source.num_episodes):
        episode, bounds = source.episode(e), exported.meta.episodes[e]
        length = len(episode["actions"])
        assert (bounds["dataset_from_index"], bounds["dataset_to_index"]) == (start, start + length)
        task = source.instructions[source.episodes[e]["task_index"]]
        assert bounds["tasks"] == [task]
        for t in range(length):
            frame = exported[start + t]
            assert (frame["episode_index"].item(), frame["frame_index"].item()) == (e, t)
            assert frame["timestamp"].item() == pytest.approx(t / METAWORLD_FPS)
            assert frame["task"] == task
            for v, camera in enumerate(source.camera_names):
                image = frame[camera_key(camera)]  # float32 [3, S, S] in [0, 1], = uint8 / 255
                pixels = (image * 255).round().to(torch.uint8).permute(1, 2, 0)  # [S, S, 3]
                assert torch.equal(pixels, torch.from_numpy(episode["images"][t, v])), (e, t, camera)
            assert torch.equal(frame["observation.state"], torch.from_numpy(episode["state"][t]))
            assert torch.equal(frame["action"], torch.from_numpy(episode["actions"][t]))
            assert frame["next.reward"].item() == episode["reward"][t]
            assert frame["next.success"].item() == bool(episode["success"][t])
        start += length
    assert start == exported.num_frames


def test_libero_demos_export_in_libero_layout_the_features_grids_libero_shows(tmp_path):
    """LIBERO's 8-d state and 7-d action at robosuite's 20 Hz, named as --env.type=grids_libero names them."""
    from lerobot.envs.configs import EnvConfig
    from lerobot.envs.utils import env_to_policy_features
    from lerobot.utils.feature_utils import dataset_to_policy_features

    from grids.sim.lerobot_export import LAYOUTS

    source = write_tiny_demos(tmp_path / "libero", tasks=("libero_goal/3",), image_size=24, suite="libero")
    out = tmp_path / "lerobot"
    assert export(source, out) == 0
    exported = LeRobotDataset("local/lerobot", root=out)
    assert (exported.fps, exported.meta.robot_type) == (LAYOUTS["libero"].fps, "panda") == (20, "panda")
    episode = DemoDataset(source).episode(0)
    assert torch.equal(exported[0]["observation.state"], torch.from_numpy(episode["state"][0]))  # all 8
    assert torch.equal(exported[0]["action"], torch.from_numpy(episode["actions"][0]))  # all 7
    shown = env_to_policy_features(EnvConfig.get_choice_class("grids_libero")(image_size=24))
    written = {k: v for k, v in dataset_to_policy_features(exported.meta.features).items() if k in shown}
    assert written == shown


def damage(demos: Path, how: str) -> Path:
    """Damage the second episode's shard; return its path."""
    manifest = json.loads((demos / "manifest.json").read_text())
    shard = demos / manifest["episodes"][1]["file"]
    if how == "corrupted":  # same size: only the sha256 check sees it
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif how == "truncated":
        shard.write_bytes(shard.read_bytes()[:-100])
    else:
        shard.unlink()
    return shard


@pytest.mark.parametrize("how", ["corrupted", "truncated", "missing"])
def test_a_damaged_source_is_refused_naming_the_shard(demos, tmp_path, capsys, how):
    shard = damage(demos, how)
    out = tmp_path / "lerobot"
    assert export(demos, out) == 2
    error = capsys.readouterr().err
    assert error.startswith("grids: error: 1 of 4 shard(s)") and f"shard {shard} " in error
    assert not out.exists() and list(tmp_path.iterdir()) == [demos]  # no partial output either


def test_an_interrupted_generation_is_refused(demos, tmp_path, capsys):
    manifest = json.loads((demos / "manifest.json").read_text())
    (demos / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    out = tmp_path / "lerobot"
    assert export(demos, out) == 2
    error = capsys.readouterr().err
    assert f"{demos / 'manifest.json'} says complete=false" in error and "grids data generate" in error
    assert not out.exists()


def test_an_existing_output_folder_is_refused(demos, tmp_path, capsys):
    out = tmp_path / "lerobot"
    out.mkdir()
    assert export(demos, out) == 2
    assert (
        capsys.readouterr().err == f"grids: error: {out} already exists; choose a new folder "
        "(LeRobot never writes into an existing one)\n"
    )
    assert list(out.iterdir()) == []


def test_tasks_and_episodes_per_task_export_a_subset(tmp_path):
    source = write_tiny_demos(
        tmp_path / "demos", tasks=("reach-v3", "drawer-close-v3", "button-press-topdown-v3"),
        episodes_per_task=3, image_size=16, lengths=LENGTHS,
    )  # fmt: skip
    out = tmp_path / "lerobot"
    argv = ["--tasks", "button-press-topdown-v3,reach-v3", "--episodes-per-task", "2"]
    assert main(["data", "export", str(source), "--to-lerobot", str(out), "--no-progress", *argv]) == 0
    exported = LeRobotDataset("local/lerobot", root=out)
    demos = DemoDataset(source)
    chosen = [  # the dataset's order, not the order of --tasks
        e for e, entry in enumerate(demos.episodes)
        if entry["task"] in ("reach-v3", "button-press-topdown-v3") and entry["episode_in_task"] < 2
    ]  # fmt: skip
    assert exported.num_episodes == len(chosen) == 4
    for exported_index, e in enumerate(chosen):
        bounds = exported.meta.episodes[exported_index]
        assert bounds["tasks"] == [demos.instructions[demos.episodes[e]["task_index"]]]
        first = exported[bounds["dataset_from_index"]]
        assert torch.equal(first["action"], torch.from_numpy(demos.episode(e)["actions"][0]))
        assert bounds["dataset_to_index"] - bounds["dataset_from_index"] == demos.episodes[e]["num_frames"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tasks", "push-v3"], "tasks ['push-v3'] not in"),
        (["--episodes-per-task", "3"], "has 2 episodes of reach-v3, fewer than 3"),
        (["--episodes-per-task", "0"], "argument --episodes-per-task: must be an int >= 1, got 0"),
    ],
)
def test_a_subset_the_source_lacks_is_refused(demos, tmp_path, capsys, argv, message):
    out = tmp_path / "lerobot"
    try:  # a value that is no count at all is refused by argparse (exit 2), the others by the export (status 2)
        status = main(["data", "export", str(demos), "--to-lerobot", str(out), "--no-progress", *argv])
    except SystemExit as exit_:
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [demos]
