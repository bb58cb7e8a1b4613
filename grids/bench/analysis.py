"""Where a trained policy's reducer reads, and what a perturbation does to it: the point analysis.

Along closed-loop episodes (:func:`looks`, :func:`content_statistics`: do the points follow the gripper, the
object, the goal?) and over random training frames (:func:`point_statistics`: how far the points move, per
frame and per task, and how much of the dense map they retain; :func:`shift_statistics`: how far sensor noise
moves them).
"""

from __future__ import annotations

import numpy as np
import torch

from grids.bench.rollout import EVAL_SEED_BASE, policy_env, run_episode


def looks(
    policy,
    tasks: list[str],
    *,
    at_steps: tuple[int, ...] = (0, 25, 50),
    perturbation: str = "none",
    seed: int = EVAL_SEED_BASE,
    keep: dict | None = None,
    execute_steps: int | None = None,
) -> dict[str, list[tuple[int, np.ndarray, np.ndarray]]]:
    """Where the reducer reads, along one closed-loop episode per task (the first evaluation seed).

    Returns ``{task: [(step, views uint8 [V, S, S, 3], coords [V, K', 2]), ...]}`` at ``at_steps`` (an
    episode that ends earlier contributes its last frame instead). ``keep``, a dict, receives each
    task's whole recorded episode (for :func:`content_statistics`). ``execute_steps``: the evaluation's receding
    horizon (``run_episode``).
    """
    out = {}
    for task in tasks:
        env = policy_env(policy, task, perturbation, max(at_steps) + 1)
        try:
            episode = run_episode(policy, env, seed, execute_steps=execute_steps, record=True)
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
    if (
        "positions" not in episode
    ):  # an env without privileged image positions (ALOHA): collapse and border only
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
