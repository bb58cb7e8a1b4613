"""Evaluation episodes in worker processes, with a journal that lets a killed evaluation resume.

Episodes run in jobs of at most ``JOB_EPISODES`` consecutive seeds of one (task, perturbation); a worker builds
each env once and keeps it while its jobs need it. With a ``journal`` file every finished job's episodes are appended
to it, and a rerun of the same evaluation (the same header) skips them: a kill loses at most one job per worker.
"""

from __future__ import annotations

import gc
import json
import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch

from grids.bench.rollout import official_init_state, policy_env, run_episode

JOB_EPISODES = 5  # episodes per worker job: the unit a killed evaluation loses at most (per worker)

# --- worker processes (spawn: the renderer's GL context must not be forked) ---------------------------
_WORKER: dict = {}


def _init_worker(
    policy_path: str,
    threads: int,
    max_steps: int | None,
    starts: str,
    draws: str = "evaluation",
    execute_steps: int | None = None,
) -> None:
    torch.set_num_threads(threads)
    from grids.bench.train import load_policy

    _close_env()  # in this process, one left by an evaluation that raised (another policy's)

    policy = load_policy(policy_path)
    if draws == "training":  # the reducer alone keeps its training-time draws (dropout, jitter, fresh patches)
        policy.reducer.train()
    _WORKER.update(policy=policy, max_steps=max_steps, starts=starts, execute_steps=execute_steps)


def _run_job(job: tuple[str, str, list[int], bool]) -> list[dict]:
    task, perturbation, seeds, record_first = job
    env = _env(task, perturbation)
    results = []
    for i, seed in enumerate(seeds):
        init_state = official_init_state(task, seed, _WORKER["starts"])
        result = run_episode(
            _WORKER["policy"], env, seed, init_state=init_state, execute_steps=_WORKER["execute_steps"],
            record=record_first and i == 0,
        )
        results.append({"task": task, "perturbation": perturbation, **result})
    return results


def _env(task: str, perturbation: str):
    """The worker's simulator for (task, perturbation). Jobs reach a worker in their planned order, (task,
    perturbation) by (task, perturbation), so it keeps only the last one it built: a LIBERO simulator holds ~0.6 GB,
    and one closed is only freed once its reference cycles are collected."""
    key = (task, perturbation)
    if _WORKER.get("key") != key:
        _close_env()
        _WORKER.update(key=key, env=policy_env(_WORKER["policy"], task, perturbation, _WORKER["max_steps"]))
    return _WORKER["env"]


def _close_env() -> None:
    if "env" in _WORKER:
        _WORKER.pop("env").close()
        _WORKER.pop("key")
        gc.collect()


def run_jobs(
    jobs: list[tuple], init_args: tuple, *, workers: int, finished: Callable[[list[dict]], None]
) -> None:
    """Run every job, in this process (``workers <= 1``) or in ``workers`` spawned ones, handing each job's
    episodes to ``finished`` as it ends; the envs the workers built are closed afterwards."""
    if workers <= 1:
        _init_worker(*init_args)
        for job in jobs:
            finished(_run_job(job))
    else:
        with ProcessPoolExecutor(
            workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=init_args
        ) as pool:
            for future in as_completed([pool.submit(_run_job, job) for job in jobs]):
                finished(future.result())
    _close_env()
    _WORKER.clear()


def plan_jobs(tasks, perturbations, seeds: list[int], *, workers: int, record: bool) -> list[tuple]:
    """(task, perturbation, seeds, record) jobs of <= JOB_EPISODES consecutive seeds, cut finer only where there
    are fewer (task, perturbation) pairs than workers (a job builds its env at most once, so 20 episodes of one
    shift on 10 tasks x 2 states build 10 envs, not 20). The first N seeds of a longer evaluation, N a multiple
    of JOB_EPISODES, are whole jobs (``reuse``)."""
    pairs = len(tasks) * len(perturbations)
    pieces = max(1, min(len(seeds), max(-(-workers // pairs), -(-len(seeds) // JOB_EPISODES))))
    size = -(-len(seeds) // pieces)
    return [
        (task, pert, seeds[i : i + size], record and task == tasks[0] and pert == perturbations[0] and i == 0)
        for pert in perturbations
        for task in tasks
        for i in range(0, len(seeds), size)
    ]


def episode_key(episode: dict) -> tuple:
    return episode["task"], episode["perturbation"], episode["seed"]


def resume(journaled: list[dict], jobs: list[tuple]) -> tuple[list[dict], list[tuple]]:
    """The journaled episodes to keep and the jobs still to run (the recording job always runs again)."""
    recorded = {(task, pert, seed) for task, pert, job_seeds, rec in jobs if rec for seed in job_seeds}
    kept = [e for e in journaled if episode_key(e) not in recorded]
    done = {episode_key(e) for e in kept}
    return kept, [job for job in jobs if not all((job[0], job[1], seed) in done for seed in job[2])]


def read_journal(journal: str | Path | None, header: dict) -> list[dict]:
    """The episodes a killed run of this same evaluation finished; starts the journal when there is none. A
    journal of the same evaluation over other perturbations gives the episodes of those they share and keeps the
    rest (its header then names every perturbation it holds)."""
    if journal is None:
        return []
    path = Path(journal)
    text = path.read_text() if path.is_file() else ""
    if not text.strip():
        path.write_text(json.dumps(header) + "\n")
        return []
    first, *lines = text.splitlines()
    saved = json.loads(first)
    if _but_perturbations(saved) != _but_perturbations(header):
        raise ValueError(f"{path} journals another evaluation ({first}); delete it to start this one afresh")
    episodes, kept = {}, []
    for line in lines:
        try:
            e = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        kept.append(line)
        if e["perturbation"] in header["perturbations"]:
            episodes[e["task"], e["perturbation"], e["seed"]] = e
    held = list(dict.fromkeys(saved["perturbations"] + header["perturbations"]))
    if held != saved["perturbations"] or kept != lines or not text.endswith("\n"):
        # rewritten whole without the cut lines, then moved over the old one: a kill loses nothing, and the next
        # episode is appended on a line of its own
        partial = path.with_suffix(".partial")
        partial.write_text("\n".join([json.dumps({**saved, "perturbations": held}), *kept]) + "\n")
        os.replace(partial, path)
    return list(episodes.values())


def _but_perturbations(header: dict) -> dict:
    return {k: v for k, v in header.items() if k != "perturbations"}


def append_journal(journal: str | Path | None, episodes: list[dict]) -> None:
    if journal is None or not episodes:
        return
    arrays = ("frames", "coords", "positions")  # the recording's arrays stay out of the journal
    with open(journal, "a") as f:
        for e in episodes:
            f.write(json.dumps({k: v for k, v in e.items() if k not in arrays}, default=_plain) + "\n")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value.tolist()
