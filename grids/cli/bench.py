"""``grids bench``: train and evaluate the miniature VLA with every token reducer (issue 4).

grids bench run benchmarks/specs/metaworld_mt10_ep50.toml [--dry-run]   # make a table from its spec
grids bench quick                      # the quick job: grids bench run benchmarks/specs/bench_quick_pretrained.toml
grids bench train --data D --out runs/x --reducer grids --tokens 16
grids bench eval --run runs/x --tasks quick --episodes 20 --perturbations none,light
grids bench points --run runs/x --tasks quick --out where.png   # where the reducer reads, one episode per task
grids bench action-error --run runs/x --data data/heldout   # open-loop error of the predicted chunks on a dataset
"""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import time
from pathlib import Path

from grids.cli.argtypes import non_negative_int, positive_int

QUICK_SPEC = "benchmarks/specs/bench_quick_pretrained.toml"


ENCODER_CHOICES = ("mobilenetv2", "vit")


def register(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="benchmark token reducers in a miniature VLA on MetaWorld")
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")
    _spec_args(commands)
    _train_args(commands)
    _cache_args(commands)
    _eval_args(commands)
    _points_args(commands)
    _action_error_args(commands)


def _spec_args(commands) -> None:
    run = commands.add_parser(
        "run",
        help="make a table from its experiment spec: data, cache, training, evaluation, report (resumable)",
    )
    run.add_argument("spec", help="a spec file, e.g. benchmarks/specs/metaworld_mt10_ep50.toml")
    _run_args(run)
    run.set_defaults(func=run_spec)
    quick = commands.add_parser("quick", help=f"the ~10-minute CPU job: grids bench run {QUICK_SPEC}")
    _run_args(quick)
    quick.set_defaults(func=run_spec, spec=QUICK_SPEC)


def _train_args(commands) -> None:
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
    _reducer_args(tr)
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
        "--corrupted-p",
        type=float,
        default=0.5,
        help="probability that a frame is read from --corrupted-features",
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


def _reducer_args(tr) -> None:
    tr.add_argument("--reducer", default="grids")
    tr.add_argument("--tokens", type=int, default=16)
    tr.add_argument(
        "--task-aware", action="store_true", help="the instruction embedding is the reducer's context"
    )
    tr.add_argument("--no-coord-embedding", action="store_true")
    tr.add_argument(
        "--reducer-options",
        default="{}",
        help='a JSON object, e.g. \'{"score": "query"}\'; an option the reducer does not read is refused',
    )
    tr.add_argument(
        "--resample-at-layer",
        type=int,
        default=None,
        help="reduce before this ViT block (default: the output)",
    )


def _cache_args(commands) -> None:
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


def _eval_args(commands) -> None:
    ev = commands.add_parser("eval", help="closed-loop success rate of a trained run")
    ev.add_argument("--run", required=True)
    ev.add_argument("--tasks", default="quick")
    ev.add_argument("--episodes", type=positive_int, default=20)
    ev.add_argument(
        "--perturbations",
        default="none",
        help="comma-separated; every name is checked before any episode runs",
    )
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
        "--execute-steps",
        type=positive_int,
        default=None,
        help="actions of each predicted chunk run before the next prediction (default: half the chunk; openpi's "
        "LIBERO client, and our LIBERO specs: 5)",
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
    pts.add_argument("--execute-steps", type=positive_int, default=None,
                     help="actions of each predicted chunk run before the next prediction (as bench eval)")  # fmt: skip
    pts.set_defaults(func=run_points)


def run_points(args: argparse.Namespace) -> int:
    from grids.bench.points import write_points
    from grids.sim import resolve_tasks

    at_steps = tuple(int(t) for t in args.at_steps.split(","))
    write_points(args.run, resolve_tasks(args.tasks), args.out, at_steps=at_steps, perturbation=args.perturbation,
                 data=args.data, frames=args.frames, execute_steps=args.execute_steps)  # fmt: skip
    return 0


def _action_error_args(commands) -> None:
    err = commands.add_parser(
        "action-error",
        help="open-loop error of a run's predicted action chunks on a dataset's frames (held-out demos: does it "
        "generalise or memorise?)",
    )
    err.add_argument("--run", required=True, action="append", help="a run directory (repeat for several)")
    err.add_argument("--data", required=True, help="a grids demo dataset of the runs' tasks")
    err.add_argument("--frames", type=positive_int, default=2048, help="random frames measured (all if fewer)")
    err.add_argument("--executed", type=positive_int, default=None,
                     help="the first steps of each chunk reported on their own: the receding horizon (default half "
                          "the chunk, as bench eval; LIBERO's protocol: 5)")  # fmt: skip
    err.add_argument("--seed", type=non_negative_int, default=0, help="which frames (and the flow head's noise)")
    err.add_argument("--json", default=None, help="also write {run: result} to this file")
    err.set_defaults(func=run_action_error)


def run_action_error(args: argparse.Namespace) -> int:
    from grids.bench.openloop import action_error
    from grids.bench.train import load_policy, open_dataset

    results, opened = {}, functools.cache(open_dataset)  # the dataset opened once per chunk length
    for run in args.run:
        policy = load_policy(run)
        dataset = opened(args.data, policy.cfg.chunk_size)
        result = action_error(policy, dataset, frames=args.frames, seed=args.seed, executed=args.executed)
        results[run] = result
        print(f"{run}: L1 {result['l1']:.4f} over the chunk, {result['l1_executed']:.4f} over its first "
              f"{result['executed']} steps ({result['frames']} frames of {args.data})")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


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


def _run_args(p) -> None:
    p.add_argument("--only", default="", help="comma-separated rows to make (default: every row)")
    p.add_argument("--seeds", default="", help="comma-separated training seeds to make (default: every seed)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan and its estimated CPU time; run nothing"
    )
    p.add_argument(
        "--report-only", action="store_true", help="write the report from what exists; run nothing"
    )
    p.add_argument(
        "--force", action="store_true", help="retrain rows whose runs were made under another protocol"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _csv(text: str, cast=str) -> tuple:
    return tuple(cast(x) for x in text.split(",") if x)


def run_spec(args: argparse.Namespace) -> int:
    from grids.bench import runner
    from grids.bench.spec import SpecError, load_spec

    spec = load_spec(args.spec)
    only, seeds = _csv(args.only), _csv(args.seeds, int)
    for name in only:
        if name not in [r.name for r in spec.rows]:
            raise SpecError(
                f"--only: {spec.path} has no row {name!r}; rows: {', '.join(r.name for r in spec.rows)}"
            )
    steps = runner.plan(spec, only=only, seeds=seeds, progress=not args.no_progress)
    if args.dry_run:
        print(runner.describe(spec, steps))
        return 0
    command = "grids bench run " + " ".join(shlex.quote(a) for a in [spec.path, *_scope(args)])
    if spec.kind == "script":
        if not args.report_only:
            runner.execute(spec, steps)
        for output in spec.script.outputs:
            if output.endswith(".json"):
                runner.stamp(Path(output), spec)
        print(f"{spec.path}: {', '.join(spec.script.outputs)}")
        return 0
    with runner.RunLock(spec.root):
        if not args.report_only:
            runner.check_unchanged(spec, force=args.force)
            steps = runner.plan(spec, only=only, seeds=seeds, progress=not args.no_progress)
            print(runner.describe(spec, steps))
            start = time.perf_counter()
            runner.execute(spec, steps)
            print(f"ran in {(time.perf_counter() - start) / 60:.1f} min")
        paths = runner.write_spec_report(spec, command=command)
    print(Path(paths["md"]).read_text())
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _scope(args: argparse.Namespace) -> list[str]:
    """The flags that change what a report holds (a partial run names them in its header)."""
    return [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in ("only", "seeds") if getattr(args, k)]


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
            raise UserError(
                f"--config {args.config} must hold a JSON object (a TrainConfig), got {saved!r:.80}"
            )
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
            f'--reducer-options must be a JSON object such as \'{{"score": "query"}}\', got {args.reducer_options!r}'
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
        raise UserError(
            f"--perturbation {args.perturbation}: not pixel-level (it changes the scene, not the frames)"
        )
    dataset = open_dataset(args.data, policy.cfg.chunk_size)
    print(cache_features(policy, dataset, out, source=source, corrupt=corrupt, seed=args.seed))
    return 0


def _journal(out: str | None) -> Path | None:
    """Where ``grids bench eval --out OUT`` journals finished episodes until OUT is written: a rerun resumes."""
    return None if out is None else Path(f"{out}.journal.jsonl")


def _reused_episodes(
    paths: str | None, *, run: str, max_steps: int | None, starts: str, execute_steps: int | None
) -> list[dict]:
    """The episodes of earlier evaluations (``grids bench eval --out`` files) of this same run, step limit, starts
    and receding horizon (files from before ``--execute-steps`` ran half the chunk)."""
    from grids.bench.rollout import execute_horizon
    from grids.errors import UserError

    episodes = []
    for path in (p for p in (paths or "").split(",") if p):
        try:
            result = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"--reuse {path} is not valid JSON ({err})") from None
        if not isinstance(result, dict) or not {"policy", "episodes"} <= set(result):
            raise UserError(
                f"--reuse {path} is not the --out file of a `grids bench eval` (no policy and episodes)"
            )
        theirs = (result.get("max_steps"), result.get("starts", "official"))
        if Path(result["policy"]).resolve() != Path(run).resolve() or theirs != (max_steps, starts):
            raise UserError(
                f"--reuse {path}: evaluates {result['policy']} with max steps {theirs[0]}, {theirs[1]} starts, "
                f"not {run} with {max_steps}, {starts}"
            )
        if execute_steps is not None or "execute_steps" in result:
            chunk = json.loads((Path(run) / "config.json").read_text())["policy"]["chunk_size"]
            mine, theirs_execute = execute_horizon(chunk, execute_steps), result.get("execute_steps", execute_horizon(chunk, None))
            if mine != theirs_execute:
                raise UserError(f"--reuse {path}: ran {theirs_execute} actions per predicted chunk, not {mine} "
                                "(--execute-steps)")  # fmt: skip
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
        reuse=_reused_episodes(args.reuse, run=args.run, max_steps=args.max_steps, starts=args.starts,
                               execute_steps=args.execute_steps),  # fmt: skip
        starts=args.starts,
        execute_steps=args.execute_steps,
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
