"""Our demonstrations as a LeRobotDataset (LeRobot 0.6's format, v3.0), written by LeRobot's own writer.

``grids data export DIR --to-lerobot OUT``: every episode of a grids demo dataset goes through
``LeRobotDataset.create`` / ``add_frame`` / ``save_episode`` / ``finalize``, so the files are whatever
the installed LeRobot writes; nothing here knows its file layout. One grids frame becomes one LeRobot
frame:

| grids (``FORMAT.md``)            | LeRobot feature                          |
|----------------------------------|------------------------------------------|
| ``images[t, v]`` uint8 [S, S, 3] | ``observation.images.<camera v>`` (image: PNG, lossless) |
| ``state[t]`` float32 [S]         | ``observation.state`` (names: the suite's ``Layout``) |
| ``actions[t]`` float32 [A]       | ``action``                               |
| ``reward[t]``, ``success[t]``    | ``next.reward`` [1], ``next.success`` [1] |
| the task's instruction           | ``task``                                 |

S and A, their names, the frame rate and the robot type are the suite's (``LAYOUTS``: MetaWorld 4 / 4 at 80 fps,
LIBERO 8 / 7 at 20 fps, ALOHA 14 / 14 at 50 fps). Camera names come from the dataset (``workspace`` or ``corner3``, then ``gripperPOV``), so a policy
trained on one third-person camera cannot silently be fed another. Images are stored as images, not
video: the round trip is exact (a video codec would not be), at the cost of larger files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grids.errors import UserError
from grids.sim.dataset import MANIFEST, DemoDataset, ShardError, generate_command


@dataclass(frozen=True)
class Layout:
    """How one suite's frames read as LeRobot features: the rate, the robot, the names of state and action."""

    fps: int
    robot_type: str
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]


_ALOHA_ARM = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")
_ALOHA_JOINTS = tuple(f"{side}_{joint}" for side in ("left", "right") for joint in _ALOHA_ARM)
LAYOUTS = {
    # MetaWorld: timestep 0.0025 s x frame_skip 5 = 12.5 ms per action; end-effector xyz (m) + gripper in [0, 1]
    "metaworld": Layout(80, "sawyer", ("ee_x", "ee_y", "ee_z", "gripper"), ("dx", "dy", "dz", "gripper")),
    # LIBERO: robosuite's 20 Hz control; end-effector xyz + axis-angle + two finger joints; OSC deltas + gripper
    "libero": Layout(
        20, "panda",
        ("eef_x", "eef_y", "eef_z", "eef_axis_angle_x", "eef_axis_angle_y", "eef_axis_angle_z",
         "gripper_qpos_left", "gripper_qpos_right"),
        ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"),
    ),  # fmt: skip
    # ALOHA: gym-aloha's 50 Hz; joint positions and joint-position targets, left arm then right
    "aloha": Layout(50, "aloha", _ALOHA_JOINTS, _ALOHA_JOINTS),
}
METAWORLD_FPS = LAYOUTS["metaworld"].fps
NEEDS_LEROBOT = "needs LeRobot: bash scripts/setup_lerobot_env.sh, then run with .venv-lerobot/bin/grids ..."


def camera_key(camera: str) -> str:
    return f"observation.images.{camera}"


def suite_layout(demos: DemoDataset) -> Layout:
    """The layout of a grids dataset's suite (its config names it; MetaWorld configs name none)."""
    return LAYOUTS[demos.meta["config"].get("suite", "metaworld")]


def lerobot_features(*, image_size: int, camera_names: list[str], layout: Layout = LAYOUTS["metaworld"]) -> dict[str, dict]:
    """The ``features`` argument of ``LeRobotDataset.create`` for a grids dataset of ``layout``'s suite."""
    image = {"dtype": "image", "shape": (image_size, image_size, 3), "names": ["height", "width", "channels"]}
    features = {camera_key(camera): image for camera in camera_names}
    state, action = list(layout.state_names), list(layout.action_names)
    features["observation.state"] = {"dtype": "float32", "shape": (len(state),), "names": state}
    features["action"] = {"dtype": "float32", "shape": (len(action),), "names": action}
    features["next.reward"] = {"dtype": "float32", "shape": (1,), "names": None}
    features["next.success"] = {"dtype": "bool", "shape": (1,), "names": None}
    return features


def episode_frames(episode: dict[str, np.ndarray], *, camera_names: list[str], task: str) -> Iterator[dict]:
    """One episode of ``DemoDataset.episode`` as the frames ``LeRobotDataset.add_frame`` takes."""
    for t in range(len(episode["actions"])):
        frame = {camera_key(camera): episode["images"][t, v] for v, camera in enumerate(camera_names)}
        frame["observation.state"] = episode["state"][t]
        frame["action"] = episode["actions"][t]
        frame["next.reward"] = episode["reward"][t : t + 1]
        frame["next.success"] = episode["success"][t : t + 1]
        frame["task"] = task
        yield frame


def open_source(path: str | Path) -> DemoDataset:
    """The dataset to export, checked whole first (sha256 of every shard; a finished generation)."""
    demos = DemoDataset(path, verify="sha256")  # raises ShardError listing every damaged shard
    if not demos.meta["complete"]:
        raise ShardError(
            f"{demos.root / MANIFEST} says complete=false: the generation was interrupted; "
            f"finish it first with `{generate_command(demos.root, demos.meta['config'])}`"
        )
    return demos


def load_lerobot_dataset_class():
    if importlib.util.find_spec("lerobot") is None:
        raise UserError(NEEDS_LEROBOT)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset


def export_to_lerobot(
    source: str | Path,
    out: str | Path,
    *,
    repo_id: str | None = None,
    fps: int | None = None,
    tasks: list[str] | None = None,
    episodes_per_task: int | None = None,
    progress: bool = True,
) -> Path:
    """Write the grids dataset at ``source`` as a LeRobotDataset at ``out`` (which must not exist).

    ``repo_id`` only names the dataset (default ``local/<out's name>``); nothing is pushed. ``fps``: default the
    suite's control rate (``LAYOUTS``). ``tasks`` and
    ``episodes_per_task`` export a subset (``select_episodes``). The dataset is written under a temporary
    name next to ``out`` and renamed when finalized, so ``out`` is never partial.
    """
    LeRobotDataset = load_lerobot_dataset_class()
    out = Path(out)
    if out.exists():
        raise UserError(
            f"{out} already exists; choose a new folder (LeRobot never writes into an existing one)"
        )
    if fps is not None and (not isinstance(fps, int) or fps < 1):
        raise ValueError(f"fps must be a positive int, got {fps!r}")
    demos = open_source(source)
    layout = suite_layout(demos)
    try:
        episodes = select_episodes(demos, tasks=tasks, episodes_per_task=episodes_per_task)
    except BaseException:
        demos.close()
        raise
    features = lerobot_features(image_size=demos.image_size, camera_names=demos.camera_names, layout=layout)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        dataset = LeRobotDataset.create(
            repo_id=repo_id or f"local/{out.name}", fps=fps or layout.fps, features=features, root=tmp,
            robot_type=layout.robot_type, use_videos=False,
        )  # fmt: skip
        write_episodes(dataset, demos, episodes, progress=progress)
        dataset.finalize()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        demos.close()
    os.replace(tmp, out)
    return out


def select_episodes(
    demos: DemoDataset, *, tasks: list[str] | None = None, episodes_per_task: int | None = None
) -> list[int]:
    """Indices of the episodes to export: those of ``tasks`` (default: all), the first ``episodes_per_task``
    of each (by ``episode_in_task``; default: all), in the dataset's order."""
    if tasks is not None:
        unknown = [task for task in tasks if task not in demos.tasks]
        if unknown or not tasks:
            raise UserError(f"tasks {unknown or tasks!r} not in {demos.root}; it holds {demos.tasks}")
    if episodes_per_task is not None and (
        not isinstance(episodes_per_task, int) or isinstance(episodes_per_task, bool) or episodes_per_task < 1
    ):
        raise ValueError(f"episodes_per_task must be a positive int, got {episodes_per_task!r}")
    wanted = demos.tasks if tasks is None else tasks
    chosen = [
        index
        for index, entry in enumerate(demos.episodes)
        if entry["task"] in wanted
        and (episodes_per_task is None or entry["episode_in_task"] < episodes_per_task)
    ]
    if episodes_per_task is not None:
        for task in wanted:
            found = sum(demos.episodes[index]["task"] == task for index in chosen)
            if found < episodes_per_task:
                raise UserError(
                    f"{demos.root} has {found} episodes of {task}, fewer than {episodes_per_task}"
                )
    return chosen


def write_episodes(dataset, demos: DemoDataset, episodes: list[int], *, progress: bool) -> None:
    import datasets
    from tqdm import tqdm

    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # one bar per saved episode otherwise; ours counts episodes
    try:
        for index in tqdm(episodes, disable=not progress, unit="ep", desc="export"):
            task = demos.instructions[demos.episodes[index]["task_index"]]
            for frame in episode_frames(demos.episode(index), camera_names=demos.camera_names, task=task):
                dataset.add_frame(frame)
            dataset.save_episode()
    finally:
        if not quiet:
            datasets.enable_progress_bars()
