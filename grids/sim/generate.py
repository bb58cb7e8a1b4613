"""Multi-process, resumable generation of scripted-expert demonstrations (any registered suite).

The work is a fixed list of units (task, k) for k < episodes_per_task. Unit (task, k) tries episode seeds
``episode_seed(seed, task, k, attempt)`` for attempt = 0, 1, ... until the expert succeeds (failed attempts
are dropped), so every shard's content depends only on (seed, task, k, image_size, max_steps), not on
which worker ran it or whether the run was interrupted. A restarted run reads the manifest, skips units
already listed there with an intact file, and redoes the rest. An episode is ``grids.sim.rollout.rollout_expert``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from grids.core.validation import check_int
from grids.errors import check_output_dir
from grids.sim.base import SimEnv, check_image_size
from grids.sim.dataset import (
    FORMAT_NAME,
    MANIFEST,
    SCHEMA_VERSION,
    read_manifest,
    sha256_file,
    write_episode,
    write_json_atomic,
)
from grids.sim.env import make_env
from grids.sim.rollout import rollout_expert
from grids.sim.suites import get_suite
from grids.sim.tasks import is_libero

MAX_ATTEMPTS = 10


def suite_instructions(suite: str) -> dict[str, str]:
    """Task name -> instruction for a simulator suite; LIBERO's and ALOHA's need their extras."""
    return get_suite(suite).env_class().instructions()


def episode_seed(seed: int, task: str, k: int, attempt: int) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(task.encode()), k, attempt]).generate_state(1)[0])


def shard_name(task: str, k: int) -> str:
    return f"shards/{task}/episode_{k:05d}.h5"


_ENVS: dict[tuple, SimEnv] = {}  # per worker process: env construction costs ~1 s


def _env(job: dict[str, Any]) -> SimEnv:
    """The unit's env, cached per process."""
    key = (job["suite"], job["task"], job["image_size"], job["max_steps"], job["camera"])
    if key not in _ENVS:
        _ENVS[key] = make_env(
            job["task"], image_size=job["image_size"], max_steps=job["max_steps"], camera=job["camera"]
        )
    return _ENVS[key]


def _run_unit(job: dict[str, Any]) -> dict[str, Any]:
    task, k = job["task"], job["k"]
    env = _env(job)
    start = time.perf_counter()
    for attempt in range(MAX_ATTEMPTS):
        seed = episode_seed(job["seed"], task, k, attempt)
        episode = rollout_expert(env, seed)
        if episode is None:
            continue
        entry = {
            "file": shard_name(task, k),
            "task": task,
            "task_index": job["task_index"],
            "episode_in_task": k,
            "seed": seed,
            "attempt": attempt,
            "num_frames": len(episode["actions"]),
            "success_step": len(episode["actions"]),
        }
        instruction = suite_instructions(job["suite"])[task]
        attrs = {**entry, "instruction": instruction, "schema_version": SCHEMA_VERSION}
        entry.update(write_episode(Path(job["out"]) / entry["file"], episode, attrs))
        entry["seconds"] = round(time.perf_counter() - start, 3)  # informational, not part of the content
        return entry
    return {"task": task, "episode_in_task": k, "failed": True, "attempts": MAX_ATTEMPTS}


def generate_demos(
    tasks: list[str],
    episodes_per_task: int,
    out: str | Path,
    *,
    image_size: int = 128,
    workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
    max_steps: int | None = None,
    camera: str | None = None,
    suite: str = "metaworld",
) -> Path:
    """Generate ``episodes_per_task`` successful expert episodes per task into ``out``; resumable; returns ``out``.

    ``suite``: a registered suite (``grids.sim.suites``): ``"metaworld"`` (``camera``: the third-person view,
    default ``workspace``; ``max_steps`` default 200), ``"libero"`` (agentview + eye-in-hand; ``max_steps`` the
    suite's evaluation limit, ``grids.sim.libero.MAX_STEPS``; chosen by itself when every task is a LIBERO task
    such as ``"libero_object/0"``) or ``"aloha"`` (its cameras ``top`` and ``angle``; ``max_steps`` default 300).

    Every argument is checked before anything is written (``out`` a directory, ``seed`` an int >= 0,
    ``workers`` None or an int >= 1): a refused value never reaches the manifest.
    """
    suite, instructions = _check_tasks(tasks, suite)
    check_int(episodes_per_task, "episodes_per_task", minimum=1)
    check_int(seed, "seed", minimum=0)
    check_int(workers, "workers", minimum=1, optional=True)
    check_image_size(image_size)
    env_class = get_suite(suite).env_class()
    config = {
        "tasks": list(tasks),
        "image_size": image_size,
        "seed": seed,
        "max_steps": max(env_class.default_max_steps(t) for t in tasks) if max_steps is None else max_steps,
        "camera_names": list(env_class.views(camera)),
        "episodes_per_task": episodes_per_task,
        **env_class.dataset_config(),
    }
    out = check_output_dir(out, "out")
    out.mkdir(parents=True, exist_ok=True)
    manifest = _open_manifest(out, config, suite, instructions)
    done = {(e["task"], e["episode_in_task"]) for e in manifest["episodes"]}
    jobs = [
        {"task": task, "task_index": i, "k": k, "out": str(out), "seed": seed, "image_size": image_size,
         "max_steps": config["max_steps"], "camera": config["camera_names"][0], "suite": suite}
        for i, task in enumerate(tasks)
        for k in range(episodes_per_task)
        if (task, k) not in done
    ]  # fmt: skip
    _run_jobs(jobs, workers or os.cpu_count() or 1, manifest, out / MANIFEST, progress)
    if manifest["failed"]:
        failed = [(e["task"], e["episode_in_task"]) for e in manifest["failed"]]
        raise RuntimeError(
            f"the expert failed {MAX_ATTEMPTS} attempts in a row for {failed}; see {out / MANIFEST}"
        )
    return out


def _check_tasks(tasks: list[str], suite: str) -> tuple[str, dict[str, str]]:
    """The suite (LIBERO's when every task is LIBERO's) and its instructions, every task among them."""
    if isinstance(tasks, str) or not all(isinstance(t, str) for t in tasks):
        raise ValueError(
            f"tasks must be a list of task names, got {tasks!r} (grids.sim.resolve_tasks makes one)"
        )
    get_suite(suite)
    if suite == "metaworld" and tasks and all(is_libero(t) for t in tasks):
        suite = "libero"
    instructions = suite_instructions(suite)
    unknown = [t for t in tasks if t not in instructions]
    if unknown or not tasks:
        raise ValueError(
            f"unknown or empty task list: {unknown or tasks}; known {suite} tasks: {sorted(instructions)}"
        )
    return suite, instructions


def _open_manifest(
    out: Path, config: dict[str, Any], suite: str, instructions: dict[str, str]
) -> dict[str, Any]:
    """The manifest to continue: the one in ``out`` if it was generated with the same config (its intact
    episodes kept, the failed ones to be redone), else a new one; written back, marked incomplete."""
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        manifest = read_manifest(out)
        old = {k: v for k, v in manifest["config"].items() if k != "episodes_per_task"}
        new = {k: v for k, v in config.items() if k != "episodes_per_task"}
        if old != new:
            why = (
                " (it predates fresh LIBERO placements drawing the arm's initial-state noise of the official"
                " states, so its demonstrations all start from one arm pose)"
                if suite == "libero" and "robot_init_noise" not in old
                else ""
            )
            raise ValueError(f"{out} holds a dataset generated with {old}, not {new}{why}; use another --out")
        manifest["config"] = config
    else:
        manifest = {
            "format": FORMAT_NAME,
            "schema_version": SCHEMA_VERSION,
            "config": config,
            "tasks": config["tasks"],
            "instructions": [instructions[t] for t in config["tasks"]],
            "episodes": [],
            "failed": [],
            "complete": False,
        }
    for stale in out.glob("**/*.tmp-*"):  # half-written shards of a killed run
        stale.unlink()

    def intact(entry: dict[str, Any]) -> bool:
        file = out / entry["file"]
        return (
            file.is_file() and file.stat().st_size == entry["bytes"] and sha256_file(file) == entry["sha256"]
        )

    episodes_per_task = config["episodes_per_task"]
    manifest["episodes"] = [
        e for e in manifest["episodes"] if e["episode_in_task"] < episodes_per_task and intact(e)
    ]
    manifest["failed"] = []
    manifest["complete"] = False
    write_json_atomic(manifest_path, manifest)
    return manifest


def _run_jobs(
    jobs: list[dict[str, Any]], workers: int, manifest: dict[str, Any], manifest_path: Path, progress: bool
) -> None:
    """Run the units (inline, or in ``workers`` spawned processes), recording each in the manifest as it ends."""

    def record(entry: dict[str, Any]) -> None:
        if entry.get("failed"):
            manifest["failed"].append(entry)
        else:
            manifest["episodes"].append(entry)
            manifest["episodes"].sort(key=lambda e: (e["task_index"], e["episode_in_task"]))
        write_json_atomic(manifest_path, manifest)

    from tqdm import tqdm

    total = len(manifest["tasks"]) * manifest["config"]["episodes_per_task"]
    with tqdm(total=total, initial=total - len(jobs), disable=not progress, unit="ep", desc="demos") as bar:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                record(_run_unit(job))
                bar.update()
            while _ENVS:  # inline run: do not keep renderers alive in the caller's process
                _ENVS.popitem()[1].close()
        else:
            # spawn: a forked child would inherit the parent's GL/EGL state
            with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
                for entry in pool.imap_unordered(_run_unit, jobs):
                    record(entry)
                    bar.update()
    manifest["complete"] = not manifest["failed"]
    write_json_atomic(manifest_path, manifest)
