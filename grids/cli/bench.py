"""``grids bench``: train and evaluate the miniature VLA with every token reducer (issue 4).

grids bench quick                      # data -> dense + grids-4 -> eval -> table, plot, GIF
grids bench full --tasks quick         # the reducer grid (frozen-encoder protocol)
grids bench train --data D --out runs/x --reducer grids --tokens 16
grids bench eval --run runs/x --tasks quick --episodes 20 --perturbations none,light
grids bench points --run runs/x --tasks quick --out where.png   # where the reducer reads, one episode per task
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from grids.cli.argtypes import non_negative_int, positive_int

QUICK_STEPS = 600


ENCODER_CHOICES = ("mobilenetv2", "vit")


def register(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="benchmark token reducers in a miniature VLA on MetaWorld")
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")

    quick = commands.add_parser("quick", help="the 15-minute CPU path: data, dense + grids-4, eval, report")
    _plan_args(quick, steps=QUICK_STEPS, episodes=20, data="data/bench-quick", out_root="runs/bench-quick")
    quick.add_argument("--demos", type=int, default=8, help="expert episodes per task to generate")
    quick.add_argument("--name", default="bench_quick", help="report file prefix (in --report-dir)")
    quick.set_defaults(func=run_quick)

    full = commands.add_parser(
        "full", help="the reducer grid: dense, grids K=1/4/16, task-aware, baselines at K=16"
    )
    _plan_args(full, steps=300, episodes=20, data="data/bench-full", out_root="runs/bench-full")
    full.add_argument("--demos", type=int, default=20, help="expert episodes per task to generate")
    full.add_argument("--runs", default="all", help="comma-separated run names (default: the whole grid)")
    full.add_argument("--perturbations", default="none,camera-small,camera-large,light,noise,table-color")
    full.add_argument(
        "--ood-runs",
        default="dense,grids-16,random-16,topk-16",
        help="runs also evaluated OOD ('all' for every run)",
    )
    full.add_argument("--name", default="bench_full", help="report file prefix (in --report-dir)")
    full.add_argument(
        "--only-cached", action="store_true", help="report the evaluations already done; run nothing"
    )
    full.set_defaults(func=run_full)

    tr = commands.add_parser(
        "train",
        help="train one policy (resumes from the run's last checkpoint); "
        "multi-process: accelerate launch -m grids.cli.main bench train ...",
    )
    tr.add_argument(
        "--data", default=None, help="a dataset from `grids data generate` (required without --config)"
    )
    tr.add_argument(
        "--out",
        default=None,
        help="run directory (required without --config); an existing run resumes, and a flag that differs from "
        "its saved settings is refused, naming them",
    )
    tr.add_argument(
        "--config",
        default=None,
        help="a TrainConfig JSON (e.g. another run's config.json): every other flag but --data/--out is ignored",
    )
    tr.add_argument("--reducer", default="grids")
    tr.add_argument("--tokens", type=int, default=16)
    tr.add_argument(
        "--task-aware", action="store_true", help="the instruction embedding is the reducer's context"
    )
    tr.add_argument("--no-coord-embedding", action="store_true")
    tr.add_argument(
        "--reducer-options", default="{}", help='a JSON object, e.g. \'{"score": "query"}\'; an option the reducer does not read is refused'
    )
    tr.add_argument("--resample-at-layer", type=int, default=None, help="reduce after this encoder block")
    tr.add_argument(
        "--frozen-encoder",
        default=None,
        help="run dir of a dense policy: freeze its encoder, train on cached features",
    )
    tr.add_argument("--features", default=None, help="a feature cache (`grids bench cache-features`)")
    tr.add_argument(
        "--corrupted-features",
        default=None,
        help="augmentation: the same frames' cache through a pixel corruption (cache-features --perturbation)",
    )
    tr.add_argument(
        "--corrupted-p", type=float, default=0.5, help="probability that a frame is read from --corrupted-features"
    )
    _training_args(
        tr,
        steps=300,
        encoder="vit",
        feature_shift=0.0,
        threads=None,
        encoder_help="vit: our ViT (end to end, or frozen with --frozen-encoder); "
        "mobilenetv2: frozen pretrained features (with --features)",
    )
    tr.add_argument("--chunk-size", type=int, default=8)
    tr.add_argument("--save-every", type=int, default=100)
    tr.add_argument("--keep-every", type=int, default=None, help="keep checkpoints at multiples of this")
    tr.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="keep an EMA of the weights with this decay (e.g. 0.999); eval uses it",
    )
    tr.add_argument("--num-workers", type=non_negative_int, default=0)
    tr.set_defaults(func=run_train)

    cache = commands.add_parser(
        "cache-features",
        help="cache the dense feature maps of a pretrained encoder or of a trained dense run",
    )
    source = cache.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a trained dense run (ViT protocol); cache in RUN/features")
    source.add_argument("--encoder", choices=ENCODER_CHOICES[:1], help="a pretrained encoder; needs --out")
    cache.add_argument("--data", required=True)
    cache.add_argument("--out", default=None, help="cache directory (default: RUN/features)")
    cache.add_argument("--threads", type=positive_int, default=None)
    cache.add_argument(
        "--perturbation",
        default="none",
        help="cache frames through this pixel-level perturbation (e.g. noise), for --corrupted-features",
    )
    cache.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the perturbation's draws (frame i: seed, i)"
    )
    cache.set_defaults(func=run_cache)

    ev = commands.add_parser("eval", help="closed-loop success rate of a trained run")
    ev.add_argument("--run", required=True)
    ev.add_argument("--tasks", default="quick")
    ev.add_argument("--episodes", type=positive_int, default=20)
    ev.add_argument("--perturbations", default="none", help="comma-separated; every name is checked before any episode runs")
    ev.add_argument("--workers", type=positive_int, default=2)
    ev.add_argument("--max-steps", type=positive_int, default=None)
    ev.add_argument("--gif", default=None, help="write a rollout GIF here")
    ev.add_argument(
        "--starts",
        choices=("official", "fresh"),
        default="official",
        help="LIBERO: episode i from the official init state i (default), or from a fresh placement drawn from its "
        "seed, as the demonstrations were (diagnosis: is it the states?)",
    )
    ev.add_argument(
        "--reuse",
        default=None,
        help="comma-separated results of earlier evaluations of the same run (--out files): their episodes count "
        "and are not run again (e.g. 20 LIBERO init states, extended to 50)",
    )
    ev.add_argument(
        "--out",
        default=None,
        help="results JSON (default: print); finished episodes go to OUT.journal.jsonl until it is written, so a killed evaluation rerun with the same flags resumes",
    )
    ev.set_defaults(func=run_eval)

    _points_args(commands)


def _points_args(commands) -> None:
    pts = commands.add_parser("points", help="a figure of where the reducer reads: one episode per task")
    pts.add_argument("--run", required=True)
    pts.add_argument("--tasks", default="quick")
    pts.add_argument("--at-steps", default="0,25,50", help="time steps shown (columns)")
    pts.add_argument("--perturbation", default="none")
    pts.add_argument("--out", required=True, help="PNG path")
    pts.add_argument(
        "--data",
        default=None,
        help="also measure how the points move over this dataset's frames and what they retain (OUT.json, "
        "OUT_retention.png: the information-retention map); with a pixel-level --perturbation (noise), also how "
        "it moves the points and changes the features they read (OUT.json's 'shift')",
    )
    pts.add_argument("--frames", type=int, default=512, help="frames sampled for --data")
    pts.set_defaults(func=run_points)


def run_points(args: argparse.Namespace) -> int:
    from grids.bench.evaluate import content_statistics, looks
    from grids.bench.report import points_figure, retention_figure
    from grids.bench.train import load_policy
    from grids.errors import UserError
    from grids.sim import resolve_tasks

    policy = load_policy(args.run)
    if policy.num_visual_tokens() > 64:
        raise UserError(f"{args.run}: {policy.num_visual_tokens()} tokens per view, too many points to draw")
    at_steps = tuple(int(t) for t in args.at_steps.split(","))
    episodes: dict = {}
    seen = looks(
        policy, resolve_tasks(args.tasks), at_steps=at_steps, perturbation=args.perturbation, keep=episodes
    )
    title = f"{Path(args.run).name}: {policy.cfg.reducer}, {policy.num_visual_tokens()} tokens/view ({args.perturbation})"
    print(points_figure(seen, args.out, patch_size=policy.cfg.patch_size, title=title))
    content = {task: content_statistics(ep, policy.cfg.grid_hw) for task, ep in episodes.items()}
    _print_content(content)
    stats_path = Path(args.out).with_suffix(".json")
    stats = {"run": args.run, "closed_loop": content}
    if args.data:
        from grids.bench.evaluate import point_statistics
        from grids.bench.train import open_dataset

        examples: dict = {}
        dataset = open_dataset(args.data, policy.cfg.chunk_size)
        stats.update(point_statistics(policy, dataset, frames=args.frames, examples=examples))
        retention_png = Path(args.out).with_name(Path(args.out).stem + "_retention.png")
        print(retention_figure(examples, retention_png, patch_size=policy.cfg.patch_size, title=title))
        for view, s in stats["views"].items():
            moved = "—" if s["moved_from_init"] is None else f"{s['moved_from_init']:.3f}"
            print(
                f"{view}: retention mean {s['retention_mean']:.3f} (10th percentile {s['retention_p10']:.3f}), "
                f"moved from init {moved}, std over frames {s['std_over_frames']:.4f}, "
                f"within a task {s['std_within_task']:.4f}, std between tasks {s['std_between_tasks']:.4f} (one patch = {1 / (policy.cfg.grid_hw[0] - 1):.3f})"
            )
        _shift_statistics(args, policy, dataset, stats)
    stats_path.write_text(json.dumps(stats, indent=1))
    print(f"wrote {stats_path}")
    return 0


def _shift_statistics(args, policy, dataset, stats: dict) -> None:
    """With a pixel-level ``--perturbation`` (noise): how it moves the points and changes what they read."""
    from grids.bench.evaluate import shift_statistics
    from grids.sim.perturbations import get_perturbation

    if not get_perturbation(args.perturbation).pixel_level:
        return
    stats["shift"] = shift_statistics(policy, dataset, args.perturbation, frames=args.frames)
    for view, s in stats["shift"]["views"].items():
        print(
            f"{view} under {args.perturbation}: points move {s['points_matched']:.2f} cells (as a set "
            f"{s['points_set']:.2f}); cosine of the read features {s['read_cosine']:.3f} "
            f"({s['read_cosine_same_points']:.3f} at the clean points), of the dense cells {s['dense_cosine']:.3f}"
        )


def _print_content(content: dict) -> None:
    """One line per task: how well the best point follows gripper / object / goal, and collapse."""
    for task, c in content.items():
        cells = [  # — where it did not move, or the env has no privileged positions (ALOHA)
            f"{name} {c[name]['best']:+.2f}" if c.get(name, {}).get("best") is not None else f"{name} —"
            for name in ("gripper", "object", "goal")
        ]
        view = c["view0"]
        print(
            f"{task}: best point-position correlation {', '.join(cells)}; third-person points: tied "
            f"{view['tied_fraction']:.0%}, at the border {view['border_fraction']:.0%} ({c['frames']} frames)"
        )


def _plan_args(p, *, steps: int, episodes: int, data: str, out_root: str) -> None:
    p.add_argument("--tasks", default="quick")
    p.add_argument("--data", default=data)
    p.add_argument("--out-root", default=out_root, help="run directories (resumable)")
    p.add_argument(
        "--report-dir", default=None, help="where the table, plot and GIF go (default: --out-root)"
    )
    _training_args(
        p,
        steps=steps,
        encoder="mobilenetv2",
        feature_shift=0.5,
        threads=1,
        encoder_help="mobilenetv2: frozen pretrained local features, every run a head on them (default); "
        "vit: our ViT trained end to end with the dense reducer, the others on its frozen features",
    )
    p.add_argument(
        "--episodes", type=int, default=episodes, help="evaluation episodes per task (and perturbation)"
    )
    p.add_argument(
        "--eval-max-steps", type=int, default=100, help="episode step limit (quick-set experts need <= 79)"
    )
    p.add_argument("--workers", type=int, default=2)


def _training_args(
    p, *, steps: int, encoder: str, feature_shift: float, threads: int | None, encoder_help: str
) -> None:
    """The flags that mean the same for one run (``train``) and for every run of a plan (``quick``, ``full``)."""
    p.add_argument("--encoder", default=encoder, choices=ENCODER_CHOICES, help=encoder_help)
    p.add_argument(
        "--feature-shift", type=float, default=feature_shift, help="random-shift augmentation (cells)"
    )
    p.add_argument("--preset", default="tiny", choices=["tiny", "small", "base"], help="model size")
    p.add_argument("--steps", type=int, default=steps, help="training steps (of every run)")
    p.add_argument("--batch-size", type=int, default=16, help="the global batch (split over processes)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--action-head", default="l1", choices=["l1", "flow"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=threads, help="torch threads (1 is fastest on a shared CPU)"
    )


def _set_threads(n: int | None) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


def _command() -> str:
    return "grids " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _execute(args, runs, *, perturbations=("none",), ood_runs=()) -> int:
    from grids.bench.experiments import Plan, gif_from_run, run_plan
    from grids.bench.report import write_report
    from grids.sim import generate_demos, resolve_tasks

    _set_threads(args.threads)
    start = time.perf_counter()
    tasks = resolve_tasks(args.tasks)
    plan = Plan(
        data=args.data,
        out_root=args.out_root,
        runs=runs,
        tasks=tasks,
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        action_head=args.action_head,
        episodes=args.episodes,
        perturbations=tuple(perturbations),
        ood_runs=tuple(ood_runs),
        eval_max_steps=args.eval_max_steps,
        workers=args.workers,
        only_cached=getattr(args, "only_cached", False),
        encoder=args.encoder,
        feature_shift=args.feature_shift,
    )
    if not getattr(args, "only_cached", False):
        generate_demos(tasks, args.demos, args.data, workers=args.workers, seed=args.seed, progress=True)
    data_s = time.perf_counter() - start
    results = run_plan(plan)
    wall = time.perf_counter() - start
    protocol = (
        f"every run a head on the frozen pretrained {args.encoder} features, random shift {args.feature_shift:g} cells"
        if plan.pretrained
        else "dense end to end, the others on the dense run's frozen encoder"
    )
    notes = (
        f"Tasks: {', '.join(tasks)}; {args.demos} expert demos per task; preset `{args.preset}`; {args.steps} steps at "
        f"batch {args.batch_size} for every run ({protocol}); "
        f"{args.episodes} evaluation episodes per task and perturbation, max {args.eval_max_steps} steps; "
        f"SR = success rate (%). "
        + (
            "Assembled from the cached evaluations of the runs (per-evaluation seconds in the JSON)."
            if plan.only_cached
            else f"Wall-clock {wall / 60:.1f} min including {data_s / 60:.1f} min of data generation."
        )
    )
    report_dir = Path(args.report_dir or args.out_root)
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = write_report(results, report_dir / args.name, command=_command(), notes=notes)
    by_name = {r["name"]: r for r in results}
    grids_run = by_name.get("grids-16") or by_name.get("grids-4") or results[-1]
    gif = gif_from_run(
        Path(args.out_root) / grids_run["name"], report_dir / f"{args.name}_{grids_run['name']}.gif"
    )
    print(Path(paths["md"]).read_text())
    print(f"wrote {', '.join(str(p) for p in [*paths.values(), gif] if p)}")
    print(f"total wall-clock: {wall:.0f} s ({wall / 60:.1f} min)")
    return 0


def run_quick(args: argparse.Namespace) -> int:
    from grids.bench.experiments import QUICK_GRID

    return _execute(args, QUICK_GRID)


def run_full(args: argparse.Namespace) -> int:
    from grids.bench.experiments import FULL_GRID, RUNS

    runs = FULL_GRID if args.runs == "all" else [RUNS[name] for name in args.runs.split(",")]
    if args.encoder != "vit":  # every run is a head on the frozen features: dense-frozen would repeat dense
        runs = [run for run in runs if run.name != "dense-frozen"]
    perturbations = [p for p in args.perturbations.split(",") if p]
    ood = [r.name for r in runs] if args.ood_runs == "all" else args.ood_runs.split(",")
    return _execute(args, runs, perturbations=perturbations, ood_runs=ood)


def run_train(args: argparse.Namespace) -> int:
    from grids.bench.experiments import Run, train_config
    from grids.bench.train import TrainConfig, train
    from grids.errors import UserError, check_output_dir

    _set_threads(args.threads)
    if args.out:
        check_output_dir(args.out, "--out")
    if args.config:
        try:
            saved = json.loads(Path(args.config).read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"--config {args.config} is not valid JSON ({err})") from None
        if not isinstance(saved, dict):
            raise UserError(f"--config {args.config} must hold a JSON object (a TrainConfig), got {saved!r:.80}")
        config = TrainConfig.from_dict(saved)
        config.data, config.out = args.data or config.data, args.out or config.out
        print(f"trained: {train(config)}")
        return 0
    if not (args.data and args.out):
        raise UserError("bench train: --data and --out are required (or give --config)")
    try:
        options = json.loads(args.reducer_options)
    except json.JSONDecodeError as err:
        raise UserError(f"--reducer-options is not valid JSON ({err}): {args.reducer_options}") from err
    if not isinstance(options, dict):
        raise UserError(
            f"--reducer-options must be a JSON object such as '{{\"score\": \"query\"}}', got {args.reducer_options!r}"
        )
    if args.no_coord_embedding:
        options["coord_embedding"] = None
    run = Run(Path(args.out).name, args.reducer, args.tokens, args.reducer, options, args.task_aware)
    config = train_config(
        run,
        data=args.data,
        out=args.out,
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        ema=args.ema,
        seed=args.seed,
        save_every=args.save_every,
        keep_every=args.keep_every,
        frozen_encoder=args.frozen_encoder,
        features=args.features,
        corrupted_features=args.corrupted_features,
        corrupted_p=args.corrupted_p,
        num_workers=args.num_workers,
        resample_at_layer=args.resample_at_layer,
        action_head=args.action_head,
        chunk_size=args.chunk_size,
        encoder=args.encoder,
        feature_shift=args.feature_shift,
    )
    print(f"trained: {train(config)}")
    return 0


def run_cache(args: argparse.Namespace) -> int:
    from grids.bench.features import cache_features
    from grids.bench.policy import Policy, PolicyConfig
    from grids.bench.train import latest_checkpoint, load_policy, open_dataset
    from grids.errors import UserError, check_output_dir
    from grids.sim.perturbations import get_perturbation

    _set_threads(args.threads)
    if args.out:
        check_output_dir(args.out, "--out")
    if args.run:
        policy, out, source = (
            load_policy(args.run),
            args.out or Path(args.run) / "features",
            str(latest_checkpoint(args.run)),
        )
    elif args.out:
        policy, out, source = Policy(PolicyConfig(encoder=args.encoder)), args.out, args.encoder
    else:
        raise UserError("bench cache-features: --encoder needs --out")
    corrupt = None if args.perturbation == "none" else get_perturbation(args.perturbation)
    if corrupt is not None and not corrupt.pixel_level:
        raise UserError(f"--perturbation {args.perturbation}: not pixel-level (it changes the scene, not the frames)")
    dataset = open_dataset(args.data, policy.cfg.chunk_size)
    print(cache_features(policy, dataset, out, source=source, corrupt=corrupt, seed=args.seed))
    return 0


def _journal(out: str | None) -> Path | None:
    """Where ``grids bench eval --out OUT`` journals finished episodes until OUT is written: a rerun resumes."""
    return None if out is None else Path(f"{out}.journal.jsonl")


def _reused_episodes(paths: str | None, *, run: str, max_steps: int | None, starts: str) -> list[dict]:
    """The episodes of earlier evaluations (``grids bench eval --out`` files) of this same run, step limit and starts."""
    from grids.errors import UserError

    episodes = []
    for path in (p for p in (paths or "").split(",") if p):
        try:
            result = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"--reuse {path} is not valid JSON ({err})") from None
        if not isinstance(result, dict) or not {"policy", "episodes"} <= set(result):
            raise UserError(f"--reuse {path} is not the --out file of a `grids bench eval` (no policy and episodes)")
        theirs = (result.get("max_steps"), result.get("starts", "official"))
        if Path(result["policy"]).resolve() != Path(run).resolve() or theirs != (max_steps, starts):
            raise UserError(
                f"--reuse {path}: evaluates {result['policy']} with max steps {theirs[0]}, {theirs[1]} starts, "
                f"not {run} with {max_steps}, {starts}"
            )
        episodes += result["episodes"]
    return episodes


def run_eval(args: argparse.Namespace) -> int:
    from grids.bench.evaluate import evaluate
    from grids.bench.report import write_gif
    from grids.errors import check_output_file
    from grids.sim import resolve_tasks

    for flag, path in (("--out", args.out), ("--gif", args.gif)):  # before the evaluation, not after it
        if path:
            check_output_file(path, flag)
    result = evaluate(
        args.run,
        resolve_tasks(args.tasks),
        episodes=args.episodes,
        perturbations=tuple(p.strip() for p in args.perturbations.split(",") if p.strip()),
        workers=args.workers,
        max_steps=args.max_steps,
        record=args.gif is not None,
        journal=_journal(args.out),
        reuse=_reused_episodes(args.reuse, run=args.run, max_steps=args.max_steps, starts=args.starts),
        starts=args.starts,
    )
    recording = result.pop("recording", None)
    if args.gif and recording is not None:
        from grids.bench.train import load_policy

        write_gif(recording, args.gif, patch_size=load_policy(args.run).cfg.patch_size)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text)
        _journal(args.out).unlink(missing_ok=True)
    for pert, s in result["summary"].items():
        rewards = (
            f", mean max reward {s['mean_max_reward']:.2f}, max reward >= 0.5 {100 * s['lenient_success_rate']:.1f}%"
            if "mean_max_reward" in s
            else ""
        )  # ALOHA
        if "target_lifted_rate" in s:  # LIBERO
            rewards += f", lifted the target {100 * s['target_lifted_rate']:.1f}%, another object {100 * s['other_lifted_rate']:.1f}%"
        print(
            f"{pert}: success {100 * s['success_rate']:.1f}% over {s['episodes']} episodes, mean length {s['mean_length']:.1f}{rewards}"
        )
    if not args.out:
        print(text)
    return 0
