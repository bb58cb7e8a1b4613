"""``grids data``: generate scripted-expert demonstrations, inspect a dataset on disk, export it to LeRobot."""

from __future__ import annotations

import argparse
import json

from grids.cli.argtypes import non_negative_int, positive_int


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="demonstration datasets (generate, info, export)")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    _generate_args(commands)
    info = commands.add_parser(
        "info", help="summarise a dataset (and optionally verify every shard's sha256)"
    )
    info.add_argument("path")
    info.add_argument("--verify", action="store_true", help="hash every shard and compare with the manifest")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=show_info)
    _export_args(commands)


def _generate_args(commands) -> None:
    gen = commands.add_parser(
        "generate",
        help="roll out scripted experts (MetaWorld, LIBERO or ALOHA) and write a dataset (resumable)",
    )
    gen.add_argument(
        "--suite",
        choices=["metaworld", "libero", "aloha"],
        default="metaworld",
        help="simulator (LIBERO is also chosen by LIBERO task names)",
    )
    gen.add_argument(
        "--tasks",
        default=None,
        help="MetaWorld: a task set (quick, the default; mt10, mt50) or comma-separated task names; LIBERO: a "
        "suite (libero_object, libero_spatial, ...) or tasks such as libero_object/0; ALOHA: all (the default) "
        "or transfer-cube, insertion",
    )
    gen.add_argument("--episodes-per-task", type=positive_int, default=50)
    gen.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    gen.add_argument("--image-size", type=int, default=128)
    gen.add_argument(
        "--camera",
        default=None,
        help="MetaWorld's third-person camera: workspace (default, close) or corner3 "
        "(LIBERO: agentview + eye-in-hand; ALOHA: top + angle)",
    )
    gen.add_argument("--workers", type=positive_int, default=None, help="processes (default: every core)")
    gen.add_argument("--seed", type=non_negative_int, default=0)
    gen.add_argument("--no-progress", action="store_true")
    gen.set_defaults(func=generate)


def _export_args(commands) -> None:
    export = commands.add_parser(
        "export", help="write a dataset as a LeRobotDataset (run in LeRobot's venv: .venv-lerobot/bin/grids)"
    )
    export.add_argument("path", help="a grids demo dataset (checked whole, sha256 of every shard, first)")
    export.add_argument(
        "--to-lerobot",
        metavar="OUT",
        required=True,
        help="new folder for the LeRobotDataset (must not exist)",
    )
    export.add_argument("--repo-id", default=None, help="the dataset's repo_id (default local/<OUT's name>)")
    export.add_argument(
        "--fps", type=positive_int, default=None, help="frames per second (default: the suite's control rate: MetaWorld 80, LIBERO 20, ALOHA 50)"
    )
    export.add_argument(
        "--tasks",
        default=None,
        help="comma-separated task names to export (default: every task of the dataset)",
    )
    export.add_argument(
        "--episodes-per-task",
        type=positive_int,
        default=None,
        help="export only the first N episodes of each task",
    )
    export.add_argument("--no-progress", action="store_true")
    export.set_defaults(func=export_lerobot)


def generate(args: argparse.Namespace) -> int:
    from grids.errors import check_output_dir
    from grids.sim import generate_demos, resolve_tasks

    check_output_dir(args.out, "--out")
    # Only a missing --tasks takes the default: an empty one (--tasks "") is an error, not the default set.
    if args.suite == "aloha":
        from grids.sim.aloha import resolve_aloha_tasks

        tasks = resolve_aloha_tasks("all" if args.tasks is None else args.tasks)
    else:
        tasks = resolve_tasks("quick" if args.tasks is None else args.tasks)
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


def export_lerobot(args: argparse.Namespace) -> int:
    from grids.errors import UserError, check_output_dir
    from grids.sim.lerobot_export import export_to_lerobot

    check_output_dir(args.to_lerobot, "--to-lerobot")
    tasks = None if args.tasks is None else [task.strip() for task in args.tasks.split(",") if task.strip()]
    if tasks == []:
        raise UserError(f"--tasks {args.tasks!r} names no task; leave it out to export every task")
    out = export_to_lerobot(
        args.path, args.to_lerobot, repo_id=args.repo_id, fps=args.fps, tasks=tasks,
        episodes_per_task=args.episodes_per_task, progress=not args.no_progress,
    )  # fmt: skip
    print(f"LeRobotDataset ready: {out} (lerobot-train --dataset.root={out} --dataset.repo_id=...)")
    return 0
