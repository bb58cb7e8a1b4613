"""Where a trained run's points look: one closed-loop episode per task drawn at a few time steps, how well the
points follow the gripper / object / goal, and over a dataset's frames how they move and what they retain."""

from __future__ import annotations

import json
from pathlib import Path


def write_points(
    run: str | Path,
    tasks: list[str],
    out: str | Path,
    *,
    at_steps: tuple[int, ...] = (0, 25, 50),
    perturbation: str = "none",
    data: str | None = None,
    frames: int = 512,
    execute_steps: int | None = None,
    log=print,
) -> dict:
    """``out`` (PNG) and ``out.json`` (statistics, with the receding horizon its episodes ran at); with ``data`` also
    ``<out>_retention.png``; returns the stats."""
    from grids.bench.analysis import content_statistics, looks
    from grids.bench.report import points_figure
    from grids.bench.rollout import execute_horizon
    from grids.bench.train import load_policy
    from grids.errors import UserError

    policy = load_policy(run)
    if policy.num_visual_tokens() > 64:
        raise UserError(f"{run}: {policy.num_visual_tokens()} tokens per view, too many points to draw")
    episodes: dict = {}
    seen = looks(policy, tasks, at_steps=tuple(at_steps), perturbation=perturbation, keep=episodes,
                 execute_steps=execute_steps)  # fmt: skip
    title = f"{Path(run).name}: {policy.cfg.reducer}, {policy.num_visual_tokens()} tokens/view ({perturbation})"
    log(points_figure(seen, out, patch_size=policy.cfg.patch_size, title=title))
    content = {task: content_statistics(ep, policy.cfg.grid_hw) for task, ep in episodes.items()}
    _print_content(content, log)
    stats = {"run": str(run), "execute_steps": execute_horizon(policy.cfg.chunk_size, execute_steps), "closed_loop": content}
    if data:
        _dataset_statistics(policy, data, out, frames=frames, perturbation=perturbation, title=title, stats=stats,
                            log=log)  # fmt: skip
    stats_path = Path(out).with_suffix(".json")
    stats_path.write_text(json.dumps(stats, indent=1))
    log(f"wrote {stats_path}")
    return stats


def _dataset_statistics(policy, data: str, out, *, frames: int, perturbation: str, title: str, stats: dict, log):
    from grids.bench.analysis import point_statistics
    from grids.bench.report import retention_figure
    from grids.bench.train import open_dataset

    examples: dict = {}
    dataset = open_dataset(data, policy.cfg.chunk_size)
    stats.update(point_statistics(policy, dataset, frames=frames, examples=examples))
    retention_png = Path(out).with_name(Path(out).stem + "_retention.png")
    log(retention_figure(examples, retention_png, patch_size=policy.cfg.patch_size, title=title))
    for view, s in stats["views"].items():
        moved = "—" if s["moved_from_init"] is None else f"{s['moved_from_init']:.3f}"
        log(f"{view}: retention mean {s['retention_mean']:.3f} (10th percentile {s['retention_p10']:.3f}), "
            f"moved from init {moved}, std over frames {s['std_over_frames']:.4f}, "
            f"within a task {s['std_within_task']:.4f}, std between tasks {s['std_between_tasks']:.4f} "
            f"(one patch = {1 / (policy.cfg.grid_hw[0] - 1):.3f})")  # fmt: skip
    _shift_statistics(policy, dataset, perturbation, frames, stats, log)


def _shift_statistics(policy, dataset, perturbation: str, frames: int, stats: dict, log) -> None:
    """With a pixel-level ``perturbation`` (noise): how it moves the points and changes what they read."""
    from grids.bench.analysis import shift_statistics
    from grids.sim.perturbations import get_perturbation

    if not get_perturbation(perturbation).pixel_level:
        return
    stats["shift"] = shift_statistics(policy, dataset, perturbation, frames=frames)
    for view, s in stats["shift"]["views"].items():
        log(f"{view} under {perturbation}: points move {s['points_matched']:.2f} cells (as a set "
            f"{s['points_set']:.2f}); cosine of the read features {s['read_cosine']:.3f} "
            f"({s['read_cosine_same_points']:.3f} at the clean points), of the dense cells {s['dense_cosine']:.3f}")  # fmt: skip


def _print_content(content: dict, log) -> None:
    """One line per task: how well the best point follows gripper / object / goal, and collapse."""
    for task, c in content.items():
        cells = [  # — where it did not move, or the env has no privileged positions (ALOHA)
            f"{name} {c[name]['best']:+.2f}" if c.get(name, {}).get("best") is not None else f"{name} —"
            for name in ("gripper", "object", "goal")
        ]
        view = c["view0"]
        log(f"{task}: best point-position correlation {', '.join(cells)}; third-person points: tied "
            f"{view['tied_fraction']:.0%}, at the border {view['border_fraction']:.0%} ({c['frames']} frames)")  # fmt: skip
