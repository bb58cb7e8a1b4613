"""Measure the simulation substrate: render fps, expert success, time/disk per 1000 frames, generation wall-clock.

    nice -n 10 python benchmarks/sim_substrate.py --mt10-episodes 50 --data-root data/bench

Writes benchmarks/results/sim_substrate.json and .md. Every number is measured by this script on the machine it
runs on; the machine (cores, load average) is recorded next to the numbers because the cores may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grids/, uninstalled
RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "mujoco_gl": os.environ.get("MUJOCO_GL"),
        "loadavg_at_start": os.getloadavg(),
    }


def render_fps(sizes: list[int], steps: int) -> list[dict]:
    """Env steps per second with both views rendered (what generation and evaluation pay per frame)."""
    from grids.sim import expert_action, make_env

    rows = []
    for size in sizes:
        for task in ("reach-v3", "drawer-close-v3"):
            env = make_env(task, image_size=size, max_steps=500)
            env.reset(seed=0)
            start = time.perf_counter()
            for _ in range(steps):
                _, _, terminated, truncated, _ = env.step(expert_action(env))
                if terminated or truncated:
                    env.reset()
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(steps):
                env.render_views()
            render_only = time.perf_counter() - start
            env.close()
            rows.append({
                "image_size": size, "task": task, "steps": steps,
                "step_and_render_2_views_fps": round(steps / seconds, 1),
                "render_2_views_only_fps": round(steps / render_only, 1),
            })  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def generation(name: str, tasks: list[str], episodes: int, out: Path, image_size: int) -> dict:
    from grids.sim import generate_demos
    from grids.sim.dataset import read_manifest

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    generate_demos(tasks, episodes, out, image_size=image_size, progress=True)
    wall = time.perf_counter() - start
    manifest = read_manifest(out)
    frames = sum(e["num_frames"] for e in manifest["episodes"])
    size = sum(e["bytes"] for e in manifest["episodes"])
    per_task = {}
    for task in tasks:
        entries = [e for e in manifest["episodes"] if e["task"] == task]
        attempts = sum(e["attempt"] + 1 for e in entries)  # failed attempts come before the kept one
        steps = [e["success_step"] for e in entries]
        per_task[task] = {
            "episodes": len(entries), "attempts": attempts,
            "expert_success_rate": round(len(entries) / attempts, 4),
            "success_step_median": float(np.median(steps)), "success_step_max": int(max(steps)),
        }  # fmt: skip
    result = {
        "name": name, "tasks": tasks, "episodes_per_task": episodes, "image_size": image_size,
        "workers": os.cpu_count(), "wall_clock_s": round(wall, 1), "episodes": len(manifest["episodes"]),
        "frames": frames, "bytes": size,
        "seconds_per_1000_frames": round(1000 * wall / frames, 1),
        "megabytes_per_1000_frames": round(size / frames * 1000 / 1e6, 1),
        "loadavg_at_end": os.getloadavg(), "per_task": per_task,
    }  # fmt: skip
    print({k: v for k, v in result.items() if k != "per_task"}, flush=True)
    return result


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = [
        "# Simulation substrate measurements",
        "",
        f"Produced by `benchmarks/sim_substrate.py` on {m['cpu_count']} CPU cores ({m['platform']}), "
        f"MuJoCo offscreen on the CPU (`MUJOCO_GL={m['mujoco_gl']}`, Mesa llvmpipe), shadows/MSAA/reflections off. "
        f"Load average at start {tuple(round(x, 2) for x in m['loadavg_at_start'])}: the cores are shared with "
        "other jobs, so timings are what this shared machine gave, not a quiet-machine best.",
        "",
        "## Render speed (one env step + both 128-style views rendered)",
        "",
        "| image size | task | step + 2 views (fps) | 2 views render only (fps) |",
        "|---|---|---|---|",
    ]
    for row in results["render_fps"]:
        lines.append(f"| {row['image_size']} | {row['task']} | {row['step_and_render_2_views_fps']} | "
                     f"{row['render_2_views_only_fps']} |")  # fmt: skip
    for gen in results["generation"]:
        lines += [
            "",
            f"## Generation: `{gen['name']}` ({len(gen['tasks'])} tasks x {gen['episodes_per_task']} episodes, "
            f"{gen['image_size']}px, {gen['workers']} worker processes)",
            "",
            f"- wall-clock: **{gen['wall_clock_s']} s** for {gen['episodes']} episodes / {gen['frames']} frames "
            f"(load average at end {tuple(round(x, 2) for x in gen['loadavg_at_end'])})",
            f"- time per 1000 frames: **{gen['seconds_per_1000_frames']} s**; "
            f"disk per 1000 frames: **{gen['megabytes_per_1000_frames']} MB** (gzip-4 HDF5, 2 views)",
            f"- total on disk: {gen['bytes'] / 1e6:.1f} MB",
            "",
            "| task | kept episodes | expert attempts | expert success rate | median success step | max success step |",
            "|---|---|---|---|---|---|",
        ]
        for task, row in gen["per_task"].items():
            lines.append(f"| {task} | {row['episodes']} | {row['attempts']} | {row['expert_success_rate']:.1%} | "
                         f"{row['success_step_median']} | {row['success_step_max']} |")  # fmt: skip
    lines += ["", *results.get("notes", [])]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,224")
    parser.add_argument("--fps-steps", type=int, default=200)
    parser.add_argument("--quick-episodes", type=int, default=50)
    parser.add_argument("--mt10-episodes", type=int, default=50)
    parser.add_argument("--data-root", default="data/bench")
    parser.add_argument("--note", action="append", default=[], help="free-text note added to the report")
    args = parser.parse_args()

    import grids.sim  # noqa: F401  (sets MUJOCO_GL)
    from grids.sim import TASK_SETS

    results = {"machine": machine(), "render_fps": [], "generation": [], "notes": args.note}
    RESULTS.mkdir(parents=True, exist_ok=True)

    def save():
        (RESULTS / "sim_substrate.json").write_text(json.dumps(results, indent=1))
        write_markdown(results, RESULTS / "sim_substrate.md")

    results["render_fps"] = render_fps([int(s) for s in args.sizes.split(",")], args.fps_steps)
    save()
    root = Path(args.data_root)
    if args.quick_episodes:
        results["generation"].append(
            generation("quick", TASK_SETS["quick"], args.quick_episodes, root / "quick", 128)
        )
        save()
    if args.mt10_episodes:
        results["generation"].append(
            generation("mt10", TASK_SETS["mt10"], args.mt10_episodes, root / "mt10", 128)
        )
        save()


if __name__ == "__main__":
    main()
