"""Open-loop action error: how well a trained policy predicts a dataset's action chunks, frame by frame.

On held-out demonstrations (same tasks, placements the policy never saw) against its own training demonstrations,
this separates a policy that fits and generalises from one that memorises, without a single rollout::

    error = action_error(policy, DemoDataset("data/libero_spatial_heldout", chunk_size=50), frames=2048)
    error["l1"], error["l1_executed"], error["per_task"]["libero_spatial/3"]

The policy runs as in evaluation (``eval()``, no feature shift; the L1 head is deterministic, the flow head draws
its noise from ``seed``). Errors are in the env's action units, averaged over the valid (unpadded) chunk steps.
"""

from __future__ import annotations

import numpy as np
import torch

from grids.bench.rollout import execute_horizon
from grids.core.validation import check_int
from grids.errors import UserError


def task_map(*, policy_tasks: list[str], dataset_tasks: list[str]) -> torch.Tensor:
    """The policy's task index of each of the dataset's tasks ``[T_data]``; a task the policy was not trained on
    is an error naming it (its instruction embedding is not in the weights)."""
    unknown = [t for t in dataset_tasks if t not in policy_tasks]
    if unknown:
        raise UserError(f"the dataset has tasks the policy was not trained on: {', '.join(unknown)} "
                        f"(the policy's: {', '.join(policy_tasks)})")  # fmt: skip
    return torch.tensor([policy_tasks.index(t) for t in dataset_tasks])


@torch.no_grad()
def action_error(
    policy, dataset, *, frames: int = 2048, seed: int = 0, batch_size: int = 64, executed: int | None = None
) -> dict:
    """Mean L1 between predicted and demonstrated chunks over ``frames`` random frames of ``dataset`` (all if fewer).

    Returns ``{"frames", "executed", "l1" (every valid step of the chunk), "l1_executed" (its first ``executed``
    steps, what a receding horizon of ``executed`` runs; None: half the chunk, the evaluation's default),
    "l1_per_dim" [A] (first ``executed`` steps), "per_task" {task: l1_executed}}``.
    """
    from torch.utils.data import DataLoader, Subset

    if dataset.chunk_size != policy.cfg.chunk_size:
        raise UserError(f"the dataset's chunks are {dataset.chunk_size} actions, the policy's "
                        f"{policy.cfg.chunk_size}: open it with chunk_size={policy.cfg.chunk_size}")  # fmt: skip
    check_int(frames, "frames", minimum=1)
    executed = execute_horizon(policy.cfg.chunk_size, executed)  # 1..chunk, or a one-line error
    to_policy = task_map(policy_tasks=list(policy.cfg.tasks), dataset_tasks=list(dataset.tasks))
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(len(dataset), min(frames, len(dataset)), replace=False)).tolist()
    policy.eval()
    torch.manual_seed(seed)
    errors, valids, tasks = [], [], []
    for batch in DataLoader(Subset(dataset, indices), batch_size=batch_size):
        tasks.append(batch["task_index"])
        batch = {**batch, "task_index": to_policy[batch["task_index"]]}
        predicted, _ = policy.predict(batch)  # [B, chunk, A]
        errors.append((predicted - batch["actions"].float()).abs())  # [B, chunk, A]
        valids.append(~batch["action_is_pad"])  # [B, chunk]
    return _summary(error=torch.cat(errors), valid=torch.cat(valids), tasks=torch.cat(tasks), names=list(dataset.tasks),
                    executed=executed)  # fmt: skip


def _summary(*, error: torch.Tensor, valid: torch.Tensor, tasks: torch.Tensor, names: list[str], executed: int) -> dict:
    """``error [N, chunk, A]``, ``valid [N, chunk]``, ``tasks [N]`` -> the means of :func:`action_error`."""
    first = valid.clone()
    first[:, executed:] = False  # [N, chunk]

    def mean(mask: torch.Tensor) -> float:
        return float((error.mean(-1) * mask).sum() / mask.sum().clamp(min=1))

    per_dim = (error * first[..., None]).sum((0, 1)) / first.sum().clamp(min=1)  # [A]
    per_task = {names[t]: mean(first & (tasks == t)[:, None]) for t in tasks.unique().tolist()}
    return {"frames": len(error), "executed": executed, "l1": mean(valid), "l1_executed": mean(first),
            "l1_per_dim": per_dim.tolist(), "per_task": per_task}  # fmt: skip
