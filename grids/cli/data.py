"""``grids data``: generate scripted-expert demonstrations and inspect a dataset on disk."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="demonstration datasets (generate, info)")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    gen = commands.add_parser(
        "generate", help="roll out scripted experts (MetaWorld or ALOHA) and write a dataset (resumable)"
    )
    gen.add_argument("--suite", choices=["metaworld", "aloha"], default="metaworld", help="simulator")
    gen.add_argument(
        "--tasks",
        default=None,
        help="MetaWorld: a task set (quick, the default; mt10, mt50) or comma-separated task names; "
        "ALOHA: all (the default) or transfer-cube, insertion",
    )
    gen.add_argument("--episodes-per-task", type=int, default=50)
    gen.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    gen.add_argument("--image-size", type=int, default=128)
    gen.add_argument(
        "--camera",
        default=None,
        help="MetaWorld's third-person camera: workspace (default, close) or corner3 (ALOHA: top + angle)",
    )
    gen.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--no-progress", action="store_true")
    gen.set_defaults(func=generate)

    info = commands.add_parser(
        "info", help="summarise a dataset (and optionally verify every shard's sha256)"
    )
    info.add_argument("path")
    info.add_argument("--verify", action="store_true", help="hash every shard and compare with the manifest")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=show_info)


def generate(args: argparse.Namespace) -> int:
    from grids.sim import generate_demos, resolve_tasks

    if args.suite == "aloha":
        from grids.sim.aloha import resolve_aloha_tasks

        tasks = resolve_aloha_tasks(args.tasks or "all")
    else:
        tasks = resolve_tasks(args.tasks or "quick")
    out = generate_demos(
        tasks,
        args.episodes_per_task,
        args.out,
        image_size=args.image_size,
        workers=args.workers,
        seed=args.seed,
        camera=args.camera,
        suite=args.suite,
        progress=not args.no_progress,
    )
    print(f"dataset ready: {out}")
    return 0


def show_info(args: argparse.Namespace) -> int:
    from grids.sim import DemoDataset

    ds = DemoDataset(args.path, verify="sha256" if args.verify else "size")
    per_task = {task: {"episodes": 0, "frames": 0} for task in ds.tasks}
    for entry in ds.episodes:
        per_task[entry["task"]]["episodes"] += 1
        per_task[entry["task"]]["frames"] += entry["num_frames"]
    summary = {
        "path": str(ds.root),
        "complete": ds.meta["complete"],
        "episodes": ds.num_episodes,
        "frames": ds.num_frames,
        "image_size": ds.image_size,
        "cameras": ds.camera_names,
        "bytes": sum(e["bytes"] for e in ds.episodes),
        "verified_sha256": bool(args.verify),
        "tasks": per_task,
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"{summary['path']}: {ds.num_episodes} episodes, {ds.num_frames} frames, {ds.image_size}px, "
          f"cameras {ds.camera_names}, {summary['bytes'] / 1e6:.1f} MB, complete={summary['complete']}")  # fmt: skip
    for task, instruction in zip(ds.tasks, ds.instructions, strict=True):
        counts = per_task[task]
        print(f"  {task:28s} {counts['episodes']:5d} episodes {counts['frames']:7d} frames  '{instruction}'")
    if args.verify:
        print("all shards match their sha256")
    return 0
