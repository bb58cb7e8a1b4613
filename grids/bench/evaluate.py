"""Closed-loop evaluation: success rate per task over fixed episode seeds, in parallel worker processes.

The episode itself is ``grids/bench/rollout.py``, the worker pool and its journal ``grids/bench/pool.py``, and
the analysis of where the points look ``grids/bench/analysis.py``; this module checks an evaluation, runs it
and summarises it.

Every policy is evaluated on the same seeds (``EVAL_SEED_BASE + i``, disjoint in practice from the demo
seeds), so the comparison between reducers is paired. The policy predicts an action chunk and executes
its first ``execute_steps`` actions before predicting again (receding horizon). With a ``journal`` file every
finished job's episodes are appended to it, and a rerun of the same evaluation skips them (nothing lost when killed);
``reuse`` takes episodes of an earlier evaluation of the same policy (e.g. the first 20 LIBERO init states of a 50).

ALOHA episodes also record ``max_reward``, the best contact stage reached (0-4), and their summaries the paper's
"env reward" (its mean) and the success of the GridS authors' ALOHA script (max reward >= 0.5: first contact).
LIBERO episodes start from the official init states (``starts="official"``: episode i from state i) or from fresh
placements drawn from their seeds like the demonstrations' (``"fresh"``: is it the states?), and record the
objects they lifted and the task's ``target``; their summaries the share of episodes that lifted the target and
that lifted another object (a misread instruction).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grids.bench.pool import append_journal, episode_key, plan_jobs, read_journal, resume, run_jobs
from grids.bench.rollout import EVAL_SEED_BASE, STARTS, official_init_state

__all__ = ["EVAL_SEED_BASE", "LENIENT_MAX_REWARD", "check_evaluation", "evaluate", "official_init_state"]

LENIENT_MAX_REWARD = 0.5  # the GridS authors' ALOHA eval: success = max reward >= 0.5 (of 4)
# The reducer's randomness in evaluation: off (the protocol), or on as in training (token dropout, jittered or
# redrawn points, random's fresh patches at every step) — how far a policy is from its training token sets.
DRAWS = ("evaluation", "training")


def check_evaluation(
    tasks: list[str],
    perturbations: tuple[str, ...],
    *,
    episodes: int,
    workers: int,
    max_steps: int | None,
    journal: str | Path | None = None,
    draws: str = "evaluation",
) -> None:
    """Refuse what would fail (or run nothing) only after some episodes have run: an unknown task or
    perturbation, one a task's simulator cannot apply, no episode, a journal path that cannot be written, an
    unknown ``draws``."""
    from grids.core.validation import check_int
    from grids.errors import check_output_file
    from grids.sim.env import check_perturbation
    from grids.sim.tasks import check_task

    check_int(episodes, "episodes", minimum=1)
    check_int(workers, "workers", minimum=1)
    check_int(max_steps, "max_steps", minimum=1, optional=True)
    if draws not in DRAWS:
        raise ValueError(f"draws must be one of {', '.join(DRAWS)}, got {draws!r}")
    if isinstance(tasks, str) or not tasks:
        raise ValueError(f"tasks must be a non-empty list of task names, got {tasks!r}")
    if isinstance(perturbations, str) or not perturbations:
        raise ValueError(f"perturbations must be a non-empty list of names (e.g. ('none',)), got {perturbations!r}")
    for task in tasks:
        check_task(task)
        for perturbation in perturbations:
            check_perturbation(task, perturbation)
    if journal is not None:
        check_output_file(journal, "journal")


def evaluate(
    policy_path: str | Path,
    tasks: list[str],
    *,
    episodes: int = 20,
    perturbations: tuple[str, ...] = ("none",),
    workers: int = 2,
    threads_per_worker: int = 1,
    max_steps: int | None = None,
    record: bool = False,
    progress: bool = True,
    journal: str | Path | None = None,
    reuse: list[dict] | None = None,
    starts: str = "official",
    draws: str = "evaluation",
    execute_steps: int | None = None,
) -> dict:
    """Evaluate a trained run on ``tasks`` x ``perturbations`` x ``episodes`` seeds (LIBERO: ``starts``);
    ``draws="training"``: with the reducer's training-time randomness on, a diagnostic (see ``DRAWS``).
    ``execute_steps``: the actions of each predicted chunk run before the next prediction (None: half the chunk).

    Returns ``{"per_task": {perturbation: {task: {...}}}, "summary": {perturbation: {...}}, "episodes": [...],
    "recording": {...}}`` (``recording`` only with ``record``: first episode of the first task, unperturbed).
    Every argument is checked before the first episode runs (:func:`check_evaluation`). With a ``journal``
    a killed evaluation resumes where it stopped; ``reuse`` takes episodes of an earlier evaluation of the same
    policy (e.g. the first 20 LIBERO init states of a 50).
    """
    from grids.bench.rollout import execute_horizon
    from grids.bench.train import load_policy

    check_evaluation(tasks, perturbations, episodes=episodes, workers=workers, max_steps=max_steps, journal=journal, draws=draws)  # fmt: skip
    _check_protocol(tasks, episodes, threads_per_worker, starts)
    policy = load_policy(policy_path)
    execute = execute_horizon(policy.cfg.chunk_size, execute_steps)  # checked before the workers start
    seeds = [EVAL_SEED_BASE + i for i in range(episodes)]
    jobs = plan_jobs(tasks, perturbations, seeds, workers=workers, record=record)
    header = {"policy": str(policy_path), "tasks": tasks, "episodes": episodes, "perturbations": list(perturbations),
              "max_steps": max_steps, "starts": starts, **({"draws": draws} if draws != "evaluation" else {}),
              **({"execute_steps": execute_steps} if execute_steps is not None else {})}  # fmt: skip
    planned = {(task, pert, seed) for task, pert, job_seeds, _ in jobs for seed in job_seeds}
    reused = [e for e in reuse or [] if episode_key(e) in planned]  # the same policy's, from another evaluation
    journaled = list({episode_key(e): e for e in reused + read_journal(journal, header)}.values())
    episodes_out, jobs = resume(journaled, jobs)
    total = len(tasks) * len(perturbations) * episodes
    init_args = (str(policy_path), threads_per_worker, max_steps, starts, draws, execute_steps)
    _run(jobs, init_args, episodes_out, workers=workers, journal=journal, total=total, progress=progress,
         desc=f"eval {Path(policy_path).name}")  # fmt: skip
    recording = _take_recording(episodes_out)
    out = {
        "policy": str(policy_path),
        "max_steps": max_steps, "starts": starts, "draws": draws, "execute_steps": execute,  # fmt: skip
        "reducer": policy.cfg.reducer,
        "visual_tokens_per_view": policy.num_visual_tokens(),
        "tasks": tasks,
        "episode_seeds": seeds,
        **_summaries(episodes_out, tasks, perturbations),
        "episodes": sorted(episodes_out, key=lambda e: (e["perturbation"], e["task"], e["seed"])),
    }
    return out if recording is None else {**out, "recording": recording}


def _take_recording(episodes: list[dict]) -> dict | None:
    """The recorded episode, if any; its arrays (frames, coords, positions: not JSON) taken out of ``episodes``."""
    recording = next((dict(e) for e in episodes if "frames" in e), None)
    for e in episodes:
        for key in ("frames", "coords", "positions"):
            e.pop(key, None)
    return recording


def _check_protocol(tasks: list[str], episodes: int, threads_per_worker: int, starts: str) -> None:
    from grids.sim.tasks import is_libero

    if not isinstance(threads_per_worker, int) or isinstance(threads_per_worker, bool) or threads_per_worker < 1:
        raise ValueError(f"threads_per_worker must be an int >= 1, got {threads_per_worker!r}")
    if starts not in STARTS:
        raise ValueError(f"starts must be one of {STARTS}, got {starts!r}")
    if episodes > 50 and starts == "official" and any(is_libero(task) for task in tasks):
        raise ValueError(
            f"LIBERO ships 50 official init states per task; episodes must be <= 50 (or starts='fresh'), got {episodes}"
        )


def _run(jobs, init_args, episodes_out: list[dict], *, workers, journal, total, progress, desc) -> None:
    """Run the jobs, adding each finished job's new episodes to ``episodes_out`` and the journal."""
    from tqdm import tqdm

    done = {episode_key(e) for e in episodes_out}
    bar = tqdm(total=total, initial=len(episodes_out), desc=desc, disable=not progress)

    def finished(result: list[dict]) -> None:
        fresh = [e for e in result if episode_key(e) not in done]
        episodes_out.extend(fresh)
        append_journal(journal, fresh)
        bar.update(len(fresh))

    run_jobs(jobs, init_args, workers=workers, finished=finished)
    bar.close()


def _summaries(episodes: list[dict], tasks: list[str], perturbations) -> dict:
    """``per_task`` ``{perturbation: {task: summary}}`` and ``summary`` ``{perturbation: summary}``."""
    per_task = {
        pert: {
            task: _summarise([e for e in episodes if e["task"] == task and e["perturbation"] == pert])
            for task in tasks
        }
        for pert in perturbations
    }
    summary = {pert: _summarise([e for e in episodes if e["perturbation"] == pert]) for pert in perturbations}
    return {"per_task": per_task, "summary": summary}


def _summarise(episodes: list[dict]) -> dict:
    """Success rate, length and policy time; with ALOHA's ``max_reward`` also ``mean_max_reward`` (the paper's
    "env reward") and ``lenient_success_rate`` (max reward >= ``LENIENT_MAX_REWARD``); with LIBERO's lifted
    objects ``target_lifted_rate`` and ``other_lifted_rate``."""
    steps = sum(e["length"] for e in episodes)
    extra = {} if not episodes or any("max_reward" not in e for e in episodes) else {
        "mean_max_reward": float(np.mean([e["max_reward"] for e in episodes])),
        "lenient_success_rate": float(np.mean([e["max_reward"] >= LENIENT_MAX_REWARD for e in episodes])),
    }  # fmt: skip
    if episodes and all("target" in e for e in episodes):  # LIBERO: which objects the episodes lifted
        extra["target_lifted_rate"] = float(np.mean([e["target"] in e["lifted"] for e in episodes]))
        extra["other_lifted_rate"] = float(np.mean([any(o != e["target"] for o in e["lifted"]) for e in episodes]))
    return {
        "episodes": len(episodes),
        "success_rate": float(np.mean([e["success"] for e in episodes])) if episodes else float("nan"),
        "mean_length": steps / max(len(episodes), 1),
        "policy_ms_per_step": 1000 * sum(e["policy_seconds"] for e in episodes) / max(steps, 1),
        "policy_ms_per_call": 1000
        * sum(e["policy_seconds"] for e in episodes)
        / max(sum(e["policy_calls"] for e in episodes), 1),
        **extra,
    }
