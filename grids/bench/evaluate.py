"""Closed-loop evaluation: success rate per task over fixed episode seeds, in parallel worker processes.

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

import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch

EVAL_SEED_BASE = 100_000
LENIENT_MAX_REWARD = 0.5  # the GridS authors' ALOHA eval: success = max reward >= 0.5 (of 4)
JOB_EPISODES = 5  # episodes per worker job: the unit a killed evaluation loses at most (per worker)


@torch.no_grad()
def _coords(policy, obs: dict, language: torch.Tensor) -> np.ndarray:
    return policy.visual_tokens(torch.from_numpy(obs["images"])[None], language).coords[0].numpy()


def _language(policy, env, obs: dict, task_index: torch.Tensor) -> torch.Tensor:
    """``[1, 384]``: the training instruction's embedding, or that of the reworded one the env gave."""
    if obs["instruction"] == env.instruction:
        return policy.instruction_embeddings[task_index]
    from grids.bench.language import embed_instructions

    return embed_instructions([obs["instruction"]])


def run_episode(
    policy,
    env,
    seed: int,
    *,
    init_state: int | None = None,
    execute_steps: int | None = None,
    record: bool = False,
) -> dict:
    """One closed-loop episode. ``record`` keeps the frames, the reducer's coords and the privileged
    image positions of gripper, object and goal (diagnostics) of every frame. ``init_state``: LIBERO's
    official initial state to start from (the seed then only draws the perturbation)."""
    cfg = policy.cfg
    execute_steps = execute_steps or max(cfg.chunk_size // 2, 1)
    obs, _ = env.reset(seed=seed) if init_state is None else env.reset(seed=seed, init_state=init_state)
    if obs["task"] not in cfg.tasks:
        raise ValueError(f"task {obs['task']!r} was not in the policy's training tasks {cfg.tasks}")
    task_index = torch.tensor([cfg.tasks.index(obs["task"])])
    language = _language(policy, env, obs, task_index)
    success, steps, policy_seconds, calls = False, 0, 0.0, 0
    frames, coords_log, positions = [], [], []
    plan: list[np.ndarray] = []
    for steps in range(1, env.max_steps + 1):  # noqa: B007
        called = not plan
        if called:
            tic = time.perf_counter()
            batch = {
                "images": torch.from_numpy(obs["images"])[None],  # [1, V, S, S, 3]
                "state": torch.from_numpy(obs["state"])[None],  # [1, state_dim]
                "task_index": task_index,
                "language": language,
            }
            actions, coords = policy.predict(batch)  # [1, chunk, action_dim], [1, V, K', 2]
            policy_seconds += time.perf_counter() - tic
            calls += 1
            # In the env's units, unclamped: MetaWorld and LIBERO clip to [-1, 1] themselves, ALOHA's
            # actuators to each joint's range.
            plan = list(actions[0, :execute_steps].numpy())
        if record:  # where the reducer reads in *this* frame (the plan may come from an earlier one)
            frames.append(obs["images"])
            coords_log.append(coords[0].numpy() if called else _coords(policy, obs, language))
            if hasattr(env, "privileged_positions"):  # MetaWorld, LIBERO (content_statistics)
                positions.append(env.privileged_positions())
        # Render only the frames the policy (or the record) will see: LIBERO's two views cost ~4x its physics.
        obs, _, terminated, truncated, info = env.step(plan.pop(0), render=record or not plan)
        if info["success"]:
            success = True
            break
        if terminated or truncated:
            break
    out = {
        "seed": seed,
        **({} if init_state is None else {"init_state": init_state}),
        "success": success,
        "length": steps,
        "policy_seconds": policy_seconds,
        "policy_calls": calls,
        **({"max_reward": info["max_reward"]} if "max_reward" in info else {}),  # ALOHA: best stage reached
        **({"lifted": info["lifted"], "target": info["target"]} if "target" in info else {}),  # LIBERO
    }
    if record:
        out["frames"] = np.stack(frames)  # [T, V, S, S, 3]
        out["coords"] = np.stack(coords_log)  # [T, V, K', 2]
        if positions:  # [T, P, 2] gripper, object(s), goal in the third-person view
            out["positions"] = np.stack(positions)
    return out


STARTS = ("official", "fresh")


def official_init_state(task: str, seed: int, starts: str = "official") -> int | None:
    """LIBERO's official protocol: evaluation episode i starts from LIBERO's fixed init state i (of 50);
    MetaWorld episodes, and LIBERO's with ``starts="fresh"``, are drawn from their seed (None)."""
    from grids.sim.tasks import is_libero

    return seed - EVAL_SEED_BASE if is_libero(task) and starts == "official" else None


def policy_env(policy, task: str, perturbation: str, max_steps: int | None):
    """The environment ``policy`` was trained for: its image size and third-person camera."""
    from grids.sim import make_env

    cfg = policy.cfg
    return make_env(
        task, image_size=cfg.image_size, perturbation=perturbation, max_steps=max_steps, camera=cfg.camera
    )


# --- worker processes (spawn: the renderer's GL context must not be forked) ---------------------------
_WORKER: dict = {}


def _init_worker(policy_path: str, threads: int, max_steps: int | None, starts: str) -> None:
    torch.set_num_threads(threads)
    from grids.bench.train import load_policy

    _WORKER.update(policy=load_policy(policy_path), envs={}, max_steps=max_steps, starts=starts)


def _run_job(job: tuple[str, str, list[int], bool]) -> list[dict]:
    task, perturbation, seeds, record_first = job
    key = (task, perturbation)
    if key not in _WORKER["envs"]:
        _WORKER["envs"][key] = policy_env(_WORKER["policy"], task, perturbation, _WORKER["max_steps"])
    env = _WORKER["envs"][key]
    results = []
    for i, seed in enumerate(seeds):
        init_state = official_init_state(task, seed, _WORKER["starts"])
        result = run_episode(
            _WORKER["policy"], env, seed, init_state=init_state, record=record_first and i == 0
        )
        results.append({"task": task, "perturbation": perturbation, **result})
    return results


def check_evaluation(
    tasks: list[str],
    perturbations: tuple[str, ...],
    *,
    episodes: int,
    workers: int,
    max_steps: int | None,
    journal: str | Path | None = None,
) -> None:
    """Refuse what would fail (or run nothing) only after some episodes have run: an unknown task or
    perturbation, one a task's simulator cannot apply, no episode, a journal path that cannot be written."""
    from grids.core.validation import check_int
    from grids.errors import check_output_file
    from grids.sim.env import check_perturbation
    from grids.sim.tasks import check_task

    check_int(episodes, "episodes", minimum=1)
    check_int(workers, "workers", minimum=1)
    check_int(max_steps, "max_steps", minimum=1, optional=True)
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
) -> dict:
    """Evaluate a trained run on ``tasks`` x ``perturbations`` x ``episodes`` seeds (LIBERO: ``starts``).

    Returns ``{"per_task": {perturbation: {task: {...}}}, "summary": {perturbation: {...}}, "episodes": [...],
    "recording": {...}}`` (``recording`` only with ``record``: first episode of the first task, unperturbed).
    Every argument is checked before the first episode runs (:func:`check_evaluation`).
    """
    from tqdm import tqdm

    from grids.bench.train import load_policy
    from grids.sim.tasks import is_libero

    check_evaluation(tasks, perturbations, episodes=episodes, workers=workers, max_steps=max_steps, journal=journal)
    if not isinstance(threads_per_worker, int) or isinstance(threads_per_worker, bool) or threads_per_worker < 1:
        raise ValueError(f"threads_per_worker must be an int >= 1, got {threads_per_worker!r}")
    if starts not in STARTS:
        raise ValueError(f"starts must be one of {STARTS}, got {starts!r}")
    if episodes > 50 and starts == "official" and any(is_libero(task) for task in tasks):
        raise ValueError(
            f"LIBERO ships 50 official init states per task; episodes must be <= 50 (or starts='fresh'), got {episodes}"
        )
    policy = load_policy(policy_path)
    seeds = [EVAL_SEED_BASE + i for i in range(episodes)]
    jobs = _plan_jobs(tasks, perturbations, seeds, workers=workers, record=record)
    header = {"policy": str(policy_path), "tasks": tasks, "episodes": episodes, "perturbations": list(perturbations),
              "max_steps": max_steps, "starts": starts}  # fmt: skip
    planned = {(task, pert, seed) for task, pert, job_seeds, _ in jobs for seed in job_seeds}
    reused = [
        e for e in reuse or [] if _key(e) in planned
    ]  # the same policy's episodes from another evaluation
    episodes_out, jobs = _resume(
        list({_key(e): e for e in reused + _read_journal(journal, header)}.values()), jobs
    )
    done = {_key(e) for e in episodes_out}
    bar = tqdm(
        total=len(tasks) * len(perturbations) * episodes,
        initial=len(episodes_out),
        desc=f"eval {Path(policy_path).name}",
        disable=not progress,
    )

    def finished(result: list[dict]) -> None:
        fresh = [e for e in result if _key(e) not in done]
        episodes_out.extend(fresh)
        _append_journal(journal, fresh)
        bar.update(len(fresh))

    init_args = (str(policy_path), threads_per_worker, max_steps, starts)
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
    bar.close()
    for env in _WORKER.get("envs", {}).values():
        env.close()
    _WORKER.clear()

    recording = next((dict(e) for e in episodes_out if "frames" in e), None)
    for e in episodes_out:
        for key in ("frames", "coords", "positions"):  # arrays of the recording, not JSON
            e.pop(key, None)
    per_task = {
        pert: {
            task: _summarise([e for e in episodes_out if e["task"] == task and e["perturbation"] == pert])
            for task in tasks
        }
        for pert in perturbations
    }
    summary = {
        pert: _summarise([e for e in episodes_out if e["perturbation"] == pert]) for pert in perturbations
    }
    out = {
        "policy": str(policy_path),
        "max_steps": max_steps,
        "starts": starts,
        "reducer": policy.cfg.reducer,
        "visual_tokens_per_view": policy.num_visual_tokens(),
        "tasks": tasks,
        "episode_seeds": seeds,
        "per_task": per_task,
        "summary": summary,
        "episodes": sorted(episodes_out, key=lambda e: (e["perturbation"], e["task"], e["seed"])),
    }
    if recording is not None:
        out["recording"] = recording
    return out


def looks(
    policy,
    tasks: list[str],
    *,
    at_steps: tuple[int, ...] = (0, 25, 50),
    perturbation: str = "none",
    seed: int = EVAL_SEED_BASE,
    keep: dict | None = None,
) -> dict[str, list[tuple[int, np.ndarray, np.ndarray]]]:
    """Where the reducer reads, along one closed-loop episode per task (the first evaluation seed).

    Returns ``{task: [(step, views uint8 [V, S, S, 3], coords [V, K', 2]), ...]}`` at ``at_steps`` (an
    episode that ends earlier contributes its last frame instead). ``keep``, a dict, receives each
    task's whole recorded episode (for :func:`content_statistics`).
    """
    out = {}
    for task in tasks:
        env = policy_env(policy, task, perturbation, max(at_steps) + 1)
        try:
            episode = run_episode(policy, env, seed, record=True)
        finally:
            env.close()
        if keep is not None:
            keep[task] = episode
        shown = [min(t, len(episode["frames"]) - 1) for t in at_steps]
        out[task] = [(t, episode["frames"][t], episode["coords"][t]) for t in shown]
    return out


POSITION_NAMES = ("gripper", "object", "goal")


def content_statistics(episode: dict, grid_hw: tuple[int, int]) -> dict:
    """Do the third-person view's points follow the gripper, the object, the goal along one episode?

    For each privileged position, over the episode's frames: the best and the mean (over the points)
    Pearson correlation of a point's image position with it (``grids.diagnostics.follows_content``;
    None where that position moves less than half a patch); plus collapse and border statistics of both
    views. With few frames and many points the best correlation is high by chance too: compare runs.
    """
    from grids.diagnostics import check_points, follows_content

    coords = torch.from_numpy(episode["coords"]).float()  # [T, V, K, 2]
    out = {"frames": len(coords)}
    for v in range(coords.shape[1]):
        out[f"view{v}"] = check_points(coords[:, v], grid_hw)
    if "positions" not in episode:  # an env without privileged image positions (ALOHA): collapse and border only
        return out
    positions = torch.from_numpy(episode["positions"]).float()  # [T, M, 2] image fractions
    follows = follows_content(coords[:, 0], positions)
    per_position = follows["per_axis"].nanmean(dim=-1)  # [K, M]
    travel = (positions.amax(0) - positions.amin(0)).amax(-1) * grid_hw[1]  # [M] in patches
    for m, name in enumerate(POSITION_NAMES):
        column = per_position[:, m]
        moving = bool(travel[m] >= 0.5) and not bool(column.isnan().all())  # static: nothing to follow
        out[name] = {
            "best": float(column.max()) if moving else None,
            "mean": float(column.mean()) if moving else None,
        }
    return out


def retention(dense: torch.Tensor, coords: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
    """The paper's information-retention map per frame and view: for each dense cell, the largest cosine
    similarity of its encoder feature to a feature read (bilinear) at one of the points.

    ``dense [B, V, H*W, C]`` (``Policy.dense_features``), ``coords [B, V, K, 2]`` -> ``[B, V, H, W]``.
    """
    from grids.core.sampling import sample_tokens
    from grids.diagnostics import retention_map

    maps = dense.flatten(0, 1).unflatten(1, grid_hw).float()  # [B*V, H, W, C]
    read = sample_tokens(maps, coords.flatten(0, 1))  # [B*V, K, C]
    return retention_map(maps, read).unflatten(0, dense.shape[:2])


def _dense_and_coords(policy, images, language) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's final dense map ``[B, V, N, C]`` and the reducer's points ``[B, V, K, 2]`` (computed from
    that map, or inside the encoder with ``resample_at_layer``)."""
    dense = policy.dense_features(images)
    reduced = (
        policy.visual_tokens(images, language)
        if policy.cfg.reduces_inside
        else policy.visual_tokens(None, language, features=dense)
    )
    return dense, reduced.coords


def _sampled_frames(dataset, frames: int, rng: np.random.Generator, batch_size: int):
    """``frames`` distinct random frames of ``dataset`` (all if fewer), in order: their indices and a DataLoader."""
    from torch.utils.data import DataLoader, Subset

    indices = np.sort(rng.choice(len(dataset), min(frames, len(dataset)), replace=False))
    return indices, DataLoader(Subset(dataset, indices.tolist()), batch_size=batch_size)


@torch.no_grad()
def point_statistics(
    policy, dataset, *, frames: int = 512, seed: int = 0, batch_size: int = 64, examples: dict | None = None
) -> dict:
    """How the reducer's points behave over ``frames`` random training frames, per view (unit-square units).

    ``moved_from_init``: mean distance of each point's average position from where it started (GridS: the
    spread layout; 0 for fixed layouts); ``std_over_frames``: mean per-point spread of the positions over
    all frames (0: a fixed layout, whatever the image); ``std_within_task``: the same within each task,
    averaged (how much the points follow the image); ``std_between_tasks``: spread of the per-task means
    (how much they follow the task); ``retention_mean`` / ``retention_p10``: the mean and the 10th percentile over
    frames and cells of the information-retention map (:func:`retention`; 1 = every cell has a read twin).
    One patch of the 16 x 16 grid is 1/15 = 0.067. ``examples``, if given, receives ``{task: (views uint8
    [V, S, S, 3], retention [V, H, W], coords [V, K, 2])}`` for the first sampled frame of each task.
    """
    from grids.core.sampling import spread_layout

    indices, batches = _sampled_frames(dataset, frames, np.random.default_rng(seed), batch_size)
    coords, tasks, retained = [], [], []
    for batch in batches:
        language = policy.instruction_embeddings[batch["task_index"]]
        dense, points = _dense_and_coords(policy, batch["images"], language)
        coords.append(points)
        retained.append(retention(dense, coords[-1], policy.cfg.grid_hw))
        tasks.append(batch["task_index"])
        if examples is not None:  # the first sampled frame of each task, for retention_figure
            for i, t in enumerate(batch["task_index"].tolist()):
                examples.setdefault(
                    dataset.tasks[t], (batch["images"][i].numpy(), retained[-1][i].numpy(), points[i].numpy())
                )
    coords, tasks, retained = (
        torch.cat(coords),
        torch.cat(tasks),
        torch.cat(retained),
    )  # [N, V, K, 2], [N], [N, V, H, W]
    init = spread_layout(coords.shape[2]) if policy.cfg.reducer.startswith("grids") else None
    out = {}
    for v in range(coords.shape[1]):
        c = coords[:, v]
        per_task = [c[tasks == t] for t in tasks.unique()]
        task_means = torch.stack([x.mean(0) for x in per_task])
        within = [x.std(0).norm(dim=-1).mean() for x in per_task if len(x) > 1]
        out[f"view{v}"] = {
            "moved_from_init": None if init is None else float((c.mean(0) - init).norm(dim=-1).mean()),
            "std_over_frames": float(c.std(0).norm(dim=-1).mean()),
            "std_within_task": float(torch.stack(within).mean()) if within else 0.0,
            "std_between_tasks": float(task_means.std(0).norm(dim=-1).mean()) if len(task_means) > 1 else 0.0,
            "retention_mean": float(retained[:, v].mean()),
            "retention_p10": float(retained[:, v].flatten().quantile(0.1)),
        }
    return {"frames": len(indices), "tokens_per_view": coords.shape[2], "views": out}


@torch.no_grad()
def shift_statistics(
    policy, dataset, perturbation: str, *, frames: int = 512, seed: int = 0, batch_size: int = 64
) -> dict:
    """What a pixel-level perturbation (sensor noise) does to the reducer's input, per view, over ``frames``
    random training frames and their perturbed copies (the env's ``corrupt``, drawn from ``seed``).

    ``points_matched`` / ``points_set``: how far the points move, in cells (:func:`point_shift`);
    ``read_cosine``: cosine of the features read clean and perturbed (each at its own points: what the policy
    is given, less the coordinate embedding); ``read_cosine_same_points``: the same with the perturbed
    features read at the clean points (the features' share of the change); ``dense_cosine``: the encoder's
    cells, clean vs perturbed (what dense is given).
    """
    from grids.core.sampling import sample_tokens
    from grids.diagnostics import point_shift, token_cosine
    from grids.errors import UserError
    from grids.sim.perturbations import get_perturbation

    corruption = get_perturbation(perturbation)
    if not corruption.pixel_level:
        raise UserError(
            f"{perturbation!r} does not change the pixels of a recorded frame (it needs the simulator: camera, "
            "light and colours change the scene); pixel-level perturbations: noise"
        )
    rng = np.random.default_rng(seed)
    indices, batches = _sampled_frames(dataset, frames, rng, batch_size)
    sums: dict = {}
    for batch in batches:
        language = policy.instruction_embeddings[batch["task_index"]]
        noisy = torch.from_numpy(corruption.corrupt(batch["images"].numpy(), rng))
        dense, points = _dense_and_coords(policy, batch["images"], language)  # [B, V, N, C], [B, V, K, 2]
        dense_p, points_p = _dense_and_coords(policy, noisy, language)
        for v in range(points.shape[1]):
            maps, maps_p = (d[:, v].unflatten(1, policy.cfg.grid_hw).float() for d in (dense, dense_p))
            read = sample_tokens(maps, points[:, v])
            moved = point_shift(points[:, v], points_p[:, v], policy.cfg.grid_hw)
            values = {
                **{f"points_{k}": x for k, x in moved.items()},
                "read_cosine": token_cosine(read, sample_tokens(maps_p, points_p[:, v])),
                "read_cosine_same_points": token_cosine(read, sample_tokens(maps_p, points[:, v])),
                "dense_cosine": token_cosine(dense[:, v], dense_p[:, v]),
            }
            for k, x in values.items():  # every value is a mean over the batch: weight by its size
                sums.setdefault(f"view{v}", {}).setdefault(k, 0.0)
                sums[f"view{v}"][k] += x * len(points)
    views = {v: {k: x / len(indices) for k, x in s.items()} for v, s in sums.items()}
    return {"perturbation": perturbation, "frames": len(indices), "views": views}


def _plan_jobs(tasks, perturbations, seeds: list[int], *, workers: int, record: bool) -> list[tuple]:
    """(task, perturbation, seeds, record) jobs of <= JOB_EPISODES consecutive seeds, at least one per worker and
    (task, perturbation): the first N seeds of a longer evaluation are whole jobs (``reuse``). A worker builds
    each env once and keeps it for its later jobs."""
    pieces = max(1, min(len(seeds), max(workers, -(-len(seeds) // JOB_EPISODES))))
    size = -(-len(seeds) // pieces)
    return [
        (task, pert, seeds[i : i + size], record and task == tasks[0] and pert == perturbations[0] and i == 0)
        for pert in perturbations
        for task in tasks
        for i in range(0, len(seeds), size)
    ]


def _key(episode: dict) -> tuple:
    return episode["task"], episode["perturbation"], episode["seed"]


def _resume(journaled: list[dict], jobs: list[tuple]) -> tuple[list[dict], list[tuple]]:
    """The journaled episodes to keep and the jobs still to run (the recording job always runs again)."""
    recorded = {(task, pert, seed) for task, pert, job_seeds, rec in jobs if rec for seed in job_seeds}
    kept = [e for e in journaled if _key(e) not in recorded]
    done = {_key(e) for e in kept}
    return kept, [job for job in jobs if not all((job[0], job[1], seed) in done for seed in job[2])]


def _read_journal(journal: str | Path | None, header: dict) -> list[dict]:
    """The episodes a killed run of this same evaluation finished; starts the journal when there is none."""
    if journal is None:
        return []
    path = Path(journal)
    if not path.is_file() or not path.read_text().strip():
        path.write_text(json.dumps(header) + "\n")
        return []
    first, *lines = path.read_text().splitlines()
    if json.loads(first) != header:
        raise ValueError(f"{path} journals another evaluation ({first}); delete it to start this one afresh")
    episodes = {}
    for line in lines:
        try:
            e = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by the kill
            break
        episodes[e["task"], e["perturbation"], e["seed"]] = e
    return list(episodes.values())


def _append_journal(journal: str | Path | None, episodes: list[dict]) -> None:
    if journal is None or not episodes:
        return
    arrays = ("frames", "coords", "positions")  # the recording's arrays stay out of the journal
    with open(journal, "a") as f:
        for e in episodes:
            f.write(json.dumps({k: v for k, v in e.items() if k not in arrays}, default=_plain) + "\n")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value.tolist()


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
