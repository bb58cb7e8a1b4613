"""Fixtures shared by the test packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_tiny_demos(
    root: Path,
    *,
    tasks=("reach-v3", "drawer-close-v3"),
    episodes_per_task: int = 2,
    image_size: int = 16,
    lengths: tuple[int, ...] = (3,),
    suite: str | None = None,
) -> Path:
    """A valid DemoDataset of random frames (no simulator): 16-pixel images, 3 frames per episode.

    Episode n (over all tasks) has ``lengths[n % len(lengths)]`` frames. ``suite="libero"``: LIBERO's layout
    (its two cameras, 8-d state, 7-d action; instructions are placeholders) for ``tasks`` named as LIBERO's.
    """
    from grids.sim.dataset import FORMAT_NAME, MANIFEST, SCHEMA_VERSION, write_episode, write_json_atomic
    from grids.sim.tasks import INSTRUCTIONS

    rng = np.random.default_rng(0)
    libero = suite == "libero"
    cameras = ["agentview", "robot0_eye_in_hand"] if libero else ["corner3", "gripperPOV"]
    state_dim, action_dim = (8, 7) if libero else (4, 4)
    config = {"tasks": list(tasks), "image_size": image_size, "seed": 0, "max_steps": 200,
              "camera_names": cameras, "episodes_per_task": episodes_per_task}  # fmt: skip
    config |= {"suite": suite} if suite else {}
    episodes = []
    for task_index, task in enumerate(tasks):
        for k in range(episodes_per_task):
            T = lengths[len(episodes) % len(lengths)]
            entry = {"file": f"shards/{task}/episode_{k:05d}.h5", "task": task, "task_index": task_index,
                     "episode_in_task": k, "seed": k, "attempt": 0, "num_frames": T, "success_step": T}  # fmt: skip
            episode = {
                "images": rng.integers(0, 255, (T, 2, image_size, image_size, 3), dtype=np.uint8),
                "state": rng.standard_normal((T, state_dim)).astype(np.float32),
                "actions": rng.uniform(-1, 1, (T, action_dim)).astype(np.float32),
                "reward": np.arange(T, dtype=np.float32) / T,
                "success": np.arange(T) == T - 1,
            }
            entry.update(write_episode(root / entry["file"], episode, {"task": task}))
            episodes.append(entry)
    manifest = {"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION, "config": config, "tasks": list(tasks),
                "instructions": [f"do {t}" if libero else INSTRUCTIONS[t] for t in tasks], "episodes": episodes, "failed": [],
                "complete": True}  # fmt: skip
    write_json_atomic(root / MANIFEST, manifest)
    return root


@pytest.fixture
def tiny_demos(tmp_path) -> Path:
    """A fresh 4-episode DemoDataset directory in ``tmp_path`` (each test may damage its own copy)."""
    pytest.importorskip("h5py")
    return write_tiny_demos(tmp_path / "demos")
