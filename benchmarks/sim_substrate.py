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


def render_fps(sizes: list[int], steps: int, repeats: int) -> list[dict]:
    """Env steps per second with both views rendered (what generation and evaluation pay per frame).

    Each measurement is repeated; the median and the best repeat are reported, since other jobs share the cores.
    """
    from grids.sim import expert_action, make_env

    rows = []
    for size in sizes:
        for task in ("reach-v3", "drawer-close-v3"):
            env = make_env(task, image_size=size, max_steps=500)
            step_fps, render_fps = [], []
            for repeat in range(repeats):
                env.reset(seed=repeat)
                start = time.perf_counter()
                for _ in range(steps):
                    _, _, terminated, truncated, _ = env.step(expert_action(env))
                    if terminated or truncated:
                        env.reset()
                step_fps.append(steps / (time.perf_counter() - start))
                start = time.perf_counter()
                for _ in range(steps):
                    env.render_views()
                render_fps.append(steps / (time.perf_counter() - start))
            env.close()
            rows.append({
                "image_size": size, "task": task, "steps": steps, "repeats": repeats,
                "step_and_render_2_views_fps": round(float(np.median(step_fps)), 1),
                "step_and_render_2_views_fps_best": round(max(step_fps), 1),
                "render_2_views_only_fps": round(float(np.median(render_fps)), 1),
                "render_2_views_only_fps_best": round(max(render_fps), 1),
            })  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def render_fps_as_shipped(size: int, frames: int) -> dict:
    """Both views with MetaWorld's own render settings (4096² shadow map, 4x MSAA, reflections): the baseline."""
    import mujoco

    from grids.sim import CAMERA_NAMES, make_env

    env = make_env("reach-v3", image_size=size)
    env.reset(seed=0)
    model = env.unwrapped.model
    model.vis.quality.shadowsize, model.vis.quality.offsamples = 4096, 4
    renderer = mujoco.Renderer(model, size, size)
    start = time.perf_counter()
    for _ in range(frames):
        for camera in CAMERA_NAMES:
            renderer.update_scene(env.unwrapped.data, camera=camera)
            renderer.render()
    seconds = time.perf_counter() - start
    renderer.close()
    env.close()
    row = {
        "image_size": size,
        "task": "reach-v3",
        "frames": frames,
        "render_2_views_only_fps": round(frames / seconds, 1),
    }
    print("as shipped", row, flush=True)
    return row


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
    stages = {k.removeprefix("machine_"): v for k, v in results.items() if k.startswith("machine")}
    m = next(iter(stages.values()))
    loads = ", ".join(
        f"{name}: {tuple(round(x, 2) for x in v['loadavg_at_start'])}" for name, v in stages.items()
    )
    lines = [
        "# Simulation substrate measurements",
        "",
        f"Produced by `benchmarks/sim_substrate.py` on {m['cpu_count']} CPU cores ({m['platform']}), "
        f"MuJoCo offscreen on the CPU (`MUJOCO_GL={m['mujoco_gl']}`, Mesa llvmpipe), shadows/MSAA/reflections off. "
        f"The cores are shared with other jobs, so timings are what this shared machine gave, not a quiet-machine "
        f"best. Load average (1/5/15 min) at the start of each stage: {loads}.",
        "",
        "## Render speed (both views; shadows, MSAA and reflections off unless noted)",
        "",
        "| image size | task | step + 2 views (fps), median / best | 2 views render only (fps), median / best |",
        "|---|---|---|---|",
    ]
    for row in results["render_fps"]:
        lines.append(f"| {row['image_size']} | {row['task']} | {row['step_and_render_2_views_fps']} / "
                     f"{row['step_and_render_2_views_fps_best']} | {row['render_2_views_only_fps']} / "
                     f"{row['render_2_views_only_fps_best']} |")  # fmt: skip
    for row in results.get("render_fps_as_shipped", []):
        lines.append(f"| {row['image_size']} | {row['task']} (MetaWorld's default render settings) | – | "
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
    parser.add_argument("--sizes", default="64,128,224", help="empty: skip the fps stage")
    parser.add_argument("--fps-steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick-episodes", type=int, default=50)
    parser.add_argument("--mt10-episodes", type=int, default=50)
    parser.add_argument("--data-root", default="data/bench")
    parser.add_argument("--note", action="append", default=[], help="free-text note added to the report")
    args = parser.parse_args()

    import grids.sim  # noqa: F401  (sets MUJOCO_GL)
    from grids.sim import TASK_SETS

    # Stages not run this time keep their earlier results, so fps and generation can be measured separately.
    path = RESULTS / "sim_substrate.json"
    results = json.loads(path.read_text()) if path.exists() else {"render_fps": [], "generation": []}
    results["notes"] = sorted(set(results.get("notes", [])) | set(args.note))
    RESULTS.mkdir(parents=True, exist_ok=True)

    def save():
        path.write_text(json.dumps(results, indent=1))
        write_markdown(results, RESULTS / "sim_substrate.md")

    if args.sizes:
        results["machine_fps"] = machine()
        results["render_fps"] = render_fps(
            [int(s) for s in args.sizes.split(",")], args.fps_steps, args.repeats
        )
        results["render_fps_as_shipped"] = [render_fps_as_shipped(128, 30)]
        save()
    root = Path(args.data_root)
    for name, episodes in (("quick", args.quick_episodes), ("mt10", args.mt10_episodes)):
        if episodes:
            label = f"{name}x{episodes}"
            results["machine_" + label] = machine()
            run = generation(label, TASK_SETS[name], episodes, root / label, 128)
            results["generation"] = [g for g in results["generation"] if g["name"] != label] + [run]
            save()


if __name__ == "__main__":
    main()
