"""Multi-process, resumable generation of scripted-expert demonstrations (MetaWorld or ALOHA).

The work is a fixed list of units (task, k) for k < episodes_per_task. Unit (task, k) tries episode seeds
``episode_seed(seed, task, k, attempt)`` for attempt = 0, 1, ... until the expert succeeds (failed attempts
are dropped), so every shard's content depends only on (seed, task, k, image_size, max_steps), not on
which worker ran it or whether the run was interrupted. A restarted run reads the manifest, skips units
already listed there with an intact file, and redoes the rest.
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
from grids.sim.dataset import (
    FORMAT_NAME,
    MANIFEST,
    SCHEMA_VERSION,
    read_manifest,
    sha256_file,
    write_episode,
    write_json_atomic,
)
from grids.sim.env import CAMERAS, DEFAULT_CAMERA, DEFAULT_MAX_STEPS, GRIPPER_CAMERA, check_image_size
from grids.sim.tasks import INSTRUCTIONS, is_libero

MAX_ATTEMPTS = 10
SUITES = ("metaworld", "libero", "aloha")


def suite_instructions(suite: str) -> dict[str, str]:
    """Task name -> instruction for a simulator suite; LIBERO's and ALOHA's need their extras."""
    if suite == "metaworld":
        return INSTRUCTIONS
    if suite == "libero":
        from grids.sim.libero import SUITES as LIBERO_SUITES
        from grids.sim.libero import suite_tasks

        return {task: text for name in LIBERO_SUITES for task, text, _ in suite_tasks(name)}
    if suite == "aloha":
        from grids.sim.aloha import ALOHA_INSTRUCTIONS

        return ALOHA_INSTRUCTIONS
    raise ValueError(f"unknown suite {suite!r}; known suites: {list(SUITES)}")


def episode_seed(seed: int, task: str, k: int, attempt: int) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(task.encode()), k, attempt]).generate_state(1)[0])


def shard_name(task: str, k: int) -> str:
    return f"shards/{task}/episode_{k:05d}.h5"


def rollout_expert(env, seed: int) -> dict[str, np.ndarray] | None:
    """One expert episode from ``env.reset(seed)``; frames up to and including the first success, or None."""
    from grids.sim.experts import expert_action

    obs, _ = env.reset(seed=seed)
    frames: dict[str, list] = {"images": [], "state": [], "actions": [], "reward": [], "success": []}
    for _ in range(env.max_steps):
        action = expert_action(env)
        frames["images"].append(obs["images"])
        frames["state"].append(obs["state"])
        frames["actions"].append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        frames["reward"].append(reward)
        frames["success"].append(info["success"])
        if info["success"]:
            return {
                "images": np.stack(frames["images"]),  # [T, 2, S, S, 3] uint8, obs before action t
                "state": np.stack(frames["state"]).astype(np.float32),  # [T, 4] MetaWorld, [T, 8] LIBERO
                "actions": np.stack(frames["actions"]).astype(np.float32),  # [T, 4] MetaWorld, [T, 7] LIBERO
                "reward": np.asarray(frames["reward"], dtype=np.float32),  # [T]
                "success": np.asarray(frames["success"], dtype=bool),  # [T], True only at the last step
            }
        if truncated:
            break
    return None


_ENVS: dict[tuple, tuple[Any, Any]] = {}  # per worker process: env construction costs ~1 s


def _env_and_expert(job: dict[str, Any]) -> tuple[Any, Any]:
    """The unit's env (cached per process) and its suite's ``rollout_expert(env, seed)``."""
    key = (job["suite"], job["task"], job["image_size"], job["max_steps"], job["camera"])
    if key not in _ENVS:
        size, max_steps = job["image_size"], job["max_steps"]
        if job["suite"] == "aloha":
            from grids.sim.aloha import make_aloha_env
            from grids.sim.aloha_experts import rollout_expert as rollout_aloha

            _ENVS[key] = make_aloha_env(job["task"], image_size=size, max_steps=max_steps), rollout_aloha
        else:
            from grids.sim.env import make_env

            env = make_env(job["task"], image_size=size, max_steps=max_steps, camera=job["camera"])
            _ENVS[key] = env, rollout_expert
    return _ENVS[key]


def _run_unit(job: dict[str, Any]) -> dict[str, Any]:
    task, k = job["task"], job["k"]
    env, rollout = _env_and_expert(job)
    start = time.perf_counter()
    for attempt in range(MAX_ATTEMPTS):
        seed = episode_seed(job["seed"], task, k, attempt)
        episode = rollout(env, seed)
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


def _initial_manifest(
    config: dict[str, Any], tasks: list[str], instructions: dict[str, str]
) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "config": config,
        "tasks": tasks,
        "instructions": [instructions[t] for t in tasks],
        "episodes": [],
        "failed": [],
        "complete": False,
    }


def _suite_views_and_steps(
    suite: str, camera: str | None, max_steps: int | None, tasks: list[str]
) -> tuple[list[str], int]:
    """The cameras a dataset records and its step limit, with each suite's defaults."""
    if suite == "aloha":
        from grids.sim.aloha import DEFAULT_CAMERAS
        from grids.sim.aloha import DEFAULT_MAX_STEPS as ALOHA_MAX_STEPS

        if camera is not None:
            raise ValueError(
                f"camera={camera!r} is for MetaWorld; ALOHA datasets record {list(DEFAULT_CAMERAS)}"
            )
        return list(DEFAULT_CAMERAS), ALOHA_MAX_STEPS if max_steps is None else max_steps
    if suite == "libero":
        from grids.sim.libero import CAMERA_NAMES, MAX_STEPS

        if camera not in (None, "agentview"):
            raise ValueError(
                f"camera={camera!r} is for MetaWorld; LIBERO datasets record {list(CAMERA_NAMES)}"
            )
        limit = max(MAX_STEPS[t.split("/")[0]] for t in tasks)
        return list(CAMERA_NAMES), limit if max_steps is None else max_steps
    camera = DEFAULT_CAMERA if camera is None else camera
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; known third-person cameras: {sorted(CAMERAS)}")
    return [camera, GRIPPER_CAMERA], DEFAULT_MAX_STEPS if max_steps is None else max_steps


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

    ``suite``: ``"metaworld"`` (``camera``: the third-person view, default ``workspace``; ``max_steps``
    default 200), ``"libero"`` (agentview + eye-in-hand; ``max_steps`` the suite's evaluation limit,
    ``grids.sim.libero.MAX_STEPS``; chosen by itself when every task is a LIBERO task such as
    ``"libero_object/0"``) or ``"aloha"`` (its cameras ``top`` and ``angle``; ``max_steps`` default 300).

    Every argument is checked before anything is written (``out`` a directory, ``seed`` an int >= 0,
    ``workers`` None or an int >= 1): a refused value never reaches the manifest.
    """
    if isinstance(tasks, str) or not all(isinstance(t, str) for t in tasks):
        raise ValueError(
            f"tasks must be a list of task names, got {tasks!r} (grids.sim.resolve_tasks makes one)"
        )
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known suites: {list(SUITES)}")
    if suite == "metaworld" and tasks and all(is_libero(t) for t in tasks):
        suite = "libero"
    instructions = suite_instructions(suite)
    unknown = [t for t in tasks if t not in instructions]
    if unknown or not tasks:
        raise ValueError(
            f"unknown or empty task list: {unknown or tasks}; known {suite} tasks: {sorted(instructions)}"
        )
    check_int(episodes_per_task, "episodes_per_task", minimum=1)
    check_int(seed, "seed", minimum=0)
    check_int(workers, "workers", minimum=1, optional=True)
    check_image_size(image_size)
    camera_names, max_steps = _suite_views_and_steps(suite, camera, max_steps, list(tasks))
    workers = workers or os.cpu_count() or 1
    out = check_output_dir(out, "out")
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "tasks": list(tasks),
        "image_size": image_size,
        "seed": seed,
        "max_steps": max_steps,
        "camera_names": camera_names,
        "episodes_per_task": episodes_per_task,
    }
    if suite == "aloha":  # MetaWorld configs stay as they were, so that older datasets still resume
        config["suite"] = suite
    if suite == "libero":  # fresh placements draw the arm's start like the official states (grids.sim.libero)
        from grids.sim.libero import ROBOT_INIT_NOISE
        from grids.sim.libero_experts import EXPERT_VERSION

        config["robot_init_noise"] = ROBOT_INIT_NOISE
        config["expert_version"] = EXPERT_VERSION  # demonstrations of two experts are never mixed

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
        manifest = _initial_manifest(config, list(tasks), instructions)
    for stale in out.glob("**/*.tmp-*"):  # half-written shards of a killed run
        stale.unlink()

    def intact(entry: dict[str, Any]) -> bool:
        file = out / entry["file"]
        return (
            file.is_file() and file.stat().st_size == entry["bytes"] and sha256_file(file) == entry["sha256"]
        )

    manifest["episodes"] = [
        e for e in manifest["episodes"] if e["episode_in_task"] < episodes_per_task and intact(e)
    ]
    manifest["failed"] = []
    done = {(e["task"], e["episode_in_task"]) for e in manifest["episodes"]}
    jobs = [
        {"task": task, "task_index": i, "k": k, "out": str(out), "seed": seed, "image_size": image_size,
         "max_steps": max_steps, "camera": camera_names[0], "suite": suite}
        for i, task in enumerate(tasks)
        for k in range(episodes_per_task)
        if (task, k) not in done
    ]  # fmt: skip
    manifest["complete"] = False
    write_json_atomic(manifest_path, manifest)

    def record(entry: dict[str, Any]) -> None:
        if entry.get("failed"):
            manifest["failed"].append(entry)
        else:
            manifest["episodes"].append(entry)
            manifest["episodes"].sort(key=lambda e: (e["task_index"], e["episode_in_task"]))
        write_json_atomic(manifest_path, manifest)

    from tqdm import tqdm

    total = len(tasks) * episodes_per_task
    with tqdm(total=total, initial=total - len(jobs), disable=not progress, unit="ep", desc="demos") as bar:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                record(_run_unit(job))
                bar.update()
            while _ENVS:  # inline run: do not keep renderers alive in the caller's process
                env, _ = _ENVS.popitem()[1]
                env.close()
        else:
            # spawn: a forked child would inherit the parent's GL/EGL state
            with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
                for entry in pool.imap_unordered(_run_unit, jobs):
                    record(entry)
                    bar.update()
    manifest["complete"] = not manifest["failed"]
    write_json_atomic(manifest_path, manifest)
    if manifest["failed"]:
        failed = [(e["task"], e["episode_in_task"]) for e in manifest["failed"]]
        raise RuntimeError(
            f"the expert failed {MAX_ATTEMPTS} attempts in a row for {failed}; see {manifest_path}"
        )
    return out
