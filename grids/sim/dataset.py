"""Demonstrations on disk: one HDF5 shard per episode plus a ``manifest.json`` (format in FORMAT.md).

Writing is crash-safe: a shard is written under a temporary name and ``os.replace``-d into place once
complete, and the manifest (the only list of valid shards) is rewritten the same way afterwards. Reading
checks every shard's size against the manifest when the dataset is opened (``verify="sha256"`` also checks
the hash), and HDF5 Fletcher-32 checksums catch corrupted chunks when they are read; either way the error
names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from grids.errors import UserError

SCHEMA_VERSION = 1
FORMAT_NAME = "grids-demos"
MANIFEST = "manifest.json"


class ShardError(RuntimeError, UserError):
    """A shard is missing, truncated, corrupted or does not match the manifest."""


def generate_command(root: str | Path, config: dict[str, Any]) -> str:
    """The ``grids data generate`` command that wrote a dataset: rerunning it redoes every damaged shard."""
    suite = f"--suite {config['suite']} " if "suite" in config else ""  # MetaWorld configs have no suite
    return (
        f"grids data generate {suite}--tasks {','.join(config['tasks'])} "
        f"--episodes-per-task {config['episodes_per_task']} --out {shlex.quote(str(root))} "
        f"--image-size {config['image_size']} --seed {config['seed']}"
    )


def damaged_shards_error(root: Path, manifest: dict[str, Any], problems: list[str]) -> ShardError:
    """One error that lists every damaged shard and how to regenerate them."""
    return ShardError(
        "\n".join(
            [
                f"{len(problems)} of {len(manifest['episodes'])} shard(s) in {root} are damaged:",
                *(f"  {problem}" for problem in problems),
                "re-running the command that generated the dataset regenerates exactly these "
                "(intact shards are kept):",
                f"  {generate_command(root, manifest['config'])}",
            ]
        )
    )


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_episode(path: Path, episode: dict[str, np.ndarray], attrs: dict[str, Any]) -> dict[str, Any]:
    """Write one episode shard atomically; return its manifest entry fields (bytes, sha256)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    num_frames = len(episode["actions"])
    with h5py.File(tmp, "w", track_order=False) as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        for key, value in episode.items():
            if len(value) != num_frames:
                raise ValueError(f"episode field {key!r} has {len(value)} frames, expected {num_frames}")
            # One chunk per frame for images: a random-access read decompresses exactly one frame.
            chunks = (1, *value.shape[1:]) if key == "images" else None
            f.create_dataset(
                key, data=value, chunks=chunks, compression="gzip", compression_opts=4,
                fletcher32=True, track_times=False,
            )  # fmt: skip
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def read_manifest(root: str | Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"no {MANIFEST} in {root}: not a grids demo dataset (or generation never started)"
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ShardError(f"{path} is not valid JSON: {err}") from err
    if manifest.get("format") != FORMAT_NAME or manifest.get("schema_version") != SCHEMA_VERSION:
        raise ShardError(
            f"{path}: expected format {FORMAT_NAME!r} schema {SCHEMA_VERSION}, "
            f"got {manifest.get('format')!r} schema {manifest.get('schema_version')!r}"
        )
    return manifest


def shard_problem(file: Path, entry: dict[str, Any], *, full: bool) -> str | None:
    """What is wrong with a shard against its manifest entry (size; ``full``: sha256 too), or None."""
    if not file.is_file():
        return f"shard {file} listed in the manifest is missing"
    size = file.stat().st_size
    if size != entry["bytes"]:
        return f"shard {file} is truncated or modified: {size} bytes, manifest says {entry['bytes']}"
    if full and sha256_file(file) != entry["sha256"]:
        return f"shard {file} is corrupted: sha256 does not match the manifest"
    return None


class DemoDataset(Dataset):
    """Frames of scripted-expert demos as dicts of torch tensors (one item per frame).

    item = {"images": uint8 [2, S, S, 3], "state": float32 [D], "actions": float32 [chunk_size, D],
    "action_is_pad": bool [chunk_size], "task_index": int64 [], "episode_index": int64 [], "frame_index": int64 []}

    D = 4 for MetaWorld, 14 for ALOHA (joint positions). ``actions`` holds actions t .. t+chunk_size-1 of
    the same episode, repeating the last one past the end (``action_is_pad`` marks those). States and actions of all episodes are read into memory at open (they
    are small); images are read lazily, one HDF5 chunk per item, with file handles opened per process so
    that DataLoader workers (fork or spawn) never share one.
    """

    def __init__(self, path: str | Path, *, chunk_size: int = 1, verify: str = "size"):
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
        if verify not in ("size", "sha256"):
            raise ValueError(f"verify must be 'size' or 'sha256', got {verify!r}")

        self.root = Path(path)
        self.chunk_size = chunk_size
        self.meta = read_manifest(self.root)
        self.tasks: list[str] = list(self.meta["tasks"])
        self.instructions: list[str] = list(self.meta["instructions"])
        self.image_size: int = int(self.meta["config"]["image_size"])
        self.camera_names: list[str] = list(self.meta["config"]["camera_names"])
        self.episodes: list[dict[str, Any]] = list(self.meta["episodes"])
        if not self.episodes:
            raise ShardError(f"{self.root / MANIFEST} lists no episodes")

        self._states: list[np.ndarray] = []
        self._actions: list[np.ndarray] = []
        # Check every shard before raising: one run of --verify lists all the damage, not the first.
        problems = [p for entry in self.episodes if (p := self._load_low_dim(entry, verify == "sha256"))]
        if problems:
            raise damaged_shards_error(self.root, self.meta, problems)
        lengths = np.array([len(a) for a in self._actions])
        self._starts = np.concatenate([[0], np.cumsum(lengths)])  # [E + 1]
        self.num_episodes = len(self.episodes)
        self.num_frames = int(self._starts[-1])
        self._handles: dict[int, Any] = {}
        self._handles_pid: int | None = None

    def _load_low_dim(self, entry: dict[str, Any], full: bool) -> str | None:
        """Read one episode's states and actions into memory; return what is wrong with its shard, if anything."""
        import h5py

        file = self.root / entry["file"]
        problem = shard_problem(file, entry, full=full)
        if problem:
            return problem
        try:
            with h5py.File(file, "r") as f:
                states, actions = f["state"][:], f["actions"][:]
        except Exception as err:  # h5py raises OSError/KeyError/RuntimeError for damaged files
            return f"cannot read shard {file}: {err}"
        if len(actions) != entry["num_frames"]:
            return f"shard {file} has {len(actions)} frames, manifest says {entry['num_frames']}"
        self._states.append(states)
        self._actions.append(actions)
        return None

    def verify(self) -> None:
        """Hash every shard and compare with the manifest (reads the whole dataset); raise listing every bad one."""
        problems = [p for e in self.episodes if (p := shard_problem(self.root / e["file"], e, full=True))]
        if problems:
            raise damaged_shards_error(self.root, self.meta, problems)

    def __len__(self) -> int:
        return self.num_frames

    def _file(self, episode_index: int):
        import h5py

        if self._handles_pid != os.getpid():  # first use in this process (e.g. a fresh DataLoader worker)
            self._handles, self._handles_pid = {}, os.getpid()
        if episode_index not in self._handles:
            file = self.root / self.episodes[episode_index]["file"]
            try:
                self._handles[episode_index] = h5py.File(file, "r")
            except Exception as err:
                raise ShardError(f"cannot open shard {file}: {err}") from err
        return self._handles[episode_index]

    def _read(self, episode_index: int, key: str, index) -> np.ndarray:
        try:
            return self._file(episode_index)[key][index]
        except ShardError:
            raise
        except Exception as err:
            file = self.root / self.episodes[episode_index]["file"]
            raise ShardError(
                f"corrupted shard {file}: reading {key!r} failed: {err}; "
                f"`grids data info {shlex.quote(str(self.root))} --verify` lists every damaged shard"
            ) from err

    def locate(self, index: int) -> tuple[int, int]:
        """Frame index in the whole dataset -> (episode index, frame index in that episode)."""
        if not -self.num_frames <= index < self.num_frames:
            raise IndexError(f"frame index {index} out of range for {self.num_frames} frames")
        index %= self.num_frames
        episode = int(np.searchsorted(self._starts, index, side="right")) - 1
        return episode, index - int(self._starts[episode])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        episode, frame = self.locate(int(index))
        return {"images": torch.from_numpy(self._read(episode, "images", frame)), **self._low_dim_item(episode, frame)}

    def _low_dim_item(self, episode: int, frame: int) -> dict[str, torch.Tensor]:
        actions = self._actions[episode]  # [T, 4]
        steps = np.arange(frame, frame + self.chunk_size)
        return {
            "state": torch.from_numpy(self._states[episode][frame].copy()),
            "actions": torch.from_numpy(actions[np.minimum(steps, len(actions) - 1)]),
            "action_is_pad": torch.from_numpy(steps >= len(actions)),
            "task_index": torch.tensor(self.episodes[episode]["task_index"], dtype=torch.int64),
            "episode_index": torch.tensor(episode, dtype=torch.int64),
            "frame_index": torch.tensor(frame, dtype=torch.int64),
        }

    def low_dim_frames(self) -> dict[str, torch.Tensor]:
        """Every frame's item without its images, stacked (no image is read): ``state [N, D]``, ``actions
        [N, chunk_size, D]``, ``action_is_pad [N, chunk_size]``, ``task_index``, ``episode_index``, ``frame_index [N]``."""
        items = [self._low_dim_item(*self.locate(i)) for i in range(self.num_frames)]
        return {key: torch.stack([item[key] for item in items]) for key in items[0]}

    def episode(self, index: int) -> dict[str, np.ndarray]:
        """A whole episode as numpy: images [T, 2, S, S, 3], state [T, 4], actions [T, 4], reward [T], success [T]."""
        if not 0 <= index < self.num_episodes:
            raise IndexError(f"episode index {index} out of range for {self.num_episodes} episodes")
        keys = ("images", "state", "actions", "reward", "success")
        return {key: self._read(index, key, slice(None)) for key in keys}

    def low_dim(self) -> dict[str, np.ndarray]:
        """All states and actions, concatenated over episodes (for normalisation statistics): [N, 4] each."""
        return {"state": np.concatenate(self._states), "actions": np.concatenate(self._actions)}

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"], state["_handles_pid"] = {}, None  # h5py handles cannot cross processes
        return state
